/** The Compute Engine emulator: tests and `kube-lbc sandbox --cloud-provider gcp` start it. */
export { ComputeEmulator, type ComputeEmulatorOptions, type SeededInstance } from './server.js';
export type { FaultEffect, FaultRule, Fault } from './faults.js';
export { apiRoot } from './state.js';
