/**
 * A vision-language model's fall confirmation in a private room (ADR 0165), through a real system: two lavfi
 * cameras with the project's scripted pose detector (a person standing, then falling) as a fall worker and a vlm
 * worker asking a stand-in server about each fall; `room` is private whole with `show: blur`, `open` is not.
 *
 * Expected: the model was shown the private room's person blurred, so that confirmation is `judged: false` with
 * why (`not_judged`), never an answer taken as said about the fall; the open camera's is judged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/internal/logger.js';
import type { FallConfirmation } from '../../src/care/index.js';
import { VisionSystem } from '../../src/pipeline/index.js';
import { FakeVlmServer } from '../helpers/vlm-server.js';
import { nextEvent, resolvedConfig } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('../objects/pose-script.js', import.meta.url));

describe('a vlm fall confirmation about a blurred person is not judged', { timeout: 120_000 }, () => {
  let vlm: FakeVlmServer;
  let system: VisionSystem;

  before(async () => {
    vlm = new FakeVlmServer();
    vlm.answer = () => JSON.stringify({ fallen: false });
    await vlm.start();
    const camera = (extra: object) => ({
      source: 'lavfi:testsrc2=size=320x240:rate=10',
      capture: { output: { format: 'rgb24' } },
      ...extra,
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
    });
    const config = resolvedConfig({
      shmDir: `/dev/shm/fs-falls-vlm-private-${process.pid}`,
      cameras: { room: camera({ privacy: { whole: true, show: 'blur' } }), open: camera({}) },
    });
    system = new VisionSystem({ config, logger: createLogger({ level: 'silent' }) });
  });

  after(async () => {
    await system?.close();
    await vlm?.close();
  });

  it("marks the private room's confirmation not judged, and says why; the open camera's is judged", async () => {
    const confirmed = (camera: string): Promise<FallConfirmation> =>
      nextEvent(system, 'fall', (e) => e.event.after.camera === camera && e.event.after.confirmation !== null).then((e) => e.event.after.confirmation!);
    const room = confirmed('room');
    const open = confirmed('open');
    await system.start();
    const [inRoom, inOpen] = await Promise.all([room, open]);
    assert.equal(inRoom.judged, false, JSON.stringify(inRoom));
    assert.match(inRoom.not_judged ?? '', /private room/);
    assert.equal(inOpen.judged, true, JSON.stringify(inOpen));
    assert.equal(inOpen.not_judged, undefined);
  });
});
