/**
 * Where a generated token lives, so it is made at the first start only and
 * printed that once: a 0600 file in the state directory (src/internal/state-dir.ts:
 * FRAMESUPPLIER_STATE_DIR, else $XDG_STATE_HOME/framesupplier, else
 * ~/.local/state/framesupplier). A token from the config or the environment
 * is never written anywhere.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeStateDir, StateDirError, stateDir } from '../internal/state-dir.js';
import { MIN_TOKEN_LENGTH, resolveToken, type Token } from './auth.js';

export interface TokenChoice extends Token {
  /** The file holding a generated token. */
  readonly file: string | null;
  /** True when it was made just now: print it, once. */
  readonly created: boolean;
}

export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'http-token');
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
  makeStateDir(dirname(file));
  try {
    writeFileSync(file, `${token.value}\n`, { mode: 0o600 });
  } catch (error) {
    throw new StateDirError(`the token file ${file} cannot be written (${(error as Error).message}): set FRAMESUPPLIER_STATE_DIR to a writable directory`);
  }
  return { ...token, file, created: true };
}
