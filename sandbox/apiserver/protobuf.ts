/**
 * Kubernetes protobuf bodies, decoded to the JSON the rest of the emulator works on. kubectl 1.32
 * sends its typed-client writes (`kubectl create namespace`, `kubectl create service`) as
 * `application/vnd.kubernetes.protobuf` whatever the server advertises, so a server that cannot
 * read them cannot serve those commands.
 *
 * The envelope is the magic `k8s\0` then a runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2},
 * raw=2} whose raw bytes are the typed message. Field numbers come from the `generated.proto`
 * files of k8s.io/api core/v1, apimachinery meta/v1 and util/intstr. Only the kinds kubectl can
 * create here (Namespace, Service) have a schema; any other kind stays a 415.
 *
 * gogo-protobuf writes every non-pointer field, zero or not, where JSON leaves it out: zero
 * values are dropped unless the Go field is a pointer (`pointer: true`), whose presence matters
 * (`allocateLoadBalancerNodePorts: false`).
 */
import { badRequest, unsupportedBody } from './errors.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type FieldType = 'string' | 'int' | 'bool' | 'map' | 'time' | 'intOrString' | { message: string };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
  pointer?: boolean;
}
type Schema = Record<number, Field>;

const str = (name: string, more: Partial<Field> = {}): Field => ({ name, type: 'string', ...more });
const int = (name: string, more: Partial<Field> = {}): Field => ({ name, type: 'int', ...more });
const msg = (name: string, message: string, more: Partial<Field> = {}): Field => ({
  name,
  type: { message },
  ...more,
});
const strings = (name: string): Field => str(name, { repeated: true });

const SCHEMAS: Record<string, Schema> = {
  ObjectMeta: {
    1: str('name'),
    2: str('generateName'),
    3: str('namespace'),
    5: str('uid'),
    6: str('resourceVersion'),
    7: int('generation'),
    8: { name: 'creationTimestamp', type: 'time' },
    9: { name: 'deletionTimestamp', type: 'time', pointer: true },
    10: int('deletionGracePeriodSeconds', { pointer: true }),
    11: { name: 'labels', type: 'map' },
    12: { name: 'annotations', type: 'map' },
    13: msg('ownerReferences', 'OwnerReference', { repeated: true }),
    14: strings('finalizers'),
  },
  OwnerReference: {
    5: str('apiVersion'),
    1: str('kind'),
    3: str('name'),
    4: str('uid'),
    6: { name: 'controller', type: 'bool', pointer: true },
    7: { name: 'blockOwnerDeletion', type: 'bool', pointer: true },
  },
  Namespace: {
    1: msg('metadata', 'ObjectMeta'),
    2: msg('spec', 'NamespaceSpec'),
    3: msg('status', 'NamespaceStatus'),
  },
  NamespaceSpec: { 1: strings('finalizers') },
  NamespaceStatus: { 1: str('phase') },
  Service: {
    1: msg('metadata', 'ObjectMeta'),
    2: msg('spec', 'ServiceSpec'),
    3: msg('status', 'ServiceStatus'),
  },
  ServiceSpec: {
    1: msg('ports', 'ServicePort', { repeated: true }),
    2: { name: 'selector', type: 'map' },
    3: str('clusterIP'),
    18: strings('clusterIPs'),
    4: str('type'),
    5: strings('externalIPs'),
    7: str('sessionAffinity'),
    8: str('loadBalancerIP'),
    9: strings('loadBalancerSourceRanges'),
    10: str('externalName'),
    11: str('externalTrafficPolicy'),
    12: int('healthCheckNodePort'),
    13: { name: 'publishNotReadyAddresses', type: 'bool' },
    14: msg('sessionAffinityConfig', 'SessionAffinityConfig', { pointer: true }),
    19: strings('ipFamilies'),
    17: str('ipFamilyPolicy', { pointer: true }),
    20: { name: 'allocateLoadBalancerNodePorts', type: 'bool', pointer: true },
    21: str('loadBalancerClass', { pointer: true }),
    22: str('internalTrafficPolicy', { pointer: true }),
    23: str('trafficDistribution', { pointer: true }),
  },
  ServicePort: {
    1: str('name'),
    2: str('protocol'),
    6: str('appProtocol', { pointer: true }),
    3: int('port'),
    4: { name: 'targetPort', type: 'intOrString' },
    5: int('nodePort'),
  },
  SessionAffinityConfig: { 1: msg('clientIP', 'ClientIPConfig', { pointer: true }) },
  ClientIPConfig: { 1: int('timeoutSeconds', { pointer: true }) },
  ServiceStatus: { 1: msg('loadBalancer', 'LoadBalancerStatus') },
  LoadBalancerStatus: { 1: msg('ingress', 'LoadBalancerIngress', { repeated: true }) },
  LoadBalancerIngress: { 1: str('ip'), 2: str('hostname'), 3: str('ipMode', { pointer: true }) },
  Time: { 1: int('seconds'), 2: int('nanos') },
  IntOrString: { 1: int('type'), 2: int('intVal'), 3: str('strVal') },
  Entry: { 1: str('key'), 2: str('value') },
  Unknown: { 1: msg('typeMeta', 'TypeMeta'), 2: { name: 'raw', type: { message: 'bytes' } } },
  TypeMeta: { 1: str('apiVersion'), 2: str('kind') },
};

const malformed = () => badRequest('error decoding body: the protobuf body is malformed');

/** A cursor over one message's bytes. */
class Reader {
  #pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.#pos = start;
  }
  get done(): boolean {
    return this.#pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#pos >= this.end) throw malformed();
      const b = this.buf[this.#pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw malformed();
  }
  /** A length-delimited field's bytes, as a view. */
  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.#pos + len > this.end) throw malformed();
    const out = this.buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.#pos += 8;
    else if (wire === 5) this.#pos += 4;
    else throw malformed();
  }
}

const isZero = (v: unknown) =>
  v === '' ||
  v === 0 ||
  v === false ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

function rfc3339(time: Record<string, any>): string | undefined {
  if (!time.seconds && !time.nanos) return undefined;
  return new Date(time.seconds * 1000 + Math.floor((time.nanos ?? 0) / 1e6))
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
}

function decodeValue(field: Field, wire: number, r: Reader): unknown {
  const { type } = field;
  if (type === 'int' || type === 'bool') {
    if (wire !== 0) throw malformed();
    const n = r.varint();
    return type === 'bool' ? n !== 0n : Number(BigInt.asIntN(64, n));
  }
  if (wire !== 2) throw malformed();
  const bytes = r.bytes();
  if (type === 'string') return bytes.toString('utf8');
  if (type === 'map') return decodeMessage('Entry', bytes, true);
  if (type === 'time') return rfc3339(decodeMessage('Time', bytes, true));
  if (type === 'intOrString') {
    const v = decodeMessage('IntOrString', bytes, true);
    return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
  }
  if (type.message === 'bytes') return bytes;
  return decodeMessage(type.message, bytes);
}

/** @param keepZero for the helper messages (Time, map entries) whose zeros the caller reads. */
function decodeMessage(name: string, bytes: Buffer, keepZero = false): Record<string, any> {
  const schema = SCHEMAS[name]!;
  const out: Record<string, any> = {};
  const r = new Reader(bytes);
  while (!r.done) {
    const key = Number(r.varint());
    const field = schema[key >>> 3];
    if (!field) {
      r.skip(key & 7);
      continue;
    }
    const value = decodeValue(field, key & 7, r);
    if (field.type === 'map') {
      const entry = value as { key?: string; value?: string };
      (out[field.name] ??= {})[entry.key ?? ''] = entry.value ?? '';
    } else if (field.repeated) (out[field.name] ??= []).push(value);
    else out[field.name] = value;
  }
  if (keepZero) return out;
  for (const [k, v] of Object.entries(out)) {
    const field = Object.values(schema).find((f) => f.name === k)!;
    if (v === undefined || (isZero(v) && !field.pointer)) delete out[k];
  }
  return out;
}

/** Decodes a `k8s\0`-framed body to a JSON object with its apiVersion and kind. */
export function decodeProtobuf(body: Buffer): Record<string, any> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw malformed();
  const unknown = decodeMessage('Unknown', body.subarray(4), true);
  const apiVersion: string = unknown.typeMeta?.apiVersion ?? '';
  const kind: string = unknown.typeMeta?.kind ?? '';
  if (!SCHEMAS[kind] || !['Namespace', 'Service'].includes(kind) || apiVersion !== 'v1') {
    throw unsupportedBody(
      `the emulator decodes protobuf for v1 Namespace and Service only, not ${apiVersion} ${kind}: send JSON`,
    );
  }
  return { apiVersion, kind, ...decodeMessage(kind, unknown.raw ?? Buffer.alloc(0)) };
}
