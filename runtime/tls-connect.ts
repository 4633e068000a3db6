/**
 * Opens the TLS connection to an API server that both HTTP clients use (`Http1Connections` for
 * the controller's calls, `Http2Sessions` for the generated client), from the credentials' TLS
 * options.
 */
import { isIP } from 'node:net';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';

/**
 * The TLS credentials of a connection. Their identity is the connection's: the same object reuses
 * a connection, a new one (a rotated client certificate) opens another.
 */
export interface TlsIdentity {
  readonly options: ConnectionOptions;
}

// The TLS settings a connection takes from its credentials.
const TLS_KEYS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'ciphers',
  'honorCipherOrder',
  'ecdhCurve',
  'crl',
  'dhparam',
  'secureOptions',
  'secureProtocol',
  'sessionIdContext',
] as const;

/** Starts a TLS connection to `url`'s host offering `protocols` by ALPN; not yet connected. */
export function connectTls(url: URL, options: ConnectionOptions, protocols: string[]): TLSSocket {
  const tlsOptions: ConnectionOptions = {};
  for (const key of TLS_KEYS) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) (tlsOptions as Record<string, unknown>)[key] = value;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return tls.connect({
    ...tlsOptions,
    host,
    port: Number(url.port || 443),
    servername: tlsOptions.servername ?? (isIP(host) ? undefined : host),
    ALPNProtocols: protocols,
  });
}
