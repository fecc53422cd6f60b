/**
 * Where the native addons are found, for the decoder and the shared-memory
 * mapper alike: first native/build/Release (built from source: in a checkout,
 * or at `npm install` where the prebuilt one does not load), then
 * prebuilds/<platform>-<arch> (shipped in the npm package, built on Debian 12).
 * The first that loads wins; when none does, the answer is why, per place
 * tried, for the caller's fallback message. Loaded once per name.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The package's root (dist/src/internal is three levels down). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type AddonName = 'framesupplier_decoder' | 'framesupplier_shm';

/** The places an addon is looked for, in order. */
export function addonCandidates(name: AddonName): string[] {
  return [`${PACKAGE_ROOT}native/build/Release/${name}.node`, `${PACKAGE_ROOT}prebuilds/${process.platform}-${process.arch}/${name}.node`];
}

export type LoadedAddon<T> = { readonly addon: T; readonly path: string } | { readonly addon: null; readonly problems: readonly string[] };

const loaded = new Map<string, LoadedAddon<unknown>>();

/** The first of `paths` that loads, or why none did (one line per path). */
export function loadAddon<T>(paths: readonly string[]): LoadedAddon<T> {
  const key = paths.join('\0');
  let result = loaded.get(key);
  if (result === undefined) {
    const problems: string[] = [];
    result = { addon: null, problems };
    for (const path of paths) {
      if (!existsSync(path)) {
        problems.push(`${path}: not there`);
        continue;
      }
      try {
        result = { addon: createRequire(import.meta.url)(path) as unknown, path };
        break;
      } catch (error) {
        // dlopen's message names the library it missed (e.g. libavformat.so.59): the user's clue.
        problems.push(`${path}: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
      }
    }
    loaded.set(key, result);
  }
  return result as LoadedAddon<T>;
}

/** What a user does to get the addons where they did not load: said in every fallback message. */
export const ADDON_REMEDY =
  "the package ships them prebuilt for Linux x64 with glibc 2.33+ (the decoder for Debian 12's FFmpeg libraries: apt install ffmpeg); " +
  'elsewhere they are built at install: install a C compiler, make, python3, pkg-config and the FFmpeg headers ' +
  '(Debian/Ubuntu: apt install build-essential python3 pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev), then run `npm rebuild framesupplier` ' +
  '(in a checkout of the repository: npm start)';
