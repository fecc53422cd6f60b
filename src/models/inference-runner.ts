/**
 * The model server's inference side, apart from its sockets: inference
 * requests go to the fair camera scheduler (scheduler.ts: one waiting slot per
 * camera, a newer request supersedes the waiting one, free capacity serves
 * an `urgent` one first, else the camera whose last run is oldest; a request
 * refused when taken is no run), and a request's turn runs it: the frame is picked
 * and read then, not when the request came (`frame_select: "newest"` takes
 * the store's newest frame at that moment; one older than the request's
 * `max_age_ms` is answered ERR_FRAME_STALE without inference), the handler
 * runs under handlerTimeoutMs (inference only: from its call, whatever it
 * does in this thread or another; past it the answer is ERR_TIMEOUT and a
 * late result is dropped, however late it comes), and the frame is released
 * when the handler settles. Every request gets exactly one answer, and
 * nothing here rejects: failures are answers with a stable code. Per-camera
 * figures (served, of them urgent, superseded, stale, wait and inference p50/p99 over recent
 * requests) for stats and pongs, bounded to the most recently seen cameras.
 *
 * Batches (a handler with maxBatch > 1, ADR 0127): a free model thread takes
 * every waiting request up to maxBatch (urgent first, then the turn order;
 * never waiting for more), picks and checks each one's frame as above (a frame
 * refused there is answered alone, the others go on), and makes one
 * inferBatch() call, under handlerTimeoutMs, on the frames left. Each request
 * is answered with its own result, its own frame_id, wait_ms and frame_age_ms,
 * the batch's inference_time_ms, batch_size and batch_oldest_frame_age_ms (the
 * age of its oldest frame when it was taken; per frame: 1 and the frame's). An Error for one frame, or
 * a result that does not fit the response schema, refuses that frame alone;
 * a throw, a timeout or a list of the wrong length refuses the batch, every
 * request with the error. The batches' sizes and oldest frames are counted
 * (batch-tally.ts).
 */
import { performance } from 'node:perf_hooks';
import { IpcError, parseResponse, type InferenceRequest, type InferenceResponse, type PongCameraStats } from '../ipc/index.js';
import { abortable } from '../internal/abort.js';
import { RecentMap } from '../internal/recent-map.js';
import type { FrameLease, FrameReader } from '../shm/index.js';
import type { ClientLink } from './connection-server.js';
import type { BatchItem, InferenceHandler, InferenceResult } from './handler.js';
import { CameraScheduler, type TakenJob } from './scheduler.js';
import { BatchTally, type BatchServerStats } from './batch-tally.js';
import { CameraServerTally, errorResponse, MAX_CAMERA_TALLIES, timeoutError, type CameraServerStats } from './runner-answers.js';

export { errorResponse, MAX_CAMERA_TALLIES, type CameraServerStats } from './runner-answers.js';

/** An inference request between being read and being answered. */
interface Job {
  readonly request: InferenceRequest;
  readonly link: ClientLink;
  /** performance.now() when it was read. */
  readonly readAt: number;
  readonly answer: (response: InferenceResponse) => void;
}

/** A taken request whose frame is picked and read, ready for the handler. */
interface Prepared {
  readonly job: Job;
  readonly tally: CameraServerTally;
  readonly frame: FrameLease;
  readonly frameId: number;
  /** The request as the handler gets it: naming the frame picked. */
  readonly used: InferenceRequest;
  /** performance.now() when a model thread took it. */
  readonly takenAt: number;
  /** Its frame's age when taken, ms (null: not known). */
  readonly ageMs: number | null;
}

export interface InferenceRunnerOptions {
  readonly handler: InferenceHandler;
  readonly modelId: string;
  readonly frames: FrameReader;
  readonly concurrency: number;
  /** Frames a model thread takes at once (the handler's maxBatch; 1: per frame). */
  readonly maxBatch: number;
  readonly handlerTimeoutMs: number;
  /** An error answered: counted by the owner. */
  readonly count: (code: string) => void;
}

export class InferenceRunner {
  readonly #o: InferenceRunnerOptions;
  readonly #scheduler: CameraScheduler<Job>;
  readonly #cameras = new RecentMap<string, CameraServerTally>(MAX_CAMERA_TALLIES);
  readonly #batches = new BatchTally();

  constructor(options: InferenceRunnerOptions) {
    this.#o = options;
    this.#scheduler = new CameraScheduler<Job>(
      options.concurrency,
      {
        start: (job, camera, urgent) => this.#take(job, camera, urgent),
        startBatch: (batch) => this.#takeBatch(batch),
        supersede: (job, camera) => {
          this.#tally(camera).superseded++;
          job.answer(
            this.fail(
              new IpcError('ERR_SUPERSEDED', `a newer request from camera ${JSON.stringify(camera)} replaced this one before a model thread took it`),
              job.request,
            ),
          );
        },
      },
      options.maxBatch,
    );
  }

  /** Frames a model thread takes at once: 1, per frame. */
  get maxBatch(): number {
    return this.#scheduler.maxBatch;
  }

  /** The batches' figures (a batched handler's; counts stay 0 per frame). */
  batchStats(): BatchServerStats {
    return this.#batches.snapshot();
  }

  get capacity(): number {
    return this.#scheduler.capacity;
  }

  get running(): number {
    return this.#scheduler.running;
  }

  get waiting(): number {
    return this.#scheduler.waiting;
  }

  /** The answer to an inference request, once its camera's turn has come and it ran (or why not). Never rejects. */
  offer(request: InferenceRequest, link: ClientLink): Promise<InferenceResponse> {
    this.#tally(request.camera_id);
    const readAt = performance.now();
    return new Promise<InferenceResponse>((answer) => this.#scheduler.offer(request.camera_id, { request, link, readAt, answer }, request.urgent === true));
  }

  /** An error answer, counted. */
  fail(error: IpcError, request: unknown, usedFrameId?: number): InferenceResponse {
    this.#o.count(error.code);
    return errorResponse(this.#o.modelId, error, request, usedFrameId);
  }

  cameraStats(): Record<string, CameraServerStats> {
    const cameras: Record<string, CameraServerStats> = {};
    for (const [camera, tally] of this.#cameras) cameras[camera] = tally.snapshot();
    return cameras;
  }

  /** The per-camera figures as a pong carries them. */
  pongCameras(): Record<string, PongCameraStats> {
    const cameras: Record<string, PongCameraStats> = {};
    for (const [camera, f] of Object.entries(this.cameraStats())) {
      cameras[camera] = {
        served: f.served,
        urgent: f.urgent,
        superseded: f.superseded,
        stale: f.stale,
        wait_ms_p50: f.waitMsP50,
        wait_ms_p99: f.waitMsP99,
        inference_ms_p50: f.inferenceMsP50,
        inference_ms_p99: f.inferenceMsP99,
      };
    }
    return cameras;
  }

  /** A job's turn (the scheduler's start): run it, then free its capacity. */
  #take(job: Job, camera: string, urgent: boolean): void {
    // Its client went away while it waited: nobody would read the answer.
    if (job.link.gone()) {
      job.answer(errorResponse(this.#o.modelId, new IpcError('ERR_CONNECTION_LOST', 'the client went away'), job.request));
      queueMicrotask(() => this.#scheduler.done());
      return;
    }
    void this.#run(job, camera, urgent).then((response) => {
      job.answer(response);
      this.#scheduler.done();
    });
  }

  /**
   * A taken request's frame, picked now (not when the request came), its age checked, and read: or the answer
   * that refuses it. Never throws.
   */
  #prepare(job: Job, camera: string, urgent: boolean): Prepared | InferenceResponse {
    const { request } = job;
    const tally = this.#tally(camera);
    const takenAt = performance.now();
    tally.wait.record(takenAt - job.readAt);
    let frame: FrameLease;
    let frameId: number;
    let ageMs: number | null;
    try {
      const picked = this.#pickFrame(request);
      frameId = picked.frameId;
      ageMs = picked.ageMs;
      if (picked.ageMs !== null && request.max_age_ms !== undefined && picked.ageMs > request.max_age_ms) {
        tally.stale++;
        return this.fail(
          new IpcError(
            'ERR_FRAME_STALE',
            `frame ${frameId} was ${Math.round(picked.ageMs)} ms old when taken, over the request's max_age_ms ${request.max_age_ms}`,
          ),
          request,
          frameId,
        );
      }
      // The one place the server reads frame data: a view over the mapped store, or a copy where it cannot be mapped.
      frame = this.#o.frames.acquire(request.frame_reference, { ...request.frame_metadata, frame_id: frameId });
    } catch (error) {
      return this.fail(error instanceof IpcError ? error : new IpcError('ERR_FRAME_NOT_FOUND', String(error)), request);
    }
    tally.served++;
    if (urgent) tally.urgent++;
    // A run: its camera goes behind the cameras run less recently (a refusal above leaves it ahead, ADR 0172).
    this.#scheduler.ran(camera);
    const used = frameId === request.frame_metadata.frame_id ? request : { ...request, frame_metadata: { ...request.frame_metadata, frame_id: frameId } };
    return { job, tally, frame, frameId, used, takenAt, ageMs };
  }

  /** The answer with a result: the request's own frame, wait and age, the call's time (and the batch's size). */
  #answer(p: Prepared, result: InferenceResult, inferenceMs: number, batch: { size: number; oldestAgeMs: number | null }): InferenceResponse {
    const { request } = p.job;
    const frame = p.frame;
    return {
      ...(request.request_id === undefined ? {} : { request_id: request.request_id }),
      model_id: this.#o.modelId,
      camera_id: request.camera_id,
      frame_id: p.frameId,
      detections: result.detections,
      metadata: {
        ...result.metadata,
        inference_time_ms: inferenceMs,
        wait_ms: p.takenAt - p.job.readAt,
        // The call that made it (docs/protocol.md, "Batches"): a client learns what its model's calls cost from these.
        batch_size: batch.size,
        ...(batch.oldestAgeMs === null ? {} : { batch_oldest_frame_age_ms: batch.oldestAgeMs }),
        ...(Number.isFinite(frame.wallTimeMs) && frame.wallTimeMs > 0 ? { frame_age_ms: Math.max(0, Date.now() - frame.wallTimeMs) } : {}),
      },
      error: null,
    };
  }

  /** A handler's failure as the answer: an IpcError with its code, anything else ERR_HANDLER_FAILED. */
  #failure(error: unknown, request: InferenceRequest): InferenceResponse {
    if (error instanceof IpcError) return this.fail(error, request);
    return this.fail(new IpcError('ERR_HANDLER_FAILED', `the ${this.#o.handler.name} handler failed: ${(error as Error)?.message ?? String(error)}`), request);
  }

  /** Picks the frame, checks its age, reads it and runs the handler. Never rejects. */
  async #run(job: Job, camera: string, urgent: boolean): Promise<InferenceResponse> {
    const prepared = this.#prepare(job, camera, urgent);
    if (!('frame' in prepared)) return prepared;
    const { frame, used, tally } = prepared;
    const controller = new AbortController();
    const started = performance.now();
    const inference = this.#o.handler.infer(frame, used, controller.signal);
    // Released when the handler is really done (even after a timeout answered for it), unless it
    // released the frame itself sooner: the seqlock is checked then, and a torn frame fails the answer.
    const released = inference.then(
      () => frame.release(),
      () => frame.release(),
    );
    released.catch(() => undefined); // a timeout's answer does not wait for it
    const timer = this.#timeout(controller, started);
    try {
      const result = await abortable(inference, controller.signal);
      const inferenceMs = performance.now() - started;
      // A handler that held this thread (synchronous work: no timer fires meanwhile) past the bound settles
      // before its timer could: the bound is the bound, so its late result is dropped all the same.
      if (inferenceMs > this.#o.handlerTimeoutMs) throw timeoutError(this.#o.handlerTimeoutMs, inferenceMs);
      tally.inference.record(inferenceMs);
      await released;
      return this.#answer(prepared, result, inferenceMs, { size: 1, oldestAgeMs: prepared.ageMs });
    } catch (error) {
      tally.inference.record(performance.now() - started);
      return this.#failure(error, used);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The handler is told (its signal aborts) and the request answered ERR_TIMEOUT at the same moment. Set after the
   * call returned: what the handler did synchronously already counts against the bound.
   */
  #timeout(controller: AbortController, started: number): NodeJS.Timeout {
    return setTimeout(
      () => controller.abort(timeoutError(this.#o.handlerTimeoutMs, null)),
      Math.max(0, this.#o.handlerTimeoutMs - (performance.now() - started)),
    );
  }

  /** A batch's turn (the scheduler's startBatch): run it, answer each request, then free its capacity. */
  #takeBatch(batch: readonly TakenJob<Job>[]): void {
    const live: TakenJob<Job>[] = [];
    for (const taken of batch) {
      // Its client went away while it waited: nobody would read the answer, and it takes no place in the batch.
      if (taken.job.link.gone())
        taken.job.answer(errorResponse(this.#o.modelId, new IpcError('ERR_CONNECTION_LOST', 'the client went away'), taken.job.request));
      else live.push(taken);
    }
    void this.#runBatch(live).then(() => this.#scheduler.done());
  }

  /** Each request's frame picked and read (the refused answered at once), then one call on the frames left. Never rejects. */
  async #runBatch(batch: readonly TakenJob<Job>[]): Promise<void> {
    const ready: Prepared[] = [];
    for (const { job, key, urgent } of batch) {
      const prepared = this.#prepare(job, key, urgent);
      if ('frame' in prepared) ready.push(prepared);
      else job.answer(prepared);
    }
    if (ready.length === 0) return;
    const items: BatchItem[] = ready.map((p) => ({ frame: p.frame, request: p.used }));
    const controller = new AbortController();
    const started = performance.now();
    const inference = this.#o.handler.inferBatch!(items, controller.signal);
    // Every lease ends when the handler is really done (even after a timeout answered for the batch); a torn frame's
    // error is read again below, from its idempotent release(), for its own answer.
    const releaseAll = (): void => {
      for (const p of ready) {
        try {
          p.frame.release();
        } catch {
          // its answer says so
        }
      }
    };
    const released = inference.then(releaseAll, releaseAll);
    const timer = this.#timeout(controller, started);
    const call = {
      size: ready.length,
      oldestAgeMs: ready.reduce<number | null>((oldest, p) => (p.ageMs === null ? oldest : Math.max(oldest ?? 0, p.ageMs)), null),
    };
    this.#batches.record(call.size, call.oldestAgeMs);
    try {
      const outcomes = await abortable(inference, controller.signal);
      const inferenceMs = performance.now() - started;
      if (inferenceMs > this.#o.handlerTimeoutMs) throw timeoutError(this.#o.handlerTimeoutMs, inferenceMs);
      if (!Array.isArray(outcomes) || outcomes.length !== ready.length)
        throw new Error(`it answered ${Array.isArray(outcomes) ? outcomes.length : typeof outcomes} results for a batch of ${ready.length} frames`);
      await released;
      ready.forEach((p, i) => {
        p.tally.inference.record(inferenceMs);
        // Each frame's seqlock, checked as its lease ended: a torn frame fails its own answer, not the batch's.
        try {
          p.frame.release();
        } catch (error) {
          return p.job.answer(this.#failure(error, p.used));
        }
        p.job.answer(this.#batchAnswer(p, outcomes[i], inferenceMs, call));
      });
    } catch (error) {
      const ms = performance.now() - started;
      for (const p of ready) {
        p.tally.inference.record(ms);
        p.job.answer(this.#failure(error, p.used));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** One frame's outcome of a batch as its answer: an Error, or a result that does not fit the response, refuses it alone. */
  #batchAnswer(p: Prepared, outcome: unknown, inferenceMs: number, batch: { size: number; oldestAgeMs: number | null }): InferenceResponse {
    if (outcome instanceof Error) return this.#failure(outcome, p.used);
    const result = outcome as InferenceResult | null | undefined;
    if (result === null || typeof result !== 'object' || !Array.isArray(result.detections))
      return this.#failure(new Error(`its result for frame ${p.frameId} has no detections list`), p.used);
    const answer = this.#answer(p, result, inferenceMs, batch);
    try {
      parseResponse(answer);
    } catch (error) {
      return this.#failure(new Error(`its result for frame ${p.frameId} does not fit the response: ${(error as Error).message}`), p.used);
    }
    return answer;
  }

  /**
   * Which frame a taken request gets, from the store's slot headers alone: the
   * one it names, or with frame_select "newest" the newest complete one of the
   * request's size and format (not older than the one it names; frames of
   * another size written since, a camera's worker moved to its other stream,
   * are not newer versions of it), and how old it is now (null if unknown).
   * Without such a frame the one named is read, and acquire() answers as for
   * "exact": overwritten (frames were written over it), not found, or
   * ERR_SCHEMA (it is there, of another size: the client's metadata is wrong).
   */
  #pickFrame(request: InferenceRequest): { frameId: number; ageMs: number | null } {
    const wanted = request.frame_metadata.frame_id;
    const newest = request.frame_select === 'newest' ? this.#o.frames.peek(request.frame_reference, 'newest', request.frame_metadata) : null;
    if (newest !== null && newest.frameId >= wanted) return { frameId: newest.frameId, ageMs: Date.now() - newest.wallTimeMs };
    const slot = this.#o.frames.peek(request.frame_reference, wanted);
    // Not readable as named: acquire() gives the precise error (overwritten, not found, corrupt).
    return { frameId: wanted, ageMs: slot === null ? null : Date.now() - slot.wallTimeMs };
  }

  /** A camera's figures, made the most recently seen; the least recently seen beyond MAX_CAMERA_TALLIES are forgotten. */
  #tally(camera: string): CameraServerTally {
    let tally = this.#cameras.use(camera);
    if (tally === undefined) this.#cameras.set(camera, (tally = new CameraServerTally()));
    return tally;
  }
}
