/**
 * The system's config, as a user asks about it (`system.config`; ADR 0062): the config as it runs now,
 * the same masked for showing, whether a camera entry from the network may run here (admission), an entry
 * resolved as a camera change would take it, a dry run of that change (the forecast, ADR 0042), and a
 * cluster node's options judged by the config's rules (ADR 0056).
 *
 * Contract: nothing here changes the system. Secrets never leave masked(): URL passwords, secret-named
 * keys, the values the file took from the environment and those cameras from the network took (their
 * entries' `secrets`) are masked there (current() is as it runs, for
 * a caller that writes it back). Bad entries are answered with ERR_CONFIG (every issue), or for admit()
 * a problem with where and what, never thrown.
 */
import {
  areasAsWritten,
  cameraMeasuresMotion,
  cameraStreamUses,
  checkRunnableCluster,
  envOf,
  escapeLiterals,
  MAIN_STREAM,
  redactExpanded,
  withAreas,
  type RunnableCluster,
} from '../../config/index.js';
import { maskConfig } from '../../internal/mask.js';
import { probeDecodeCost, probeFrameRate, probeKeyframeInterval } from '../../capture/index.js';
import { admitCamera, type CameraAdmission, type CameraAdmissionPolicy } from './admission.js';
import { type CameraConfig, type ResolvedConfig, PipelineError, freshnessObjective, ageBudgetMs } from '../base/index.js';
import {
  forecastCamera,
  learnedMsPerMegapixel,
  streamsForecast,
  type CameraChange,
  type Forecast,
  type StreamCost,
  type StreamsForecast,
} from '../watches/index.js';
import { SystemPart } from './system-part.js';
import { resolveCamera } from './system-build.js';
import { rawStats, type SystemStats } from './system-stats.js';

export interface MaskOptions {
  /** More values to mask, beyond those the config file took from the environment. */
  readonly secrets?: readonly string[];
  /**
   * Strings as the config file writes them: a literal `${` (`$${` in the file) shown as `$${`, so an entry read
   * and written back (the HTTP API) is not taken for a reference. Default false: the values as they run.
   */
  readonly asWritten?: boolean;
}

export class SystemConfig extends SystemPart {
  /**
   * The configuration as it is now: the one the system started with, its cameras as added, replaced and
   * removed since, and their areas as set live (resolved; secrets as they are: mask before showing). So a
   * client that reads a camera and writes it back keeps what the editor drew.
   */
  current(): ResolvedConfig {
    const cameras: Record<string, CameraConfig> = {};
    for (const id of this.core.cameras.keys()) cameras[id] = this.core.cameraConfig(id)!;
    return { ...this.core.config, cameras };
  }

  /**
   * The configuration as current() has it, with every secret masked: URL passwords, secret-named keys, and
   * the values the config file took from the environment, those cameras added or replaced from the network took
   * (their `secrets`), and `secrets`, any more to mask. What an API or
   * a log may show.
   */
  masked(options: MaskOptions = {}): ResolvedConfig {
    const masked = maskConfig(this.current(), { secrets: this.#secrets(options.secrets) });
    return options.asWritten === true ? escapeLiterals(masked) : masked;
  }

  /** One camera's config as it runs now, masked as masked() masks it; undefined for a camera the system does not have. */
  maskedCamera(camera: string, options: MaskOptions = {}): CameraConfig | undefined {
    const config = this.core.cameraConfig(camera);
    if (config === undefined) return undefined;
    const masked = maskConfig(config, { secrets: this.#secrets(options.secrets) });
    return options.asWritten === true ? escapeLiterals(masked) : masked;
  }

  #secrets(more: readonly string[] = []): string[] {
    return [...envOf(this.core.config).values, ...this.core.cameraSecretValues(), ...more];
  }

  /**
   * Whether a camera entry from the network (an API body, a cluster's desired state) may run here under
   * `policy` (no programs without allowExec; only allowed `${NAME}`s), and the entry to hand to
   * cameras.add/replace (its references expanded when `policy.env` is given). Never throws for a bad
   * entry: the problem says what and where, the caller gives it its code.
   */
  admit(entry: unknown, policy: CameraAdmissionPolicy): CameraAdmission {
    return admitCamera(entry, policy);
  }

  /**
   * A camera entry as cameras.add/replace would take it: validated by the config's schema and resolved with
   * the file's defaults and models (ERR_CONFIG, every issue); nothing is added. For a caller that refuses a
   * bad entry before passing it on (a cluster, to the node that will run it).
   */
  resolveCamera(id: string, entry: unknown): CameraConfig {
    return resolveCamera(this.core, id, entry);
  }

  /**
   * `value` in the config file's syntax: every literal `${` written `$${`, so a running entry shown and written back
   * (the HTTP API, a cluster's set-areas) is not taken for a reference. Nothing is changed.
   */
  asWritten<T>(value: T): T {
    return escapeLiterals(value);
  }

  /**
   * Areas (zones, masks, lines) as the file writes them, checked and with `$${` read back as a literal `${`: a
   * `${NAME}` reference is refused (ERR_CONFIG), since whoever expanded it would answer or log its value.
   */
  areasAsWritten(camera: string, areas: unknown): unknown {
    return areasAsWritten(camera, areas);
  }

  /**
   * A camera entry with its areas replaced by `areas` (absent kinds: none), as set-areas writes it; ERR_CONFIG
   * when `areas` is not a map of zones, masks and lines. Nothing is changed.
   */
  entryWithAreas(camera: string, entry: Readonly<Record<string, unknown>>, areas: unknown): Record<string, unknown> {
    return withAreas(camera, entry, areas);
  }

  /**
   * An error about camera `camera`'s entry as it may be answered or logged: no value that `written`'s `${NAME}`s
   * were filled with, nor any of `secrets`, left in its message or issues.
   */
  redactEntryError(error: unknown, camera: string, written: unknown, secrets: readonly string[]): unknown {
    return redactExpanded(error, camera, written, secrets);
  }

  /**
   * A cluster node's options as it would run them (its defaults applied), judged by the config's rules for a
   * `cluster:` section (ERR_CONFIG, every issue, paths under `cluster`): what a node asks before it uses options
   * a program may have handed it without a file (ADR 0056). Nothing is changed.
   */
  checkCluster(cluster: RunnableCluster): void {
    checkRunnableCluster(cluster);
  }

  /**
   * A dry run of cameras.add/replace (ADR 0042): what each model the camera's workers use would then give
   * each camera, and which workers would miss their objectives, from the capacities and demands measured
   * now. Nothing is changed. The entry is checked as cameras.add checks it (ERR_CONFIG). The camera's frame
   * rate is its measured one (replaced), its `capture.output.fps`, ffprobe's answer, or else the mean of
   * the running cameras' (said in the answer). `replace`: the camera must exist (ERR_UNKNOWN_CAMERA), else
   * must not (ERR_DUPLICATE_CAMERA), as for the real change. `activity`: the share of the time something
   * moves in front of it (0–1, default 0.125), for its motion-gated workers (ADR 0066). A camera that would
   * decode keyframes only is forecast the age that adds and the frames it saves (`decode`, and each worker's
   * `addedAgeMs` and `lateShare` against its age budget: ADR 0070), its keyframe interval measured or probed. A
   * camera of several streams says what each would cost to decode, for whom, and the cheaper choice (`streams`,
   * ADR 0114): its own decoders' figures when it runs, else this machine's per megapixel, else a few frames decoded.
   */
  async forecast(id: string, entry: unknown, options: { readonly replace: boolean; readonly activity?: number }): Promise<Forecast> {
    if (options.replace) this.core.camera(id);
    else if (this.core.cameras.has(id)) throw new PipelineError('ERR_DUPLICATE_CAMERA', `camera ${JSON.stringify(id)} exists: replace it instead`);
    const config = this.resolveCamera(id, entry);
    const stats = rawStats(this.core);
    const configured = config.capture.output?.fps;
    const measured = stats.cameras[id]?.capture?.fps;
    let fps: number;
    let fpsFrom: CameraChange['fpsFrom'];
    const probed = measured !== undefined && measured > 0 ? null : await probeFrameRate(config.source, { timeoutMs: 5_000 });
    if (measured !== undefined && measured > 0) [fps, fpsFrom] = [Math.min(measured, configured ?? Infinity), 'measured'];
    else if (probed !== null)
      [fps, fpsFrom] = [Math.min(probed, configured ?? Infinity), configured !== undefined && configured < probed ? 'configured' : 'probed'];
    else if (configured !== undefined) [fps, fpsFrom] = [configured, 'configured'];
    else {
      const rates = Object.values(stats.cameras)
        .map((c) => c.capture?.fps ?? 0)
        .filter((r) => r > 0);
      [fps, fpsFrom] = [rates.length === 0 ? 10 : rates.reduce((a, b) => a + b, 0) / rates.length, 'assumed'];
    }
    const workers = config.workers
      .filter((w) => w.enabled)
      .map((w) => {
        const model = 'model' in w && typeof w.model === 'string' ? w.model : null;
        const modelConfig = model === null ? undefined : this.core.config.models[model];
        const budget = ageBudgetMs(w, model === null ? null : { maxAgeMs: modelConfig?.maxAgeMs ?? null });
        const objective = freshnessObjective(w.criticality, budget, w.objective?.maxSkipRatio);
        return { id: w.id, model, maxFps: w.maxFps ?? null, objective, gated: 'gate' in w && w.gate !== undefined && cameraMeasuresMotion(config) };
      });
    // A motion-gated worker asks its rate only while something moves (ADR 0066): `activity` of the time.
    const activity = options.activity === undefined ? {} : { activity: options.activity };
    // Keyframes only trades age for CPU (ADR 0070): by how much follows from the keyframe interval, measured or probed.
    const setting = config.capture.keyframesOnly === true ? 'keyframes' : (config.capture.decode ?? 'auto');
    let keyframeIntervalMs: number | null = null;
    let keyframeIntervalFrom: 'measured' | 'probed' | null = null;
    if (setting === 'keyframes') {
      const measuredKey = stats.cameras[id]?.capture?.decode?.keyframeIntervalMs ?? null;
      const probedKey = measuredKey === null ? await probeKeyframeInterval(config.source, { timeoutMs: 8_000 }) : null;
      keyframeIntervalMs = measuredKey ?? probedKey;
      keyframeIntervalFrom = measuredKey !== null ? 'measured' : probedKey !== null ? 'probed' : null;
    }
    const decode = { setting, keyframeIntervalMs, keyframeIntervalFrom } as const;
    const streams = await this.#streamsForecast(id, config, stats, fps);
    return forecastCamera(stats, { camera: id, fps, fpsFrom, workers, decode, streams, ...activity }, (camera, worker) => this.core.profileOf(camera, worker));
  }

  /** A camera of several streams: each stream's decoding cost, measured, learned or probed, on the uses its config gives (ADR 0114). */
  async #streamsForecast(id: string, config: CameraConfig, stats: SystemStats, fps: number): Promise<StreamsForecast | null> {
    const uses = cameraStreamUses(id, config, this.core.config);
    if (uses === null) return null;
    const running = stats.cameras[id]?.streams ?? null;
    const learned = learnedMsPerMegapixel(Object.values(stats.cameras).flatMap((c) => (c.streams === null ? [c.capture] : Object.values(c.streams))));
    const costs = new Map<string, StreamCost>();
    await Promise.all(
      uses.streams.map(async (s) => {
        const own = running?.[s.stream] ?? null;
        const ms = own?.costs.cpuMsPerDecodedFrame ?? null;
        if (own !== null && ms !== null) return costs.set(s.stream, { msPerFrame: ms, from: 'measured', width: own.width, height: own.height });
        if (learned !== null && s.width !== null && s.height !== null)
          return costs.set(s.stream, { msPerFrame: (learned * s.width * s.height) / 1e6, from: 'learned', width: s.width, height: s.height });
        const entry = config.streams?.[s.stream];
        const url = s.stream === MAIN_STREAM ? config.source : typeof entry === 'string' ? entry : (entry?.source ?? config.source);
        const probed = await probeDecodeCost(url, { timeoutMs: 10_000 });
        return costs.set(s.stream, probed === null ? { msPerFrame: null, from: null, width: null, height: null } : { ...probed, from: 'probed' });
      }),
    );
    return streamsForecast(uses, costs, fps);
  }
}
