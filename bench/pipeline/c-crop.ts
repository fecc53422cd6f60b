/**
 * C-CROP (issue 34): cascades' crops per second and their cost at 16
 * cameras. Each camera publishes 1280×720 rgb24 frames at 10 fps; its
 * detector "answers" 5 times a second with 3 people (boxes of 10–20 % of the
 * frame); its crop feed (src/pipeline/camera/crop-feed.ts, as a camera's pipeline
 * runs it) cuts each person from the newest frame at full resolution, scaled
 * to 192 on the long side, into the crop stream a reader takes them from
 * (latest wins). 20 s after 3 s of warm-up: crops cut per second (target:
 * 16 × 5 × 3 = 240), the time cutting takes per crop, and the process's CPU
 * over the run (frames published, crops cut and read: the cascade's own
 * share of a core, without any model).
 */
import { CropFeed, type EventOf } from '../../src/pipeline/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { NOT_PRIVATE } from '../../src/pictures/index.js';
import { emit, log, round, sleep } from '../stats.js';

const CAMERAS = 16;
const W = 1280;
const H = 720;
const PEOPLE: readonly (readonly [number, number, number, number])[] = [
  [0.1, 0.2, 0.22, 0.6],
  [0.4, 0.3, 0.5, 0.55],
  [0.7, 0.1, 0.85, 0.7],
];

export async function cCrop(): Promise<void> {
  const payload = new Uint8Array(W * H * 3);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
  const cameras = Array.from({ length: CAMERAS }, (_, i) => {
    const supplier = new FrameSupplier({ streamId: `cam${i}` }).start();
    const feed = new CropFeed({
      camera: `cam${i}`,
      worker: 'pose',
      settings: { of: 'people', margin: 0.1, size: 192 },
      source: supplier,
      scene: null,
      privacy: NOT_PRIVATE,
    });
    feed.start();
    const reader = feed.subscribe('pose', {});
    let read = 0;
    void (async () => {
      for (;;) {
        const crop = await reader.read();
        if (crop === null) return;
        read++;
      }
    })();
    return { supplier, feed, reader, read: () => read };
  });
  let seq = 0;
  const frames = setInterval(() => {
    for (const c of cameras) c.supplier.publish({ payload, width: W, height: H, format: 'rgb24' });
  }, 100);
  const results = setInterval(() => {
    seq++;
    for (const [i, c] of cameras.entries()) {
      const event = {
        type: 'result',
        at: Date.now(),
        camera: `cam${i}`,
        worker: 'people',
        shared: false,
        seq,
        captureTime: performance.now(),
        wallTime: Date.now(),
        output: { detections: PEOPLE.map((bbox) => ({ class_name: 'person', confidence: 0.9, bbox })) },
      } as unknown as EventOf<'result'>;
      c.feed.onResult(event);
    }
  }, 200);
  await sleep(3_000);
  const crops0 = cameras.reduce((n, c) => n + c.feed.crops, 0);
  const cut0 = cameras.reduce((n, c) => n + c.feed.cutMs, 0);
  const read0 = cameras.reduce((n, c) => n + c.read(), 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(20_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const crops = cameras.reduce((n, c) => n + c.feed.crops, 0) - crops0;
  const cutMs = cameras.reduce((n, c) => n + c.feed.cutMs, 0) - cut0;
  const read = cameras.reduce((n, c) => n + c.read(), 0) - read0;
  clearInterval(frames);
  clearInterval(results);
  for (const c of cameras) {
    await c.feed.close();
    await c.supplier.close();
  }
  const record = {
    bench: 'C-CROP',
    cameras: CAMERAS,
    frame: `${W}x${H} rgb24 @10 fps`,
    cropSize: 192,
    cropsPerSecond: round(crops / seconds, 1),
    targetPerSecond: CAMERAS * 5 * PEOPLE.length,
    readPerSecond: round(read / seconds, 1),
    cutMsPerCrop: round(cutMs / Math.max(1, crops), 3),
    cutCoreShare: round(cutMs / 1000 / seconds, 3),
    processCpuCores: round((cpu.user + cpu.system) / 1e6 / seconds, 3),
  };
  emit(record);
  log(`C-CROP: ${JSON.stringify(record)}`);
}
