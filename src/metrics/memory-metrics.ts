/**
 * The system's memory as gauges (ADR 0068), set whole from each scrape's stats().memory so Prometheus can alert
 * on growth (a deriv() over hours): the process tree's resident bytes, its proportional set size and its
 * processes, malloc's bytes in use and what its arenas and own mmaps hold, the JS heap, and each camera's frame
 * pool bytes. A figure the system does not have (malloc before the native decoder loads, the tree off Linux) is
 * left out, not written 0.
 */
import type { Registry } from 'prom-client';
import type { SystemStats } from '../pipeline/index.js';
import { SnapshotMetric } from './snapshot-metric.js';

export type MemoryMetrics = ReturnType<typeof defineMemoryMetrics>;

/** The memory gauges, registered in `registry` and listed in `all` (begun and committed with the other snapshots). */
export function defineMemoryMetrics(registry: Registry, all: SnapshotMetric[]) {
  const gauge = (name: string, help: string): SnapshotMetric => {
    const metric = new SnapshotMetric(registry, { name, help, type: 'gauge' });
    all.push(metric);
    return metric;
  };
  return {
    treeRss: gauge(
      'framesupplier_process_tree_resident_memory_bytes',
      'Resident memory of the system process and every process under it (model servers, ffmpeg), summed VmRSS.',
    ),
    treePss: gauge(
      'framesupplier_process_tree_proportional_memory_bytes',
      "What the system process tree takes from the machine: its processes' PSS summed, each shared page (Node's code, a frame store) counted once. Up to 30 s old.",
    ),
    treeProcesses: gauge('framesupplier_process_tree_processes', 'Processes in the system process tree, the system included.'),
    mallocInUse: gauge(
      'framesupplier_malloc_in_use_bytes',
      "Bytes malloc handed out and not freed in the system process (glibc's mallinfo2, or jemalloc's stats.allocated when it is preloaded).",
    ),
    mallocArena: gauge(
      'framesupplier_malloc_arena_bytes',
      "Bytes malloc's arenas hold from the system, in use or free (jemalloc: its resident pages): above malloc_in_use, what fragmentation keeps.",
    ),
    mallocMmapped: gauge('framesupplier_malloc_mmapped_bytes', 'Bytes in blocks malloc mmapped on their own (given back when freed).'),
    heapUsed: gauge('framesupplier_js_heap_used_bytes', "The system process's V8 heap in use."),
    heapTotal: gauge('framesupplier_js_heap_total_bytes', "The system process's V8 heap reserved."),
    framePool: gauge(
      'framesupplier_camera_frame_pool_bytes',
      "Bytes of a camera's frame pool buffers (decoded frames, held by readers or free for reuse), over its streams; its held packets are framesupplier_stream_packet_buffer_bytes.",
    ),
  };
}

/** Adds this snapshot's memory samples. */
export function addMemorySamples(m: MemoryMetrics, memory: SystemStats['memory']): void {
  if (memory.tree !== null) {
    m.treeRss.add({}, memory.tree.rssBytes);
    m.treeProcesses.add({}, memory.tree.processes);
    if (memory.tree.pssBytes !== null) m.treePss.add({}, memory.tree.pssBytes);
  }
  if (memory.malloc !== null) {
    m.mallocInUse.add({}, memory.malloc.inUseBytes);
    m.mallocArena.add({}, memory.malloc.arenaBytes);
    m.mallocMmapped.add({}, memory.malloc.mmappedBytes);
  }
  m.heapUsed.add({}, memory.heap.usedBytes);
  m.heapTotal.add({}, memory.heap.totalBytes);
  for (const [camera, b] of Object.entries(memory.buffers.cameras)) m.framePool.add({ camera }, b.framePool);
}
