/**
 * system.cameras (ADR 0062) on a running system with a real capture (the sample clip): a camera added,
 * watched, pictured, its areas set live and refused when bad, replaced and removed, each change one
 * `config-change` event in call order; unknown cameras and a closed system answered with their codes.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/internal/logger.js';
import { PipelineError, VisionSystem, type EventOf } from '../../src/pipeline/index.js';
import { nextEvent, resolvedConfig, vtest } from './helpers.js';

const SHM_DIR = `/dev/shm/framesupplier-test-cameras-${process.pid}`;
const A = `a-${process.pid}`;
const B = `b-${process.pid}`;
const entry = {
  source: vtest(),
  capture: { output: { format: 'gray', width: 160, fps: 5 }, loop: true },
  workers: [{ id: 'motion', module: 'builtin:motion' }],
};
const DOOR = [
  [0.1, 0.1],
  [0.9, 0.1],
  [0.9, 0.9],
];
const hasCode =
  (code: string) =>
  (error: unknown): boolean =>
    (error as { code?: unknown }).code === code;

describe('system.cameras', { timeout: 60_000 }, () => {
  let system: VisionSystem;
  const changes: string[] = [];

  before(async () => {
    system = new VisionSystem({ config: resolvedConfig({ shmDir: SHM_DIR, cameras: { [A]: entry } }), logger: createLogger({ level: 'silent' }) });
    system.on('config-change', (e: EventOf<'config-change'>) => changes.push(`${e.change} ${e.camera}`));
    await system.start();
  });

  after(async () => {
    await system?.close();
    rmSync(SHM_DIR, { recursive: true, force: true });
  });

  it('add: the camera runs, a second add of it is refused, a bad entry with every issue', async () => {
    const running = nextEvent(system, 'camera-state', (e) => e.camera === B && e.state === 'streaming');
    await system.cameras.add(B, entry);
    await running;
    assert.deepEqual(system.cameras.ids(), [A, B]);
    await assert.rejects(system.cameras.add(B, entry), hasCode('ERR_DUPLICATE_CAMERA'));
    await assert.rejects(system.cameras.add('bad', { workers: [] }), hasCode('ERR_CONFIG'));
    assert.deepEqual(system.cameras.ids(), [A, B]);
  });

  it('watch: a viewer reads the newest frame, at the size the workers get; streamNames and picture', async () => {
    const viewer = system.cameras.watch(A, 'test');
    const frame = await viewer.read({ signal: AbortSignal.timeout(10_000) });
    assert.ok(frame !== null && frame.width === 160);
    await viewer.close();
    assert.deepEqual(system.cameras.streamNames(A), ['main']);
    const { picture, stream, fallback } = await system.cameras.picture(A, performance.now());
    assert.ok(picture.width > 0 && stream === 'main' && fallback === null);
    assert.deepEqual(system.cameras.cropFeeds(A), [], 'no cascade: no crop feed');
    assert.throws(() => system.cameras.watch('nowhere', 'x'), hasCode('ERR_UNKNOWN_CAMERA'));
    assert.throws(() => system.cameras.streamNames('nowhere'), hasCode('ERR_UNKNOWN_CAMERA'));
    await assert.rejects(system.cameras.picture('nowhere'), hasCode('ERR_UNKNOWN_CAMERA'));
  });

  it('setAreas: checked as the file is (nothing changed when bad), then what areas() answers, until the camera is replaced', async () => {
    assert.deepEqual(system.cameras.areas(A), { zones: {}, masks: [], lines: {} });
    await assert.rejects(system.cameras.setAreas(A, { lines: { bad: { points: [[0.5, 0.5]] } } }), hasCode('ERR_CONFIG'));
    assert.deepEqual(system.cameras.areas(A), { zones: {}, masks: [], lines: {} });
    // In the file's syntax (asWritten, as the HTTP API takes them): a `${NAME}` is refused at its string, `$${` a literal.
    await assert.rejects(
      system.cameras.setAreas(A, { zones: { door: { polygon: DOOR, labels: ['${HOME}'] } } }, { asWritten: true }),
      (error: Error & { issues?: { path: string }[] }) => {
        assert.deepEqual(
          error.issues?.map((i) => i.path),
          [`cameras.${A}.zones.door.labels[0]`],
        );
        return hasCode('ERR_CONFIG')(error);
      },
    );
    assert.deepEqual(system.cameras.areas(A), { zones: {}, masks: [], lines: {} });
    const written = await system.cameras.setAreas(A, { zones: { door: { polygon: DOOR, labels: ['$${x}'] } } }, { asWritten: true });
    assert.deepEqual(written.zones.door?.labels, ['${x}']);
    // As given (a program's values): the same text is the label.
    const given = await system.cameras.setAreas(A, { zones: { door: { polygon: DOOR, labels: ['${x}'] } } });
    assert.deepEqual(given.zones.door?.labels, ['${x}']);
    const set = await system.cameras.setAreas(A, { zones: { door: { polygon: DOOR } } });
    assert.deepEqual(Object.keys(set.zones), ['door']);
    assert.deepEqual(Object.keys(system.cameras.areas(A).zones), ['door']);
    assert.deepEqual(system.cameras.areas('nowhere'), { zones: {}, masks: [], lines: {} });
    await system.cameras.replace(A, entry);
    assert.deepEqual(system.cameras.areas(A).zones, {}, "the replacement's own areas");
    await assert.rejects(system.cameras.replace('nowhere', entry), hasCode('ERR_UNKNOWN_CAMERA'));
  });

  it('remove: gone from ids; each change was one config-change event, in call order', async () => {
    await system.cameras.remove(B);
    assert.deepEqual(system.cameras.ids(), [A]);
    await assert.rejects(system.cameras.remove(B), hasCode('ERR_UNKNOWN_CAMERA'));
    // The areas set three times (in the file's syntax, as given, and a door).
    const areas = Array.from({ length: 3 }, () => `camera-areas ${A}`);
    assert.deepEqual(changes, [`camera-added ${B}`, ...areas, `camera-replaced ${A}`, `camera-removed ${B}`]);
  });

  it('after close: every change and viewer is refused with ERR_SYSTEM_CLOSED', async () => {
    await system.close();
    const closed = (error: unknown): boolean => error instanceof PipelineError && error.code === 'ERR_SYSTEM_CLOSED';
    await assert.rejects(system.cameras.add(B, entry), closed);
    await assert.rejects(system.cameras.setAreas(A, {}), closed);
    await assert.rejects(system.cameras.picture(A), closed);
    assert.throws(() => system.cameras.watch(A, 'late'), closed);
  });
});
