/**
 * The model boundary's accounting invariant (ADR 0040), property-based: every
 * frame a model worker reads is taken or skipped exactly once, in flight
 * until then. First the ledger under random arrivals and answers as a model
 * client meets them (the server taking a newer frame than the one named,
 * superseded, stale, error answers, the server going away, an incarnation
 * ending); then the real model-client worker against a real model server on
 * a real socket and shared memory, under random arrival and service
 * patterns, two workers of one camera and one of another on one model thread (so
 * superseded happens).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { delay } from '../../src/internal/abort.js';
import { ModelServer } from '../../src/models/index.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { ModelAccount, ModelLedger, modelClientWorker, WorkerSupervisor, type LedgerFrame, type WorkerResult } from '../../src/workers/index.js';
import { workspace } from '../models/fixtures.js';

const ws = workspace();
after(() => ws.cleanup());

type Step =
  | { readonly type: 'arrive'; readonly frames: number }
  | { readonly type: 'answer'; readonly outcome: 'result' | 'superseded' | 'stale' | 'error'; readonly newer: number }
  | { readonly type: 'gone' }
  | { readonly type: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('arrive' as const), frames: fc.integer({ min: 1, max: 4 }) }), weight: 4 },
  {
    arbitrary: fc.record({
      type: fc.constant('answer' as const),
      outcome: fc.constantFrom('result' as const, 'result' as const, 'superseded' as const, 'stale' as const, 'error' as const),
      newer: fc.nat({ max: 5 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.constant({ type: 'gone' as const }), weight: 1 },
  { arbitrary: fc.constant({ type: 'restart' as const }), weight: 1 },
);

const frame = (streamId: string, seq: number): LedgerFrame => ({ streamId, seq, captureTime: performance.now(), wallTime: Date.now() });

describe('taken + skipped + in flight = read, for model workers', { timeout: 240_000 }, () => {
  it('the ledger, driven as the model client drives it, under random arrivals and answers', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.constantFrom('a', 'b'), (steps, streamId) => {
        const account = new ModelAccount();
        let ledger = new ModelLedger(account);
        let seq = 0;
        let read = 0;
        let results = 0;
        /** The frame named in the request waiting, the newest frame written, and the newest answered. */
        let named: number | null = null;
        let latest: number | null = null;
        let answeredUpTo = 0;
        for (const s of steps) {
          if (s.type === 'arrive') {
            for (let i = 0; i < s.frames; i++) {
              ledger.read(frame(streamId, ++seq));
              read++;
              latest = seq;
            }
          } else if (s.type === 'answer' && named !== null) {
            // The server answers about the frame named or a newer one written meanwhile (the newest at take time).
            const about = Math.min(named + s.newer, latest!);
            if (s.outcome === 'result') {
              assert.ok(ledger.took(frame(streamId, about)), 'an answer settles the frame named, at least');
              results++;
            } else ledger.skip(frame(streamId, s.outcome === 'error' ? named : about), s.outcome);
            answeredUpTo = Math.max(answeredUpTo, s.outcome === 'error' ? named : about);
            named = null;
          } else if (s.type === 'gone') {
            ledger.drain();
            named = null;
            latest = null;
          } else if (s.type === 'restart') {
            ledger.drain();
            ledger = new ModelLedger(account);
            named = null;
            latest = null;
          }
          // The next request names the newest frame written, once the one before is answered.
          if (named === null && latest !== null && latest > answeredUpTo) named = latest;
          const f = account.stats();
          assert.equal(f.taken + f.skipped + f.inFlight, read, JSON.stringify(f));
          assert.equal(f.inFlight, ledger.inFlight);
          assert.ok(f.inFlight >= 0);
          assert.equal(
            f.skipped,
            Object.values(f.skips).reduce((a, b) => a + b, 0),
          );
        }
        ledger.drain();
        const f = account.stats();
        assert.deepEqual([f.taken + f.skipped, f.inFlight, f.taken], [read, 0, results], 'once drained, every frame read is taken or skipped; taken = results');
        // A late answer to a drained ledger counts nothing twice.
        assert.equal(ledger.took(frame(streamId, seq)), false);
        assert.equal(account.stats().taken, results);
      }),
      { numRuns: 500 },
    );
  });

  it('the real model-client workers and model server, under random arrival and service patterns', async () => {
    let run = 0;
    /** Skips by reason over every run: the patterns must reach the cases, not only the happy one. */
    const seen: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 15, maxLength: 40 }),
        fc.array(fc.record({ ms: fc.integer({ min: 0, max: 25 }), fails: fc.integer({ min: 0, max: 9 }).map((n) => n < 2) }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom(undefined, 40),
        async (gaps, services, maxAgeMs) => {
          run++;
          const socketPath = join(ws.dir, `p${run}.sock`);
          let call = 0;
          const server = await new ModelServer({
            socketPath,
            shmDir: ws.shmDir,
            handler: {
              name: 'random',
              modelId: 'random',
              async infer() {
                const service = services[call++ % services.length]!;
                await delay(service.ms);
                if (service.fails) throw new Error('the model failed on this frame');
                return { detections: [] };
              },
            },
          }).start();
          const supplier = new FrameSupplier({ streamId: `cam${run}` }).start();
          // A second camera on the same model thread: while its frame runs, the first camera's two requests wait, and the newer supersedes the older.
          const other = new FrameSupplier({ streamId: `other${run}` }).start();
          const supervisor = new WorkerSupervisor({ supplier });
          const results = new Map<string, { ok: number; errors: number }>();
          supervisor.on('result', (r: WorkerResult) => {
            const counts = results.get(r.workerId) ?? { ok: 0, errors: 0 };
            if ((r.output as { error?: unknown }).error === undefined) counts.ok++;
            else counts.errors++;
            results.set(r.workerId, counts);
          });
          try {
            // Two workers of one camera on one model: one waits while the other's request runs, and is superseded.
            const kind = () => modelClientWorker({ socketPath, modelId: 'random', shmDir: ws.shmDir, ...(maxAgeMs === undefined ? {} : { maxAgeMs }) });
            for (const id of ['w1', 'w2']) supervisor.add({ id, kind: kind() });
            supervisor.add({ id: 'w3', kind: kind(), source: (id, options) => other.subscribe(id, options) });
            const subscribed = Promise.all(
              ['w1', 'w2', 'w3'].map(
                (id) =>
                  new Promise<void>((resolve) => {
                    const onState = (e: { workerId: string; to: string }): void => {
                      if (e.workerId !== id || e.to !== 'running') return;
                      supervisor.off('state', onState);
                      resolve();
                    };
                    supervisor.on('state', onState);
                  }),
              ),
            );
            supervisor.start();
            await subscribed;
            for (const gap of gaps) {
              for (const camera of [supplier, other])
                camera.publish({ payload: new Uint8Array(32 * 24 * 3).fill(gap), width: 32, height: 24, format: 'rgb24' });
              await delay(gap); // the arrival pattern itself
            }
            // The stream ends: each worker finishes what it holds and stops by itself.
            await Promise.all([supplier.close(), other.close()]);
            await supervisor.close({ graceMs: 30_000 });
            for (const s of supervisor.stats()) {
              const f = s.modelFrames!;
              const counts = results.get(s.workerId) ?? { ok: 0, errors: 0 };
              assert.equal(s.state, 'stopped', `${s.workerId} ended by itself: ${JSON.stringify(s.lastExit)}`);
              assert.equal(f.inFlight, 0, `${s.workerId}: nothing left in flight`);
              assert.equal(f.taken + f.skipped, s.totals.delivered, `${s.workerId}: ${JSON.stringify(f)} vs delivered ${s.totals.delivered}`);
              assert.equal(f.taken, counts.ok, `${s.workerId}: a frame taken per result`);
              assert.equal(f.skips.error, counts.errors, `${s.workerId}: an error answer per error result`);
              for (const [reason, n] of Object.entries(f.skips)) seen[reason] = (seen[reason] ?? 0) + n;
            }
          } finally {
            await supervisor.close();
            await Promise.all([supplier.close(), other.close()]);
            await server.close();
          }
        },
      ),
      { numRuns: 16 },
    );
    for (const reason of ['overwritten', 'superseded', 'error']) assert.ok((seen[reason] ?? 0) > 0, `no ${reason} skip in any run: ${JSON.stringify(seen)}`);
  });
});
