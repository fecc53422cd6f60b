/**
 * The live view of `framesupplier run`: per camera its state and fps, per
 * worker its figures, each model server's state, and the latest results
 * (people and their confidence for a model, a one-line summary otherwise).
 *
 * On a terminal it redraws in place; otherwise it prints plain lines every
 * interval, one per camera, model and latest result, for logs and scripts.
 * It is a subscriber of the system's events and a reader of stats(), nothing
 * more.
 */
import type { EventOf, SystemStats, VisionSystem, PipelineWorkerStats } from '../pipeline/index.js';

interface Latest {
  readonly at: number;
  readonly seq: number;
  readonly summary: string;
}

export interface RunViewOptions {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** 'tty': redraw in place; 'plain': periodic lines. */
  readonly mode: 'tty' | 'plain';
  /** Default 500 ms on a terminal, 2 000 ms plain. */
  readonly intervalMs?: number;
  /** Shown in the header: where the log goes. */
  readonly logNote?: string;
  /** Shown in the header: the dashboard's address. */
  readonly dashboard?: string;
}

/** A detection as model servers answer it. */
interface Detection {
  readonly class_name?: unknown;
  readonly confidence?: unknown;
}

/** One line for a worker's output: "person ×3 (0.91 0.84 0.52)" for detections, a few numeric fields otherwise. */
export function summarize(output: unknown): string {
  if (output === null || typeof output !== 'object') return String(output);
  const o = output as { detections?: unknown; error?: { code?: unknown } | null };
  if (Array.isArray(o.detections)) {
    if (o.error != null) return `error ${String(o.error.code)}`;
    const detections = o.detections as Detection[];
    if (detections.length === 0) return 'nobody';
    const byClass = new Map<string, number[]>();
    for (const d of detections) {
      const name = typeof d.class_name === 'string' ? d.class_name : '?';
      const list = byClass.get(name) ?? [];
      list.push(typeof d.confidence === 'number' ? d.confidence : Number.NaN);
      byClass.set(name, list);
    }
    // "person ×3 (0.91 0.84 0.52), 3 poses": how many of each class, most confident first, and the poses among them.
    const poses = detections.filter((d) => Array.isArray((d as { keypoints?: unknown }).keypoints)).length;
    const classes = [...byClass]
      .map(
        ([name, confidences]) =>
          `${name} ×${confidences.length} (${confidences
            .sort((a, b) => b - a)
            .map((c) => c.toFixed(2))
            .join(' ')})`,
      )
      .join(', ');
    return poses === 0 ? classes : `${classes}, ${poses} pose${poses === 1 ? '' : 's'}`;
  }
  const parts: string[] = [];
  for (const [key, value] of Object.entries(output)) {
    if (parts.length === 4) break;
    if (typeof value === 'number') parts.push(`${key} ${Number.isInteger(value) ? value : value.toFixed(3)}`);
    else if (typeof value === 'string' || typeof value === 'boolean') parts.push(`${key} ${String(value).slice(0, 30)}`);
  }
  return parts.length > 0 ? parts.join('  ') : JSON.stringify(output).slice(0, 60);
}

const pad = (s: string, n: number): string => (s.length >= n ? `${s.slice(0, n - 1)} ` : s.padEnd(n));
const num = (v: number | null, digits = 1): string => (v === null ? '-' : v.toFixed(digits));

/** What the two age columns are: the same statistic, as /api/stats gives it. */
export const AGE_LEGEND =
  "read p50, result p50: ms from capture to the worker's read and to its result, p50 of the recent frames (/api/stats: hops.delivered, hops.result)";

function workerRow(name: string, w: PipelineWorkerStats): string {
  return [
    pad(name, 26),
    pad(w.kind, 13),
    pad(w.enabled ? (w.waitingForModel ? 'wait-model' : w.state) : 'disabled', 11),
    num(w.fps).padStart(6),
    String(w.delivered).padStart(10),
    String(w.drops).padStart(7),
    String(w.gated).padStart(7),
    String(w.staleSkips).padStart(6),
    // What a model worker's model did with the frames delivered (ADR 0040); fps and age are then of the frames taken.
    (w.modelFrames === null ? '-' : String(w.modelFrames.taken)).padStart(8),
    (w.modelFrames === null ? '-' : String(w.modelFrames.skipped)).padStart(8),
    // Like with like (ADR 0041): capture → read and capture → result, each the p50 of the recent frames, as /api/stats' hops.
    num(w.hops.delivered?.p50Ms ?? null, 0).padStart(9),
    num(w.hops.result?.p50Ms ?? null, 0).padStart(11),
    String(w.restarts).padStart(9),
    String(w.results).padStart(8),
  ].join('');
}

/** The terminal view as text. */
/** A share (0–1) as a whole percentage. */
function percent(share: number): string {
  return `${Math.round(share * 100)} %`;
}

export function renderView(
  stats: SystemStats,
  latest: ReadonlyMap<string, Latest>,
  options: { colour: boolean; logNote?: string; dashboard?: string; now?: number },
): string {
  const bold = (s: string): string => (options.colour ? `\x1b[1m${s}\x1b[0m` : s);
  const warn = (s: string): string => (options.colour ? `\x1b[33m${s}\x1b[0m` : s);
  const now = options.now ?? Date.now();
  const cameras = Object.values(stats.cameras);
  const models = Object.values(stats.models);
  const lines: string[] = [
    bold(
      `framesupplier run — ${cameras.length} camera(s), ${models.length} model server(s), ${Object.keys(stats.shared).length} shared worker(s), up ${stats.uptimeS.toFixed(0)} s`,
    ) + (options.logNote === undefined ? '' : `   log: ${options.logNote}`),
    ...(options.dashboard === undefined ? [] : [`dashboard: ${options.dashboard}`]),
    '',
    bold(`${pad('camera', 18)}${pad('state', 12)}${'fps'.padStart(6)}  ${pad('size', 11)}${pad('decoder', 9)}${'restarts'.padStart(9)}  last error`),
  ];
  for (const c of cameras) {
    const cap = c.capture;
    const state = c.state === 'streaming' ? c.state : warn(pad(c.state, 11));
    const size = cap?.width == null ? '-' : `${cap.width}x${cap.height}`;
    const error = cap?.lastError != null && c.state !== 'streaming' ? warn(`${cap.lastError.code}: ${cap.lastError.message.slice(0, 60)}`) : '';
    lines.push(
      `${pad(c.id, 18)}${c.state === 'streaming' ? pad(state, 12) : `${state} `}${num(cap?.fps ?? null).padStart(6)}  ${pad(size, 11)}${pad(c.decoder ?? '-', 9)}${String(cap?.restarts ?? 0).padStart(9)}  ${error}`,
    );
  }
  lines.push(
    '',
    bold(
      `${pad('worker', 26)}${pad('kind', 13)}${pad('state', 11)}${'fps'.padStart(6)}${'delivered'.padStart(10)}${'drops'.padStart(7)}${'gated'.padStart(7)}${'stale'.padStart(6)}${'taken'.padStart(8)}${'skipped'.padStart(8)}${'read p50'.padStart(9)}${'result p50'.padStart(11)}${'restarts'.padStart(9)}${'results'.padStart(8)}`,
    ),
  );
  for (const c of cameras) for (const w of Object.values(c.workers)) lines.push(workerRow(`${c.id}/${w.id}`, w));
  for (const s of Object.values(stats.shared)) {
    lines.push(workerRow(`shared ${s.id}`, s));
    for (const [camera, f] of Object.entries(s.perCamera)) {
      lines.push(
        `  ${pad(`← ${camera}`, 48)}${num(f.fps).padStart(6)}${String(f.delivered).padStart(10)}${String(f.drops).padStart(7)}${String(f.gated).padStart(7)}${String(f.staleSkips).padStart(6)}${'-'.padStart(8)}${'-'.padStart(8)}${'-'.padStart(9)}${'-'.padStart(11)}`,
      );
    }
  }
  lines.push(AGE_LEGEND);
  // Workers behind their freshness objective (ADR 0042): why, and what would fix it.
  const behind: [string, PipelineWorkerStats][] = [
    ...cameras.flatMap((c) => Object.values(c.workers).map((w): [string, PipelineWorkerStats] => [`${c.id}/${w.id}`, w])),
    ...Object.values(stats.shared).map((w): [string, PipelineWorkerStats] => [`shared ${w.id}`, w]),
  ].filter(([, w]) => w.objective?.met === false);
  for (const [name, w] of behind) {
    const o = w.objective!;
    lines.push(warn(`${name} behind its objective: ${o.reason ?? ''}${o.fix.length > 0 ? ` → ${o.fix.join(', ')}` : ''}`));
  }
  // Motion (ADR 0066): each camera that measures it, and what gating saved each gated worker.
  for (const c of cameras) {
    const m = c.motion;
    if (m == null) continue;
    const note = m.problem === null ? '' : warn(` — ${m.problem}`);
    lines.push(
      `${c.id} motion on ${m.stream}: ${m.state ?? 'no frame yet'}, ${percent(m.share)} of the picture, ${m.regions} region(s); active ${percent(m.activity)} of ${m.frames} frames, ${m.onsets} onset(s), ${m.msPerFrame.toFixed(2)} ms a frame${note}`,
    );
    for (const w of Object.values(c.workers)) {
      const g = w.gate;
      if (g == null) continue;
      const runs = Object.entries(g.runs).filter(([, n]) => n > 0);
      const latency =
        g.onsetLatencyMs.p50 === null ? '' : `, onset → detection p50 ${Math.round(g.onsetLatencyMs.p50)} ms, p99 ${Math.round(g.onsetLatencyMs.p99 ?? 0)} ms`;
      const rg = g.regions;
      const regions =
        rg == null
          ? ''
          : `; regions: ${rg.frames} frame(s) as crops (${rg.cropsPerFrame.toFixed(1)} a frame), ${rg.wholeCalls} whole (${rg.wholeFallbacks} fallback(s)), ${rg.modelCalls} model call(s)`;
      lines.push(
        `${c.id}/${w.id} gated by motion: ${runs.reduce((a, [, n]) => a + n, 0)} run(s) (${runs.map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}), ${g.still} still (${percent(g.savedShare)} saved)${latency}${regions}`,
      );
    }
  }
  if (models.length > 0) {
    lines.push(
      '',
      bold(
        `${pad('model server', 18)}${pad('state', 12)}${pad('handler', 9)}${'pid'.padStart(8)}${'restarts'.padStart(10)}${'ping ms'.padStart(9)}  last exit`,
      ),
    );
    for (const m of models) {
      const state = m.state === 'ready' ? pad(m.state, 12) : `${warn(pad(m.state, 11))} `;
      lines.push(
        `${pad(m.name, 18)}${state}${pad(m.handler ?? 'external', 9)}${String(m.pid ?? '-').padStart(8)}${String(m.restarts).padStart(10)}${num(m.lastPingMs).padStart(9)}  ${m.lastExit === null ? '' : m.lastExit.message.slice(0, 60)}`,
      );
    }
  }
  if (latest.size > 0) {
    lines.push('', bold('latest results'));
    for (const [key, l] of [...latest].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`${pad(key, 30)}${pad(`#${l.seq}`, 8)}${`${((now - l.at) / 1000).toFixed(1)} s ago`.padStart(11)}  ${l.summary}`);
    }
  }
  return lines.join('\n');
}

/** Plain lines for a log or a pipe: one per camera, model server and latest result. */
export function renderPlain(stats: SystemStats, latest: ReadonlyMap<string, Latest>): string {
  const t = `[${stats.uptimeS.toFixed(1)}s]`;
  const lines: string[] = [];
  for (const c of Object.values(stats.cameras)) {
    const workers = Object.values(c.workers).map((w) => `${w.id} ${w.enabled ? w.state : 'disabled'} ${w.fps.toFixed(1)} fps ${w.results} results`);
    const error = c.capture?.lastError != null && c.state !== 'streaming' ? ` (${c.capture.lastError.code})` : '';
    lines.push(`${t} camera ${c.id} ${c.state}${error} ${num(c.capture?.fps ?? null)} fps | ${workers.join(' | ')}`);
  }
  for (const s of Object.values(stats.shared))
    lines.push(`${t} shared ${s.id} ${s.state} ${s.fps.toFixed(1)} fps ${s.results} results from ${Object.keys(s.perCamera).join(', ')}`);
  for (const m of Object.values(stats.models)) lines.push(`${t} model ${m.name} ${m.state} pid ${m.pid ?? '-'} restarts ${m.restarts}`);
  for (const [key, l] of [...latest].sort(([a], [b]) => a.localeCompare(b))) lines.push(`${t} result ${key} #${l.seq}: ${l.summary}`);
  return lines.join('\n');
}

export class RunView implements AsyncDisposable {
  readonly #system: VisionSystem;
  readonly #o: RunViewOptions;
  readonly #latest = new Map<string, Latest>();
  readonly #onResult = (e: EventOf<'result'>): void => {
    this.#latest.set(`${e.camera}/${e.worker}`, { at: e.at, seq: e.seq, summary: summarize(e.output) });
  };
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(system: VisionSystem, options: RunViewOptions) {
    this.#system = system;
    this.#o = options;
  }

  /** Draws every interval from now. Idempotent; a closed view stays closed. */
  start(): this {
    if (this.#timer !== null || this.#closed) return this;
    this.#system.on('result', this.#onResult);
    if (this.#o.mode === 'tty') this.#o.out.write('\x1b[?25l\x1b[2J'); // hide the cursor, clear once
    this.#timer = setInterval(() => this.draw(), this.#o.intervalMs ?? (this.#o.mode === 'tty' ? 500 : 2_000));
    return this;
  }

  draw(): void {
    const stats = this.#system.stats();
    if (this.#o.mode === 'tty') {
      const text = renderView(stats, this.#latest, {
        colour: true,
        ...(this.#o.logNote === undefined ? {} : { logNote: this.#o.logNote }),
        ...(this.#o.dashboard === undefined ? {} : { dashboard: this.#o.dashboard }),
      });
      // Home, each line cleared to its end, then everything below: no flicker, no leftovers.
      this.#o.out.write(`\x1b[H${text.split('\n').join('\x1b[K\n')}\x1b[K\n\x1b[J`);
    } else {
      this.#o.out.write(`${renderPlain(stats, this.#latest)}\n`);
    }
  }

  /** Draws once more and stops. Idempotent and final; takes effect at once (the promise is for the lifecycle contract). */
  close(): Promise<void> {
    const running = this.#timer !== null;
    this.#closed = true;
    if (running) this.#end();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #end(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#system.off('result', this.#onResult);
    this.draw();
    if (this.#o.mode === 'tty') this.#o.out.write('\x1b[?25h'); // the cursor back
  }
}
