/**
 * SCALE: what converting a picture costs at the readers' size (ADR 0031)
 * against the output size, with the in-process decoder on P1's 720p clip:
 * per conversion (the converter thread's time for one picture), to nv12 (a
 * mock or remote model) and rgb24 (the person and YOLO models), at 1280 × 720
 * (no scaling: a format conversion), to 640 × 360 bilinear (the size a reader
 * declares, converted on demand) and to 640 × 360 bicubic (a decoder opened
 * at that size, as a configured output size is). Each way over the same 150
 * pictures; one JSON line per format and way, medians over the pictures.
 */
import { performance } from 'node:perf_hooks';
import { NativeDecoder, type ConvertSize } from '../../src/capture/native-decoder.js';
import { emit, log, percentile, round, sortedCopy } from '../stats.js';
import { testClip } from './workloads.js';

const PICTURES = 150;
const SMALL: ConvertSize = { width: 640, height: 360 };

async function timeConversions(file: string, format: 'nv12' | 'rgb24', opened: ConvertSize | null, asked: ConvertSize | null): Promise<number[]> {
  const decoder = await NativeDecoder.open(file, { format, threads: 1, ...(opened ?? {}) });
  const times: number[] = [];
  try {
    const target = new Uint8Array(decoder.frameBytesAt(asked));
    for (let n = 0; n < PICTURES; n++) {
      if ((await decoder.next()) === null) break;
      decoder.present();
      const start = performance.now();
      await decoder.convert(target, asked);
      times.push(performance.now() - start);
    }
  } finally {
    decoder.close();
  }
  return times;
}

export async function scale(): Promise<void> {
  const file = await testClip('testsrc2-720p10-20s.mp4', '1280x720', 10, 20);
  for (const format of ['nv12', 'rgb24'] as const) {
    const ways = [
      { way: 'output 1280x720', opened: null, asked: null },
      { way: 'readers 640x360 bilinear', opened: null, asked: SMALL },
      { way: 'opened 640x360 bicubic', opened: SMALL, asked: null },
    ];
    for (const { way, opened, asked } of ways) {
      const times = sortedCopy(await timeConversions(file, format, opened, asked));
      log(`SCALE ${format} ${way}: ${round(percentile(times, 50), 3)} ms`);
      emit({
        workload: 'SCALE',
        impl: 'native',
        format,
        way,
        pictures: times.length,
        convert_ms_p50: round(percentile(times, 50), 3),
        convert_ms_p99: round(percentile(times, 99), 3),
      });
    }
  }
}
