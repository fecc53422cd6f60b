/**
 * A private camera's people are known only from a whole-frame person result on the picture's frame or a newer one
 * (ADR 0165): CameraPrivacy, on results as the system hands them.
 *
 * - A result on an older frame does not cover a newer picture (someone may have walked in since): people() is
 *   null, and the pictures folder hides the private areas whole.
 * - A gated worker's run on crops around motion (`regions`), a cascade's, an error answer, and a detector that
 *   has never reported a person (a custom-class model) never say "nobody there"; a person handler's model does
 *   from its first result.
 * - covered() resolves when the covering result comes, or at once when none can come in time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { CameraConfig, ResultEvent, WorkerProfile } from '../../src/pipeline/index.js';
import { CameraPrivacy } from '../../src/pipeline/watches/camera-privacy.js';
import { hidingPlan } from '../../src/pictures/index.js';

const camera = { source: 'lavfi:x', privacy: { whole: true } } as unknown as CameraConfig;

function profile(id: string, extra: Partial<WorkerProfile> = {}): WorkerProfile {
  return {
    camera: 'room',
    id,
    shared: false,
    cameras: ['room'],
    kind: 'model',
    model: 'm',
    ageBudgetMs: null,
    tracksObjects: false,
    track: null,
    recheckSeconds: null,
    readSize: null,
    care: null,
    objective: { maxAgeMs: null, maxSkipRatio: null },
    ...extra,
  } as WorkerProfile;
}

const PERSON = { class_name: 'person', confidence: 0.9, bbox: [0.1, 0.1, 0.3, 0.6] };

function result(worker: WorkerProfile, captureTime: number, output: object): ResultEvent {
  return {
    type: 'result',
    at: 0,
    camera: 'room',
    worker: worker.id,
    shared: false,
    profile: worker,
    seq: 1,
    captureTime,
    wallTime: 0,
    ageMs: 0,
    output,
  } as unknown as ResultEvent;
}

const privacyOf = (models: Record<string, boolean> = {}): CameraPrivacy =>
  new CameraPrivacy({ camera: (id) => (id === 'room' ? camera : undefined), modelSeesPeople: (m) => models[m] === true });

describe('CameraPrivacy: only a whole-frame person result on the frame or a newer one says who is there', { timeout: 30_000 }, () => {
  it('a result on an older frame does not cover a newer picture; one on that frame or a newer does', () => {
    const p = privacyOf({ m: true });
    const detector = profile('detect');
    p.onResult(result(detector, 1000, { detections: [PERSON] }));
    assert.equal(p.people('room', 1100), null, 'a picture newer than the last look: unknown (fail closed)');
    const plan = hidingPlan(p.privacy('room'), 1100);
    assert.equal(plan?.areas, 'whole', 'its private area hidden whole');
    assert.equal(p.people('room', 1000)?.length, 1, 'the frame of the result: its person');
    assert.equal(p.people('room', 900)?.length, 1, 'an older frame: the newer result covers it');
    p.onResult(result(detector, 1200, { detections: [] }));
    assert.deepEqual(p.people('room', 1100)?.length, 1, 'covered by the newer result, the older person still hidden');
  });

  it("a gated worker's run on crops, a cascade's, an error and a vlm answer never say nobody", () => {
    const p = privacyOf({ m: true });
    p.onResult(result(profile('gated'), 1000, { detections: [], regions: [[0, 0, 0.2, 0.2]] }));
    p.onResult(result(profile('cascade', { cropsOf: 'detect' }), 1000, { detections: [] }));
    p.onResult(result(profile('broken'), 1000, { detections: [], error: { code: 'ERR_X', message: 'x' } }));
    p.onResult(result(profile('ask', { kind: 'vlm', model: null }), 1000, { detections: [] }));
    assert.equal(p.people('room', 1000), null);
  });

  it('a detector not known to see people counts only once it has reported one', () => {
    const p = privacyOf();
    const custom = profile('boxes', { model: 'boxes' });
    p.onResult(result(custom, 1000, { detections: [{ class_name: 'parcel', bbox: [0, 0, 0.1, 0.1] }] }));
    assert.equal(p.people('room', 1000), null, 'a custom-class model that never saw a person: not nobody');
    p.onResult(result(custom, 1100, { detections: [PERSON] }));
    p.onResult(result(custom, 1200, { detections: [] }));
    assert.deepEqual(p.people('room', 1200)?.length, 1, 'once it has shown it sees people, its empty result covers');
  });

  it('covered() waits for the covering result, and goes at once when none can come in time', async () => {
    const p = privacyOf({ m: true });
    const now = performance.now();
    let done = false;
    const waiting = p.covered('room', now).then(() => (done = true));
    p.onResult(result(profile('detect'), now - 10, { detections: [] }));
    await Promise.resolve();
    assert.equal(done, false, 'an older result does not release it');
    p.onResult(result(profile('detect'), now + 5, { detections: [] }));
    await waiting;
    assert.notEqual(p.people('room', now), null);
    // a frame captured longer than withinMs (1000) ago: nothing will cover it in time
    await p.covered('room', now - 5_000);
    assert.equal(p.people('room', now - 5_000), null);
    const aborted = new AbortController();
    const gone = p.covered('room', performance.now(), aborted.signal);
    aborted.abort();
    await gone;
  });
});
