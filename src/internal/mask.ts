/**
 * Masking for anything that prints, logs or publishes a config or figures
 * made from it (src/config's maskConfig, the system's config.masked(), stats on
 * MQTT): a deep copy where URL
 * passwords (`rtsp://viewer:***@host/…`), `password=`/`token=`-style
 * parameters, the value after a `--password`-style argument, and every value
 * of a key named like a secret (password, token, secret, api key, credential)
 * are `***`. Biased to mask too much rather than too little: a masked host is
 * an inconvenience, a leaked password is not. Values, never names: a key that
 * says where a secret is (`apiKeyEnv`, `credsFile`) holds a variable's name or
 * a file's path, shown as it is (a value substituted from `${NAME}` still goes).
 */

import { maskCredentials, secretForms } from './redact.js';

export const MASK = '***';

const SECRET_WORDS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'credential', 'privatekey'];
const SECRET_KEYS = new Set(['pwd', 'pass', 'auth', 'authorization']);

/** A key's letters and digits, lower case: `DB_PASSWORD_FILE` → `dbpasswordfile`. */
const plain = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * True for keys that hold where a secret is, not the secret: a variable's name (`apiKeyEnv`, `TOKEN_ENV`) or a
 * file's path (`nkeySeedFile`, `credsFile`, `PASSWORD_FILE`). Their values are names: shown, never masked as
 * secrets (only what maskString masks in any string), whatever the key or its parent says.
 */
export function namesASecret(key: string): boolean {
  const k = plain(key);
  return ['env', 'file', 'path'].some((suffix) => k.length > suffix.length && k.endsWith(suffix));
}

/** True for keys like password, DB_PASSWORD, apiKey, API_TOKEN, clientSecret; false for names of secrets (namesASecret). */
export function isSecretKey(key: string): boolean {
  const k = plain(key);
  return !namesASecret(key) && (SECRET_KEYS.has(k) || SECRET_WORDS.some((word) => k.includes(word)));
}

/** The config's maps keyed by names a user chose (cameras, models, shared workers, streams, zones, lines): their keys say nothing of their values. */
const NAME_MAPS = new Set(['cameras', 'models', 'shared', 'streams', 'zones', 'lines']);

const SECRET_FLAG = /^--?(?:password|passwd|pwd|pass|token|secret|api[-_]?key)$/i;

/** One string with URL credentials and secret parameters masked (the project's one masking, src/internal/redact.ts). */
export const maskString: (text: string) => string = maskCredentials;

/** Shorter values taken from the environment are masked only where they are a whole value: inside others they would garble everything. */
export const MIN_EMBEDDED_SECRET = 4;

/**
 * A deep copy of value with every secret masked (see the module's comment),
 * and every value in `secrets` (what the file took from `${NAME}`, envOf())
 * masked wherever it stands.
 */
export function maskConfig<T>(value: T, options: { readonly secrets?: readonly string[] } = {}): T {
  const given = (options.secrets ?? []).filter((s) => s.length > 0);
  // A long one also as a value may hold it (percent-encoded in a URL, escaped in JSON); a short one only as a whole value.
  const embedded = [...new Set(given.filter((s) => s.length >= MIN_EMBEDDED_SECRET).flatMap(secretForms))].sort((a, b) => b.length - a.length);
  const whole = new Set(given);
  const maskText = (text: string): string => {
    if (whole.has(text)) return MASK;
    let out = text;
    for (const secret of embedded) if (out.includes(secret)) out = out.split(secret).join(MASK);
    return maskString(out);
  };
  // `named`: the object's keys are names a user gave (a zone called "secret_garden"), not what its values are.
  const walk = (v: unknown, secret: boolean, named = false): unknown => {
    if (typeof v === 'string') return secret ? MASK : maskText(v);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, secret || (i > 0 && typeof v[i - 1] === 'string' && SECRET_FLAG.test(v[i - 1] as string))));
    if (v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        // A name of a secret is shown even under a secret's key (cluster.auth.credsFile): it is a name, not the secret.
        const masked = named ? secret : namesASecret(key) ? false : secret || isSecretKey(key);
        Object.defineProperty(copy, key, { value: walk(item, masked, !named && NAME_MAPS.has(key)), enumerable: true, writable: true, configurable: true });
      }
      return copy;
    }
    return secret && v !== null && v !== undefined ? MASK : v;
  };
  return walk(value, false) as T;
}
