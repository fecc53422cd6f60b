/**
 * ffmpeg as a managed child process (src/process): located on PATH or at an
 * explicit path, with a clear error when it is missing.
 */
import { findExecutable } from '../process/index.js';
import { CaptureError } from './errors.js';

export { findExecutable, spawnManaged, type ManagedProcess, type ProcessExit } from '../process/index.js';

export function requireExecutable(name: string): string {
  const found = findExecutable(name);
  if (found === null) {
    throw new CaptureError(
      'ERR_FFMPEG_NOT_FOUND',
      `${name} was not found${name.includes('/') ? '' : ' on PATH'}: install it (Debian: apt-get install ffmpeg) or set ffmpegPath`,
    );
  }
  return found;
}
