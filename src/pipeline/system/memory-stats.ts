/**
 * The system's memory in its figures (issue 45 item 5, ADR 0068): this process's own (RSS, the JS heap,
 * external), malloc's (in use against what its arenas hold), the whole process tree's resident memory (model
 * servers and ffmpeg included), and the bytes each camera's captures keep in buffers (frame pools, packets held
 * to decode on demand). Each figure says where a growth is: a growth in the tree and not in this process is a
 * child's; in RSS and not the heap, native; in the arenas and not malloc's bytes in use, memory malloc keeps
 * free; in a camera's buffers, that camera's.
 *
 * Cheap enough for every stats() call: no heap walk; the tree's /proc walk is made at most once a second, and its
 * proportional set size (the kernel walks each process's page tables for it) is read off the event loop at most
 * every 30 s.
 */
import { getHeapStatistics } from 'node:v8';
import { mallocStats, type MallocStats } from '../../capture/index.js';
import { processMemory, processTreeMemory, processTreePss, type ProcessMemory, type ProcessTreeMemory } from '../../internal/memory.js';
import type { CameraStats } from '../camera/index.js';

/** What one camera's captures keep in buffers, bytes, over its streams. */
export interface CameraBufferBytes {
  /** Frame pool buffers made and kept (held by readers or free for the next frame). */
  readonly framePool: number;
  /** Packets held since the keyframe before the last, to decode on demand (ADR 0052). */
  readonly packetBuffer: number;
}

/** The process tree's memory: its RSS sum and processes, and what it takes from the machine. */
export interface TreeMemoryStats extends ProcessTreeMemory {
  /**
   * The tree's proportional set size, bytes: shared pages (Node's code, each frame store the system writes and
   * its model server reads) counted once, where rssBytes counts them in each process. Up to 30 s old; null before
   * its first read, off Linux, or on a kernel without smaps_rollup.
   */
  readonly pssBytes: number | null;
}

export interface MemoryStats extends ProcessMemory {
  /** glibc malloc's figures (mallinfo2) once the native decoder is loaded; null before, without it, or off glibc. */
  readonly malloc: MallocStats | null;
  /** V8's heap as v8.getHeapStatistics() has it, bytes. */
  readonly heap: {
    readonly usedBytes: number;
    readonly totalBytes: number;
    readonly limitBytes: number;
    /** What V8 itself has malloc'd (outside the heap), now. */
    readonly mallocedBytes: number;
    /** Contexts no longer used and not yet collected: more than 0 for long is a leak. */
    readonly detachedContexts: number;
  };
  /** This process and every process under it; null where /proc is not there (not Linux). At most a second old. */
  readonly tree: TreeMemoryStats | null;
  /** Each camera's buffers, by camera id, and their sum. */
  readonly buffers: { readonly totalBytes: number; readonly cameras: Readonly<Record<string, CameraBufferBytes>> };
}

const TREE_EVERY_MS = 1_000;
const PSS_EVERY_MS = 30_000;
let treeAt = -Infinity;
let tree: ProcessTreeMemory | null = null;
let pssAt = -Infinity;
let pss: number | null = null;
let pssReading = false;

/** Starts a read of the tree's PSS when the last is older than PSS_EVERY_MS and none is running; never waits for it. */
function refreshPss(now: number): void {
  if (pssReading || now - pssAt < PSS_EVERY_MS) return;
  pssReading = true;
  pssAt = now;
  processTreePss()
    .then((bytes) => {
      pss = bytes;
    })
    // Unreadable now (the kernel, a race with a process ending): the last figure stays until the next read.
    .catch(() => undefined)
    .finally(() => {
      pssReading = false;
    });
}

/** The memory figures now, with the buffers of the cameras given (their stats, as stats() has just read them). */
export function memoryStats(cameras: Readonly<Record<string, CameraStats>>): MemoryStats {
  const now = performance.now();
  if (now - treeAt >= TREE_EVERY_MS) {
    tree = processTreeMemory();
    treeAt = now;
  }
  refreshPss(now);
  const h = getHeapStatistics();
  const perCamera: Record<string, CameraBufferBytes> = {};
  let totalBytes = 0;
  for (const [id, camera] of Object.entries(cameras)) {
    let framePool = 0;
    let packetBuffer = 0;
    for (const capture of Object.values(camera.streams ?? { main: camera.capture })) {
      if (capture === null) continue;
      framePool += capture.pool?.bytes ?? 0;
      packetBuffer += capture.costs.packetBufferBytes;
    }
    perCamera[id] = { framePool, packetBuffer };
    totalBytes += framePool + packetBuffer;
  }
  return {
    ...processMemory(),
    malloc: mallocStats(),
    heap: {
      usedBytes: h.used_heap_size,
      totalBytes: h.total_heap_size,
      limitBytes: h.heap_size_limit,
      mallocedBytes: h.malloced_memory,
      detachedContexts: h.number_of_detached_contexts,
    },
    tree: tree === null ? null : { ...tree, pssBytes: pss },
    buffers: { totalBytes, cameras: perCamera },
  };
}
