/**
 * A process's memory as Node sees it, in bytes: resident set, the V8 heap,
 * and what lives outside it (`external`, of which `arrayBuffers`). Put beside
 * the RSS seen from outside, it says where a growth is: the JS heap, buffers,
 * or native memory (RSS minus heap and external). Cheap: no heap walk.
 */
export interface ProcessMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export function processMemory(): ProcessMemory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}
