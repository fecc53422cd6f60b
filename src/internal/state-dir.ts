/**
 * The state directory: what one installation keeps across restarts — the
 * generated HTTP token and the installation's id. FRAMESUPPLIER_STATE_DIR,
 * else $XDG_STATE_HOME/framesupplier, else ~/.local/state/framesupplier. A
 * container keeps it on a volume, so both survive the container being
 * recreated; an image never holds one, so two containers of one image differ.
 *
 * The id is made at the first start (random, never the host name, which a
 * container changes when recreated) and read back after; it is the default
 * MQTT client id and cluster node id. Two processes starting at once on an
 * empty directory agree on one id: it is written under a temporary name and
 * linked into place, which fails for the second, who reads the first's.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { makeDirectories } from './directories.js';
import { FrameSupplierError } from './errors.js';
import { isId } from './ids.js';

/** The state directory or a file in it cannot be made, read or written, or holds what it should not. */
export class StateDirError extends FrameSupplierError {
  constructor(message: string) {
    super('ERR_STATE_DIR', message);
  }
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.FRAMESUPPLIER_STATE_DIR;
  if (own !== undefined && own.length > 0) return own;
  const xdg = env.XDG_STATE_HOME;
  return join(xdg !== undefined && xdg.length > 0 ? xdg : join(homedir(), '.local', 'state'), 'framesupplier');
}

/** The state directory, made if missing (0700: it holds the token). */
export function ensureStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return makeStateDir(stateDir(env));
}

/**
 * A directory of the state directory's (the state directory itself, or the
 * one a token file is in), made if missing, 0700. Every part that writes
 * state makes its directory here, so a bad path is one ERR_STATE_DIR.
 */
export function makeStateDir(dir: string): string {
  try {
    makeDirectories(dir, 0o700);
  } catch (error) {
    throw new StateDirError(`the state directory ${dir} cannot be made (${(error as Error).message}): set FRAMESUPPLIER_STATE_DIR to a writable directory`);
  }
  return dir;
}

const ID_FILE = 'instance-id';

/** This installation's id (16 hex digits), made at the first call and kept in the state directory. */
export function instanceId(env: NodeJS.ProcessEnv = process.env): string {
  const dir = ensureStateDir(env);
  const file = join(dir, ID_FILE);
  const saved = readId(file);
  if (saved !== null) return saved;
  const id = randomBytes(8).toString('hex');
  const temporary = join(dir, `.${ID_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(temporary, `${id}\n`, { mode: 0o600 });
    linkSync(temporary, file);
    return id;
  } catch (error) {
    // Another process linked its id first: that one is the installation's.
    const theirs = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readId(file) : null;
    if (theirs !== null) return theirs;
    throw new StateDirError(
      `the id file ${file} cannot be written or holds no id (${(error as Error).message}): set FRAMESUPPLIER_STATE_DIR to a writable directory`,
    );
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readId(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateDirError(`the id file ${file} cannot be read (${(error as Error).message})`);
  }
  if (!isId(text))
    throw new StateDirError(
      `the id file ${file} holds ${JSON.stringify(String(text).slice(0, 80))}, not an id (1–64 of A–Z a–z 0–9 _ -): fix it, or delete it to make a new one`,
    );
  return text;
}
