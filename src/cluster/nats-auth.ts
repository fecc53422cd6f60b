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
 * The settings are checked before (the config's rules, which the node asks
 * through the system: ADR 0056); what only reading can tell is here. Files
 * are read once, at start: a missing or unreadable one, or one that holds no
 * seed or creds, is ERR_CLUSTER_CONFIG naming the key and the path, never its
 * content.
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions } from '@nats-io/transport-node';
import { isUserNkeySeed } from '../internal/nkey-seed.js';
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

/** The user's NKey seed from its file: ERR_CLUSTER_CONFIG when the file holds none. */
function readSeedFile(path: string): Uint8Array {
  const text = new TextDecoder().decode(readSecretFile('auth.nkeySeedFile', path)).trim();
  if (!isUserNkeySeed(text)) throw new ClusterError('ERR_CLUSTER_CONFIG', 'cluster.auth.nkeySeedFile: not a user NKey seed (SU…)');
  return new TextEncoder().encode(text);
}

/** A .creds file's content: ERR_CLUSTER_CONFIG when it is not one. */
function readCredsFile(path: string): Uint8Array {
  const creds = readSecretFile('auth.credsFile', path);
  if (!/BEGIN NATS USER JWT/.test(new TextDecoder().decode(creds)))
    throw new ClusterError('ERR_CLUSTER_CONFIG', `cluster.auth.credsFile: ${path} is not a NATS creds file`);
  return creds;
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

/**
 * connect() options for these servers, auth and TLS, checked by the config's rules already (one method at most, a
 * user with its password, an inline seed shaped as one, a cert with its key). ERR_CLUSTER_CONFIG for a file that
 * cannot be read or does not hold what its key says.
 */
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
  if (a.user !== undefined && a.password !== undefined) {
    options.user = a.user;
    options.pass = a.password;
  } else if (a.token !== undefined) {
    options.token = a.token;
  } else if (a.nkeySeed !== undefined) {
    options.authenticator = nkeyAuthenticator(new TextEncoder().encode(a.nkeySeed.trim()));
  } else if (a.nkeySeedFile !== undefined) {
    options.authenticator = nkeyAuthenticator(readSeedFile(a.nkeySeedFile));
  } else if (a.credsFile !== undefined) {
    options.authenticator = credsAuthenticator(readCredsFile(a.credsFile));
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
    for (const key of ['ca', 'cert', 'key'] as const) if (tls[key] !== undefined) readSecretFile(`tls.${key}`, tls[key]);
    options.tls = { ...(tls.ca === undefined ? {} : { caFile: tls.ca }), ...(tls.cert === undefined ? {} : { certFile: tls.cert, keyFile: tls.key! }) };
  } else if (options.servers.some((s) => s.startsWith('tls://'))) {
    options.tls = {};
  }
  return options;
}
