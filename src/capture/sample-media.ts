/**
 * Sample media for a fresh machine: OpenCV's pedestrian clip as Debian's
 * opencv-doc package installs it (scripts/setup.sh installs the package), or
 * null (callers fall back to an ffmpeg test pattern). The package never looks
 * outside itself and the system: FRAMESUPPLIER_SAMPLE_MEDIA names another file.
 *
 * Debian's packaging may store the clip gzipped (dh_compress); it is then
 * decompressed once into the temporary directory, since ffmpeg cannot read
 * a gzipped AVI.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeDirectories } from '../internal/directories.js';

export const DEBIAN_VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
/** An environment variable that names the sample clip, overriding the Debian one. */
export const SAMPLE_MEDIA_ENV = 'FRAMESUPPLIER_SAMPLE_MEDIA';

/** The sample clip, or null. `packaged` is where a package installs it (default: Debian's opencv-doc). */
export function findSampleMedia(packaged = DEBIAN_VTEST): string | null {
  const override = process.env[SAMPLE_MEDIA_ENV];
  if (override !== undefined && override.length > 0) return existsSync(override) ? override : null;
  if (existsSync(packaged)) return packaged;
  if (existsSync(`${packaged}.gz`)) return gunzipped(`${packaged}.gz`);
  return null;
}

/** The file decompressed into the temporary directory (once; written aside and renamed, so readers never see half of it). */
function gunzipped(path: string): string | null {
  const dir = join(tmpdir(), 'framesupplier-sample-media');
  const out = join(dir, basename(path, '.gz'));
  if (existsSync(out)) return out;
  try {
    makeDirectories(dir);
    const partial = `${out}.${process.pid}.partial`;
    writeFileSync(partial, gunzipSync(readFileSync(path)));
    renameSync(partial, out);
    return out;
  } catch {
    return null;
  }
}
