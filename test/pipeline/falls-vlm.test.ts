/**
 * A vision-language model's second look at a person down (ADR 0133), through a real system: a lavfi camera, the
 * project's scripted pose detector (test/objects/pose-script.ts: a person standing, then falling) as a fall worker,
 * and a vlm worker with `triggers.objects.on: [fall]` asking a stand-in server on loopback (test/helpers/vlm-server.ts)
 * that holds its answer until the test lets it go.
 *
 * Expected: the alert's `new` goes out while the question about the person is still unanswered (the alert never
 * waits for it); the question is asked about the alert's person; once the server answers, an `update` of the same
 * alert carries the answer as its `confirmation` (the worker, the answer, not stale).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/internal/logger.js';
import type { FallEvent } from '../../src/care/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { FakeVlmServer, type VlmRequestRecord } from '../helpers/vlm-server.js';
import { nextEvent, resolvedConfig } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('../objects/pose-script.js', import.meta.url));

describe('a fall confirmed by a vlm worker, never waited for', { timeout: 120_000 }, () => {
  let vlm: FakeVlmServer;
  let system: VisionSystem;
  let release!: () => void;

  before(async () => {
    vlm = new FakeVlmServer();
    vlm.hold = new Promise<void>((resolve) => (release = resolve));
    vlm.answer = () => JSON.stringify({ fallen: true });
    await vlm.start();
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-falls-vlm-${process.pid}`,
      cameras: {
        room: {
          source: 'lavfi:testsrc2=size=320x240:rate=10',
          capture: { output: { format: 'rgb24' } },
          workers: [
            { id: 'people', module: SCRIPT, maxFps: 5, falls: true },
            {
              id: 'look',
              vlm: {
                api: 'openai',
                url: vlm.url('openai'),
                model: 'llava',
                prompt: 'Is this person lying on the floor?',
                schema: { type: 'object', properties: { fallen: { type: 'boolean' } }, required: ['fallen'] },
                triggers: { objects: { of: 'people', on: ['fall'] } },
              },
            },
          ],
        },
      },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    release?.();
    await system?.close();
    await vlm?.close();
  });

  it('goes out at once, asks about the person, and adds the answer when it comes', async () => {
    const raised = nextEvent(system, 'fall', (e) => e.event.type === 'new');
    const asked = once(vlm, 'request') as Promise<[VlmRequestRecord]>;
    await system.start();
    const alert = (await raised).event.after;
    assert.equal(alert.kind, 'fall');
    assert.equal(alert.confirmation, null, 'raised before any answer');
    const [request] = await asked;
    assert.match(request.prompt, /lying on the floor/);
    assert.equal(vlm.requests.length, 1, 'one question, about the alert');
    assert.equal(system.objects.falls('room').find((a) => a.id === alert.id)?.confirmation, null, 'the alert stands unconfirmed while the question waits');

    const confirmed = nextEvent(system, 'fall', (e) => e.event.after.id === alert.id && e.event.after.confirmation !== null);
    release();
    const update: FallEvent = (await confirmed).event;
    assert.equal(update.type, 'update');
    assert.equal(update.after.confirmation?.worker, 'look');
    assert.deepEqual(update.after.confirmation?.answer, { fallen: true });
    assert.equal(update.after.confirmation?.stale, false);
  });
});
