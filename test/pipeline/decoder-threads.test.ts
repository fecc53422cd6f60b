/**
 * The in-process decoder's threads per camera: with more cameras than cores
 * every camera's decoder gets one thread (the cores are shared between
 * decoders already), a camera's own `capture.decoderThreads` stays as
 * written, and with as many cameras as cores or fewer libav chooses (0);
 * cameras added or removed through the API move every camera to the rule for
 * the count then, from each decoder's next open. The choice is in each
 * camera's capture stats; the cameras stream with it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { after, describe, it } from 'node:test';
import { nativeDecoderUnavailable } from '../../src/capture/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig, smallH264Clip } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-decoder-threads-${process.pid}`;
const NATIVE_BUILT = nativeDecoderUnavailable() === null;

describe('decoder threads per camera', { timeout: 120_000 }, () => {
  const systems: VisionSystem[] = [];
  after(async () => {
    await Promise.all(systems.map((s) => s.close()));
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  const system = async (count: number, own: Record<string, number> = {}): Promise<VisionSystem> => {
    const clip = await smallH264Clip();
    const cameras = Object.fromEntries(
      Array.from({ length: count }, (_, i) => {
        const id = `dt${i}-${process.pid}`;
        const threads = own[id];
        return [
          id,
          {
            source: clip,
            capture: {
              output: { format: 'gray', width: 64, fps: 2 },
              loop: true,
              decoder: 'native',
              ...(threads === undefined ? {} : { decoderThreads: threads }),
            },
          },
        ];
      }),
    );
    const s = new VisionSystem({ config: resolvedConfig({ shmDir: SHM_DIR, cameras }), logger: createLogger({ level: 'silent' }) });
    systems.push(s);
    return s;
  };

  it(
    'more cameras than cores: one decoder thread each, unless the camera says otherwise; they stream',
    { skip: !NATIVE_BUILT && 'the native decoder is not built' },
    async () => {
      const cores = availableParallelism();
      const own = { [`dt0-${process.pid}`]: 2 };
      const s = await system(cores + 1, own);
      const streaming = Object.keys(s.stats().cameras).map((c) => nextEvent(s, 'camera-state', (e) => e.camera === c && e.state === 'streaming'));
      await s.start();
      await Promise.all(streaming);
      for (const [id, camera] of Object.entries(s.stats().cameras)) assert.equal(camera.capture?.decoderThreads, own[id] ?? 1, id);
      await s.close();
    },
  );

  it(
    'cameras added and removed through the API: every camera follows the count from its next open, its own setting kept',
    { skip: !NATIVE_BUILT && 'the native decoder is not built' },
    async () => {
      const cores = availableParallelism();
      const own = { [`dt0-${process.pid}`]: 2 };
      const s = await system(cores, own);
      await s.start();
      const threads = (): Record<string, number | null | undefined> =>
        Object.fromEntries(Object.entries(s.stats().cameras).map(([id, c]) => [id, c.capture?.decoderThreads]));
      const expect = (each: number): Record<string, number> => Object.fromEntries(Object.keys(s.stats().cameras).map((id) => [id, own[id] ?? each]));
      assert.deepEqual(threads(), expect(0), 'as many cameras as cores: libav chooses');
      const added = `dt-added-${process.pid}`;
      const entry = { source: await smallH264Clip(), capture: { output: { format: 'gray', width: 64, fps: 2 }, loop: true, decoder: 'native' } };
      const streaming = nextEvent(s, 'camera-state', (e) => e.camera === added && e.state === 'streaming');
      await s.cameras.add(added, entry);
      await streaming;
      assert.deepEqual(threads(), expect(1), 'one more camera than cores: one thread each, the added one too');
      await s.cameras.remove(added);
      assert.deepEqual(threads(), expect(0), 'back to as many as cores: libav chooses again');
      // A camera replaced is made while the old one still counts: it is told the count as it is once in its place.
      const last = `dt${cores - 1}-${process.pid}`;
      if (own[last] === undefined) {
        await s.cameras.replace(last, entry);
        assert.deepEqual(threads(), expect(0), 'a camera replaced: libav chooses, as for the others');
      }
      await s.close();
    },
  );

  it('as many cameras as cores or fewer: libav chooses (0)', { skip: !NATIVE_BUILT && 'the native decoder is not built' }, async () => {
    const s = await system(1);
    await s.start();
    for (const camera of Object.values(s.stats().cameras)) assert.equal(camera.capture?.decoderThreads, 0);
    await s.close();
  });
});
