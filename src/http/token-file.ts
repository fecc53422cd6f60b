/**
 * Where a generated token lives, so it is made at the first start only and
 * printed that once: a 0600 file under $XDG_STATE_HOME/framesupplier (else
 * ~/.local/state/framesupplier). A token from the config or the environment
 * is never written anywhere.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { MIN_TOKEN_LENGTH, resolveToken, type Token } from './auth.js';

export interface TokenChoice extends Token {
  /** The file holding a generated token. */
  readonly file: string | null;
  /** True when it was made just now: print it, once. */
  readonly created: boolean;
}

export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME.length > 0 ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(state, 'framesupplier', 'http-token');
}

export function loadOrCreateToken(configured: string | null | undefined, options: { file?: string; env?: NodeJS.ProcessEnv } = {}): TokenChoice {
  const env = options.env ?? process.env;
  const token = resolveToken(configured, env);
  if (token.source !== 'generated') return { ...token, file: null, created: false };
  const file = options.file ?? defaultTokenFile(env);
  try {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved.length >= MIN_TOKEN_LENGTH) return { value: saved, source: 'generated', file, created: false };
  } catch {
    // none yet
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${token.value}\n`, { mode: 0o600 });
  return { ...token, file, created: true };
}
