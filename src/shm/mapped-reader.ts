/**
 * FrameReader: how a model server gets a frame's bytes. With the native addon
 * (native/shm_map.c, framesupplier_shm) it maps each store once and hands the
 * handler a view over the mapping: no copy. Without it (not built, or
 * `access: 'copy'`) it reads a copy, as readFrame does; stats() and `reason`
 * say which and why.
 *
 * Contract:
 * - acquire() makes every check readFrame makes, in the same order, and
 *   returns a lease. Its `data` is valid until release(); a handler that is
 *   done with the bytes sooner (it converted or copied them) calls release()
 *   itself, else the server does once the handler settled. release() checks
 *   the slot's seqlock: a writer that rewrote the slot while the lease was
 *   held makes it throw ERR_FRAME_OVERWRITTEN (the frame asked for is gone, so
 *   there is nothing to retry); a store truncated or replaced under the view
 *   makes it throw ERR_FRAME_CORRUPT. It is idempotent (the same outcome) and
 *   the server answers with that error instead of the handler's result.
 * - The mapping survives anything another process does to the file: a read
 *   past a truncated end faults (SIGBUS), the addon puts zero pages over the
 *   mapping and marks it broken, and the read goes on on zeros. Each acquire()
 *   stats the path and maps again when the file's inode or size changed, or
 *   the mapping is broken. A mapping no longer current is unmapped once its
 *   last lease is released (its views then read as empty, never fault).
 * - peek() answers as peekFrame does (slot headers only), read from the
 *   mapping acquire() then reads through: no file opened per request.
 * - Mappings of stores not asked for in IDLE_UNMAP_MS, or gone from their
 *   path, are unmapped at the next acquire(): a removed store's memory is not
 *   kept alive by a server that once read it.
 */
import { constants, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { addonCandidates, ADDON_REMEDY, loadAddon } from '../internal/native-addon.js';
import { IpcError, type FrameMetadata } from '../internal/ipc-errors.js';
import { HEADER_BYTES, SLOT_HEADER_BYTES, parseGeometry } from './frame-layout.js';
import {
  peekFrame,
  pickSlot,
  readFrame,
  resolveReference,
  slotFormat,
  type FrameShape,
  type FrameSlotInfo,
  type ReadFrame,
  type SlotHeaderFields,
} from './frame-read.js';

/** A frame the handler may read until release(). */
export interface FrameLease extends ReadFrame {
  /** True when `data` is a view over the store's mapping, false when it is a copy. */
  readonly mapped: boolean;
  /** Ends the lease; throws ERR_FRAME_OVERWRITTEN or ERR_FRAME_CORRUPT if what `data` held may be torn. Idempotent. */
  release(): void;
}

export type FrameAccess = 'auto' | 'copy';

export interface FrameReaderOptions {
  /** Directory frame references must resolve into. */
  readonly allowedDir: string;
  /** 'auto' (default): map when the addon loads, else copy. 'copy': always copy. */
  readonly access?: FrameAccess;
  /** The addon's path (tests point it elsewhere to see the fallback). */
  readonly addonPath?: string;
}

export interface FrameReaderStats {
  /** 'mapped' when frames are read through the mapping, 'copy' otherwise. */
  readonly mode: 'mapped' | 'copy';
  /** Why frames are copied (null when mapped). */
  readonly reason: string | null;
  /** Stores mapped now. */
  readonly mappings: number;
  /** Maps made (first maps and remaps after a store changed). */
  readonly maps: number;
  /** Leases released with ERR_FRAME_CORRUPT because their store was truncated or replaced under them. */
  readonly broken: number;
  /** SIGBUS faults the addon absorbed in this process. */
  readonly faults: number;
  /** Requests read through the mapping, and as a copy (in 'mapped' mode, when a store could not be mapped). */
  readonly mappedReads: number;
  readonly copiedReads: number;
}

interface Mapped {
  buffer: ArrayBuffer;
  slot: number;
  gen: number;
  dev: number;
  ino: number;
  size: number;
}

interface Addon {
  map(path: string): Mapped;
  broken(slot: number, gen: number): boolean;
  unmap(slot: number, gen: number, buffer: ArrayBuffer): void;
  faults(): number;
  /** Since ADR 0083 (an older build has neither: its writers write positionally). */
  mapWritable?(path: string): Mapped;
  writeSlot?(slot: number, gen: number, offset: number, header: Uint8Array, data: Uint8Array): number;
  /** Since ADR 0090 (an older build lends no slot: every frame is copied in). */
  beginSlot?(slot: number, gen: number, offset: number): number;
}

/** The addon's side for a store's writer (frame-store.ts, ADR 0083). */
export interface StoreMapper {
  /** Maps the file read-write (throws if it cannot). */
  mapWritable(path: string): Mapped;
  /** Writes one slot under its seqlock: the new seq, or -1 when the mapping is gone or broken. */
  writeSlot(slot: number, gen: number, offset: number, header: Uint8Array, data: Uint8Array): number;
  /** Marks a slot as being written (its seq odd), for a frame written into it in place: the seq, or -1 when the mapping is gone or broken. */
  beginSlot?(slot: number, gen: number, offset: number): number;
  /** Whether a fault broke the mapping (its pages are the guard's zeros since). */
  broken(slot: number, gen: number): boolean;
  unmap(slot: number, gen: number, buffer: ArrayBuffer): void;
}

/** The addon for writing through a store's mapping, or null where it does not load or is a build from before ADR 0083. */
export function storeMapper(): StoreMapper | null {
  const addon = loadShmAddon(undefined);
  if (typeof addon === 'string' || addon.mapWritable === undefined || addon.writeSlot === undefined) return null;
  return addon as StoreMapper;
}

/** Where the addon is built from source; the shipped prebuilt one (prebuilds/) is tried after it. */
export const SHM_ADDON_PATH = addonCandidates('framesupplier_shm')[0]!;

/** The addon (at `path`, else where it ships), or why it cannot be used (loaded once per path). */
function loadShmAddon(path: string | undefined): Addon | string {
  const found = loadAddon<Addon>(path === undefined ? addonCandidates('framesupplier_shm') : [path]);
  return found.addon ?? `the shared-memory addon is not built or does not load here (${found.problems.join('; ')}): ${ADDON_REMEDY}`;
}

/** Why frames cannot be mapped here (the addon does not load, and what to install), or null if they can. */
export function frameMappingUnavailable(): string | null {
  const addon = loadShmAddon(undefined);
  return typeof addon === 'string' ? addon : null;
}

const IDLE_UNMAP_MS = 30_000;
const SWEEP_EVERY_MS = 1_000;
const SPARE_BUFFERS = 16;

interface Mapping {
  readonly path: string;
  readonly buffer: ArrayBuffer;
  readonly view: DataView;
  readonly slot: number;
  readonly gen: number;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly slots: number;
  readonly slotBytes: number;
  leases: number;
  /** No longer the path's current mapping: unmapped when its last lease is released. */
  retired: boolean;
  usedAt: number;
}

export class FrameReader {
  readonly #allowedDir: string;
  readonly #addon: Addon | null;
  readonly #reason: string | null;
  readonly #maps = new Map<string, Mapping>();
  /** Copies' buffers for reuse: a fresh multi-megabyte buffer costs a page fault per 4 KiB. */
  readonly #spare: Buffer[] = [];
  #sweptAt = performance.now();
  #counts = { maps: 0, broken: 0, mappedReads: 0, copiedReads: 0 };
  #closed = false;

  constructor(options: FrameReaderOptions) {
    this.#allowedDir = options.allowedDir;
    if (options.access === 'copy') {
      this.#addon = null;
      this.#reason = "frame access 'copy' was asked for";
    } else {
      const addon = loadShmAddon(options.addonPath);
      this.#addon = typeof addon === 'string' ? null : addon;
      this.#reason = typeof addon === 'string' ? addon : null;
    }
  }

  get mode(): 'mapped' | 'copy' {
    return this.#addon === null ? 'copy' : 'mapped';
  }

  /** Why frames are copied, or null when they are mapped. */
  get reason(): string | null {
    return this.#reason;
  }

  stats(): FrameReaderStats {
    return {
      mode: this.mode,
      reason: this.#reason,
      mappings: this.#maps.size,
      ...this.#counts,
      faults: this.#addon?.faults() ?? 0,
    };
  }

  /**
   * What peekFrame answers (the frame `which` names, or the newest complete one, of `shape` when given: its id and
   * capture time from its slot's header, null when there is none), throwing its codes for the reference; read from the store's mapping
   * when there is one, so a model server's request opens no file (issue 43 item 4).
   */
  peek(reference: string, which: number | 'newest', shape?: FrameShape): FrameSlotInfo | null {
    const addon = this.#addon;
    if (addon === null || this.#closed) return peekFrame(reference, this.#allowedDir, which, shape);
    const path = resolveReference(reference, this.#allowedDir);
    this.#sweep();
    const mapping = this.#current(addon, path, reference);
    if (mapping === null) return peekFrame(reference, this.#allowedDir, which, shape);
    mapping.usedAt = performance.now();
    const { view } = mapping;
    const header = (index: number): SlotHeaderFields => {
      const offset = HEADER_BYTES + index * (SLOT_HEADER_BYTES + mapping.slotBytes);
      return {
        seq: view.getUint32(offset, true),
        frameId: view.getBigUint64(offset + 8, true),
        width: view.getUint32(offset + 16, true),
        height: view.getUint32(offset + 20, true),
        formatCode: view.getUint32(offset + 24, true),
        wallTimeMs: view.getFloat64(offset + 32, true),
      };
    };
    const found = pickSlot(mapping.slots, header, which, shape);
    // Zeros read after a fault look like slots never written: a broken mapping has no frame to offer (acquire() says why).
    return addon.broken(mapping.slot, mapping.gen) ? null : found;
  }

  /**
   * The frame the request names, checked as readFrame checks it (and throwing
   * its codes). `beforeVerify` runs inside the first release(), before the
   * seqlock is checked (tests rewrite or truncate the store there).
   */
  acquire(reference: string, meta: FrameMetadata, beforeVerify?: () => void): FrameLease {
    const addon = this.#addon;
    if (addon === null || this.#closed) return this.#copy(reference, meta, beforeVerify);
    const path = resolveReference(reference, this.#allowedDir);
    if (!(Number.isSafeInteger(meta.frame_id) && meta.frame_id >= 1)) {
      throw new IpcError('ERR_FRAME_NOT_FOUND', `no frame ${meta.frame_id} in ${reference}: frame ids start at 1`);
    }
    this.#sweep();
    const mapping = this.#current(addon, path, reference);
    if (mapping === null) return this.#copy(reference, meta, beforeVerify);
    mapping.usedAt = performance.now();
    const { view } = mapping;
    const offset = HEADER_BYTES + (meta.frame_id % mapping.slots) * (SLOT_HEADER_BYTES + mapping.slotBytes);
    const seq = view.getUint32(offset, true);
    const frameId = view.getBigUint64(offset + 8, true);
    const wanted = BigInt(meta.frame_id);
    // Zeros read after a fault look like a slot never written: the broken mapping is the true answer.
    const corrupt = (what: string): IpcError => new IpcError('ERR_FRAME_CORRUPT', `frame ${meta.frame_id} in ${reference} is corrupt: ${what}`);
    const truncated = (): IpcError => {
      this.#counts.broken++;
      return corrupt('the store was truncated or replaced while it was read');
    };
    if (addon.broken(mapping.slot, mapping.gen)) throw truncated();
    if ((seq & 1) === 1 || frameId > wanted) throw new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten by a newer frame`);
    if (frameId !== wanted) throw new IpcError('ERR_FRAME_NOT_FOUND', `frame ${meta.frame_id} is not in ${reference}`);
    const changed = (): IpcError | null => {
      const now = view.getUint32(offset, true);
      if (addon.broken(mapping.slot, mapping.gen)) return truncated();
      return now === seq ? null : new IpcError('ERR_FRAME_OVERWRITTEN', `frame ${meta.frame_id} was overwritten while it was read`);
    };
    // Header fields read while a writer rewrote the slot may be torn: an error is only believed once seq shows the slot did not change.
    const settled = (error: IpcError): IpcError => changed() ?? error;
    const width = view.getUint32(offset + 16, true);
    const height = view.getUint32(offset + 20, true);
    const byteLength = view.getUint32(offset + 28, true);
    const wallTimeMs = view.getFloat64(offset + 32, true);
    const format = slotFormat(meta, width, height, view.getUint32(offset + 24, true), byteLength, mapping.slotBytes, corrupt);
    if (format instanceof IpcError) throw settled(format);
    const early = changed();
    if (early !== null) throw early;
    mapping.leases++;
    this.#counts.mappedReads++;
    let outcome: IpcError | null | undefined;
    return {
      data: Buffer.from(mapping.buffer, offset + SLOT_HEADER_BYTES, byteLength),
      width,
      height,
      format,
      wallTimeMs,
      mapped: true,
      release: () => {
        if (outcome === undefined) {
          try {
            beforeVerify?.();
          } finally {
            outcome = changed();
            mapping.leases--;
            // A broken mapping is of no more use: unmapped as soon as nobody holds it.
            if (addon.broken(mapping.slot, mapping.gen)) this.#retire(mapping);
            else this.#unmapIfDone(mapping);
          }
        }
        if (outcome !== null) throw outcome;
      },
    };
  }

  /** Unmaps every mapping without a lease; the others once released. Reads after close() are copies. */
  close(): void {
    this.#closed = true;
    for (const mapping of this.#maps.values()) this.#retire(mapping);
  }

  /** The path's current mapping: the cached one if the file there is still it, else a new one; null when it cannot be mapped. */
  #current(addon: Addon, path: string, reference: string): Mapping | null {
    let stat;
    try {
      stat = statSync(path);
    } catch (error) {
      throw new IpcError('ERR_FRAME_NOT_FOUND', `cannot open ${reference}: ${(error as Error).message}`);
    }
    const cached = this.#maps.get(path);
    if (cached !== undefined) {
      if (cached.dev === stat.dev && cached.ino === stat.ino && cached.size === stat.size && !addon.broken(cached.slot, cached.gen)) return cached;
      this.#retire(cached);
    }
    // Not a regular file (a FIFO, a directory): readFrame's open and checks give the answer.
    if ((stat.mode & constants.S_IFMT) !== constants.S_IFREG) return null;
    let made;
    try {
      made = addon.map(path);
    } catch {
      return null; // gone meanwhile, no permission, too many maps: a copying read says what it can
    }
    const view = new DataView(made.buffer);
    const geometry = parseGeometry(made.size, (at) => view.getUint32(at, true));
    if (typeof geometry === 'string' || addon.broken(made.slot, made.gen)) {
      addon.unmap(made.slot, made.gen, made.buffer);
      throw new IpcError(
        'ERR_FRAME_NOT_FOUND',
        `${reference} is not a frame store: ${typeof geometry === 'string' ? geometry : 'it was truncated while it was mapped'}`,
      );
    }
    const mapping: Mapping = { path, ...made, view, ...geometry, leases: 0, retired: false, usedAt: performance.now() };
    this.#maps.set(path, mapping);
    this.#counts.maps++;
    return mapping;
  }

  #retire(mapping: Mapping): void {
    if (this.#maps.get(mapping.path) === mapping) this.#maps.delete(mapping.path);
    mapping.retired = true;
    this.#unmapIfDone(mapping);
  }

  #unmapIfDone(mapping: Mapping): void {
    if (mapping.retired && mapping.leases === 0) this.#addon?.unmap(mapping.slot, mapping.gen, mapping.buffer);
  }

  /** Unmaps what is idle or no longer at its path, at most once a second. */
  #sweep(): void {
    const now = performance.now();
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    for (const mapping of [...this.#maps.values()]) {
      let current = false;
      try {
        const stat = statSync(mapping.path);
        current = stat.dev === mapping.dev && stat.ino === mapping.ino && stat.size === mapping.size;
      } catch {
        // gone
      }
      if (!current || now - mapping.usedAt > IDLE_UNMAP_MS) this.#retire(mapping);
    }
  }

  #copy(reference: string, meta: FrameMetadata, beforeVerify?: () => void): FrameLease {
    const frame = readFrame(reference, meta, this.#allowedDir, beforeVerify, (n) => this.#takeBuffer(n));
    this.#counts.copiedReads++;
    let released = false;
    return {
      ...frame,
      mapped: false,
      // The copy was checked whole when it was made: releasing only gives its buffer back.
      release: () => {
        if (released) return;
        released = true;
        if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(frame.data);
      },
    };
  }

  #takeBuffer(byteLength: number): Buffer {
    const index = this.#spare.findIndex((b) => b.byteLength === byteLength);
    if (index >= 0) return this.#spare.splice(index, 1)[0]!;
    return Buffer.allocUnsafeSlow(byteLength);
  }
}
