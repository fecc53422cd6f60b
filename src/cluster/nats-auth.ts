/**
 * How a node proves itself to NATS, turned into nats.js connect options: user
 * and password, a token, an NKey (its seed inline or in a file), or a creds
 * file (a user JWT and its seed, for servers run by an operator), plus TLS
 * with a private CA and, for servers that verify clients, a client
 * certificate. At most one method; without one, credentials written into a
 * server URL (nats://user:pass@host, nats://token@host) are used, since
 * nats.js itself ignores them. The servers are passed on without their
 * credentials, so no URL the client logs or reports carries a secret.
 *
 * Files are read here, once, at start: a missing or unreadable one is
 * ERR_CLUSTER_CONFIG naming the key and the path, never its content.
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions } from '@nats-io/transport-node';
import { ClusterError } from './errors.js';

export interface NatsAuth {
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  readonly nkeySeed?: string;
  readonly nkeySeedFile?: string;
  readonly credsFile?: string;
}

export interface NatsTls {
  /** PEM file of the CA that signed the servers' certificates. */
  readonly ca?: string;
  /** PEM files of this node's client certificate and its key. */
  readonly cert?: string;
  readonly key?: string;
}

function readSecretFile(key: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster.${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The URL without its credentials, and what they were. A URL that does not parse is passed on as it is (the schema checked its scheme). */
export function splitCredentials(server: string): { server: string; user?: string; pass?: string } {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return { server };
  }
  if (url.username === '' && url.password === '') return { server };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return { server: url.toString().replace(/\/$/, ''), ...(user === '' ? {} : { user }), ...(pass === '' ? {} : { pass }) };
}

/** connect() options for these servers, auth and TLS. ERR_CLUSTER_CONFIG for a contradiction or an unreadable file. */
export function natsConnectOptions(
  servers: readonly string[],
  auth: NatsAuth | undefined,
  tls: NatsTls | undefined,
): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator' | 'tls'> {
  const split = servers.map(splitCredentials);
  const options: { servers: string[]; user?: string; pass?: string; token?: string; authenticator?: Authenticator; tls?: ConnectionOptions['tls'] } = {
    servers: split.map((s) => s.server),
  };
  const a = auth ?? {};
  const methods = [
    a.user !== undefined || a.password !== undefined ? 'user/password' : null,
    a.token !== undefined ? 'token' : null,
    a.nkeySeed !== undefined || a.nkeySeedFile !== undefined ? 'nkey' : null,
    a.credsFile !== undefined ? 'creds' : null,
  ].filter((m) => m !== null);
  if (methods.length > 1) throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster.auth: one method at a time, got ${methods.join(' and ')}`);
  if (a.nkeySeed !== undefined && a.nkeySeedFile !== undefined)
    throw new ClusterError('ERR_CLUSTER_CONFIG', 'cluster.auth: nkeySeed or nkeySeedFile, not both');
  if ((a.user === undefined) !== (a.password === undefined)) throw new ClusterError('ERR_CLUSTER_CONFIG', 'cluster.auth: user and password go together');
  if (a.user !== undefined && a.password !== undefined) {
    options.user = a.user;
    options.pass = a.password;
  } else if (a.token !== undefined) {
    options.token = a.token;
  } else if (a.nkeySeed !== undefined || a.nkeySeedFile !== undefined) {
    const seed = a.nkeySeed !== undefined ? new TextEncoder().encode(a.nkeySeed.trim()) : readSecretFile('auth.nkeySeedFile', a.nkeySeedFile!);
    const text = new TextDecoder().decode(seed).trim();
    if (!/^SU[A-Z2-7]{50,}$/.test(text))
      throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster.auth.${a.nkeySeed !== undefined ? 'nkeySeed' : 'nkeySeedFile'}: not a user NKey seed (SU…)`);
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(text));
  } else if (a.credsFile !== undefined) {
    const creds = readSecretFile('auth.credsFile', a.credsFile);
    if (!/BEGIN NATS USER JWT/.test(new TextDecoder().decode(creds)))
      throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster.auth.credsFile: ${a.credsFile} is not a NATS creds file`);
    options.authenticator = credsAuthenticator(creds);
  } else {
    // No method configured: the first URL's credentials, as a user would expect from nats://user:pass@host.
    const withCredentials = split.find((s) => s.user !== undefined);
    if (withCredentials?.pass !== undefined) {
      options.user = withCredentials.user!;
      options.pass = withCredentials.pass;
    } else if (withCredentials !== undefined) {
      options.token = withCredentials.user!;
    }
  }
  if (tls !== undefined) {
    if ((tls.cert === undefined) !== (tls.key === undefined)) throw new ClusterError('ERR_CLUSTER_CONFIG', 'cluster.tls: cert and key go together');
    for (const key of ['ca', 'cert', 'key'] as const) if (tls[key] !== undefined) readSecretFile(`tls.${key}`, tls[key]);
    options.tls = { ...(tls.ca === undefined ? {} : { caFile: tls.ca }), ...(tls.cert === undefined ? {} : { certFile: tls.cert, keyFile: tls.key! }) };
  } else if (options.servers.some((s) => s.startsWith('tls://'))) {
    options.tls = {};
  }
  return options;
}
