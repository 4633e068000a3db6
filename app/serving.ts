/**
 * The process's own HTTP endpoints (/metrics, /healthz, /readyz), started from the bind-address
 * flags, with a listen error turned into one naming the flag whose address failed.
 */
import type { Registry } from 'prom-client';
import { errorMessage } from '../contract/errors.js';
import type { Logger } from '../contract/logger.js';
import { quote } from '../contract/quote.js';
import {
  parseBindAddress,
  startHttpServers,
  type HealthChecks,
  type RunningHttpServers,
} from '../runtime/http-server.js';
import { ConfigError } from './options/config.js';

export interface BindAddresses {
  readonly metricsBindAddress: string;
  readonly healthProbeBindAddress: string;
}

export async function startServers(
  addresses: BindAddresses,
  parts: { registry: Registry; checks: HealthChecks; logger: Logger },
): Promise<RunningHttpServers> {
  const { metricsBindAddress, healthProbeBindAddress } = addresses;
  return startHttpServers({ metricsBindAddress, healthProbeBindAddress, ...parts }).catch(
    (err: unknown) => {
      const flags: Record<string, string> = {};
      if (metricsBindAddress !== '0') flags['metrics-bind-address'] = metricsBindAddress;
      if (healthProbeBindAddress !== '0')
        flags['health-probe-bind-address'] = healthProbeBindAddress;
      throw bindFailure(err, flags);
    },
  );
}

/**
 * A listen error, naming the flag whose address failed: an address this host cannot have (no
 * such interface or name) is a flag to fix, exit 2; anything else (a port in use) exits 1.
 */
export function bindFailure(err: unknown, flags: Readonly<Record<string, string>>): Error {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  const named = Object.entries(flags).filter(([, value]) => {
    let bind: ReturnType<typeof parseBindAddress>;
    try {
      bind = parseBindAddress(value);
    } catch {
      return true;
    }
    if (!bind) return false;
    if (e.hostname !== undefined) return bind.host === e.hostname;
    return e.port === undefined || e.port === bind.port;
  });
  const blamed = named.length ? named : Object.entries(flags).filter(([, value]) => value !== '0');
  const messages = blamed.map(
    ([flag, value]) => `--${flag}: cannot serve on ${quote(value)}: ${errorMessage(err)}`,
  );
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') return new ConfigError(messages);
  return new Error(messages.join('; '), { cause: err });
}
