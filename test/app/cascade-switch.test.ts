/**
 * A worker switch keeps the camera's cascades runnable (issue 41, ADR 0076), through the real adapters: the app
 * from a config file with --save-config, its HTTP API, and mosquitto with the MQTT commands Home Assistant's
 * switch sends. A camera whose `pose` worker reads crops of its `people` worker: switching `people` off (the
 * API's disable, MQTT `OFF`) is refused with ERR_WORKER_CASCADE naming `pose` (409 on the API; on MQTT a
 * warning with the code, the state topic answering the unchanged state), nothing changes, the file is left as
 * it was; so is switching `pose` on while `people` is off. In the order that works (pose off, then people; people
 * on, then pose) each switch is made and saved, and every file written passes `config check` (it used to say
 * `enabled: false` for people beside an enabled pose: the next `run` refused it, and a reboot left the service
 * down).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/app/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/internal/logger.js';
import { eventuallyAsync } from '../helpers/process.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { resolvedConfig } from '../pipeline/helpers.js';

const PREFIX = `cascade-${process.pid}`;
const TOKEN = 'cascade-switch-token-0123456789';

describe('a worker switch that would break a cascade is refused, on the API and on MQTT', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  const dir = mkdtempSync(join(tmpdir(), 'fs-cascade-switch-'));
  const file = join(dir, 'cameras.yaml');
  const logFile = join(dir, 'run.log');
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses people OFF while pose crops it, and pose ON while people is off; the file stays runnable', async () => {
    writeFileSync(
      file,
      [
        '# the door camera: pose reads crops of people',
        'version: 1',
        `shmDir: /dev/shm/fs-cascade-switch-${process.pid}`,
        'cameras:',
        '  door:',
        '    source: "lavfi:testsrc=size=160x120:rate=5"',
        '    workers:',
        '      - { id: people, module: "builtin:motion" }',
        '      - { id: pose, module: "builtin:motion", crops: { of: people } }',
        'mqtt:',
        `  url: ${broker.url}`,
        `  topicPrefix: ${PREFIX}`,
        `  clientId: ${PREFIX}`,
        '',
      ].join('\n'),
    );
    const http = resolvedConfig({ cameras: {}, http: { host: '127.0.0.1', port: 0, token: TOKEN } }).http!;
    const app = createApp(parseConfig(readFileSync(file, 'utf8'), { env: {}, fileName: file }), {
      logger: createLogger({ level: 'info', destination: logFile }),
      http: { config: http, saveConfigPath: file },
    });
    const recorder = await Recorder.connect(broker.url, [`${PREFIX}/door/+/state`]);
    try {
      await app.start();
      const post = async (worker: string, action: 'enable' | 'disable'): Promise<{ status: number; body: { error?: { code: string; message: string } } }> => {
        const response = await fetch(new URL(`/api/cameras/door/workers/${worker}/${action}`, app.dashboard!.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
      };
      const enabled = (worker: string): boolean => app.system.stats().cameras.door!.workers[worker]!.enabled;
      const stateOf = (payload: string): boolean => (JSON.parse(payload) as { enabled: boolean }).enabled;
      /** Sends an MQTT command and resolves with the `enabled` of the state it answers with. */
      const command = async (worker: string, payload: 'ON' | 'OFF'): Promise<boolean> => {
        const from = recorder.messages.length;
        await recorder.client.publishAsync(`${PREFIX}/door/${worker}/set`, payload, { qos: 1 });
        const answer = await recorder.waitFor((m) => m.topic === `${PREFIX}/door/${worker}/state`, `${worker}'s state after ${payload}`, { from });
        return stateOf(answer.payload);
      };
      const warnings = (): { code?: string; worker?: string; command?: string; err?: string }[] =>
        readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((line) => line.includes('"mqtt command failed"'))
          .map((line) => JSON.parse(line) as { code?: string; worker?: string; command?: string; err?: string });
      /** The file as --save-config left it must be one `run` takes: the cascade rule holds in it. */
      const runnable = (): void => void parseConfig(readFileSync(file, 'utf8'), { env: {}, fileName: file });
      // The sink is connected (commands subscribed) once it has published the workers' states.
      await recorder.waitFor((m) => m.topic === `${PREFIX}/door/people/state`, "people's state");
      const original = readFileSync(file, 'utf8');

      // The API: people off is refused, naming pose; nothing changes, nothing is written.
      const refused = await post('people', 'disable');
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.error?.code, 'ERR_WORKER_CASCADE');
      assert.match(refused.body.error?.message ?? '', /people cannot be switched off while pose reads its crops \(crops\.of\)/);
      assert.ok(enabled('people') && enabled('pose'));
      assert.equal(readFileSync(file, 'utf8'), original, 'the file is left as it was');

      // MQTT (Home Assistant's switch): the same refusal, a warning with the code, the unchanged state answered.
      assert.equal(await command('people', 'OFF'), true, 'the state topic answers people still on');
      assert.deepEqual(
        warnings().map((w) => [w.code, w.worker, w.command]),
        [['ERR_WORKER_CASCADE', 'people', 'OFF']],
      );
      assert.match(warnings()[0]!.err!, /switch pose off first/);
      assert.ok(enabled('people'));
      assert.equal(readFileSync(file, 'utf8'), original);

      // In the order that works: pose off (MQTT), then people (API); each saved, the file runnable at each step.
      assert.equal(await command('pose', 'OFF'), false);
      await eventuallyAsync(() => Promise.resolve(/id: pose[^\n]*enabled: false/.test(readFileSync(file, 'utf8'))), 'pose OFF saved');
      runnable();
      assert.equal((await post('people', 'disable')).status, 200);
      assert.ok(!enabled('people') && !enabled('pose'));
      assert.match(readFileSync(file, 'utf8'), /id: people[^\n]*enabled: false/);
      runnable();

      // pose on while people is off: refused, naming people, on the API and on MQTT.
      const needs = await post('pose', 'enable');
      assert.equal(needs.status, 409, JSON.stringify(needs.body));
      assert.equal(needs.body.error?.code, 'ERR_WORKER_CASCADE');
      assert.match(
        needs.body.error?.message ?? '',
        /pose cannot be switched on while people, whose crops it reads \(crops\.of\), is off: switch people on first/,
      );
      assert.equal(await command('pose', 'ON'), false, 'the state topic answers pose still off');
      assert.deepEqual(warnings().at(-1)?.code, 'ERR_WORKER_CASCADE');
      assert.ok(!enabled('pose'));
      runnable();

      // people on, then pose: both made and saved, the file as it began as far as `enabled` goes.
      assert.equal(await command('people', 'ON'), true);
      assert.equal((await post('pose', 'enable')).status, 200);
      assert.ok(enabled('people') && enabled('pose'));
      await eventuallyAsync(() => Promise.resolve(!readFileSync(file, 'utf8').includes('enabled: false')), 'both ON saved');
      runnable();
      assert.match(readFileSync(file, 'utf8'), /^# the door camera: pose reads crops of people$/m, 'the file is edited in place');
    } finally {
      await recorder.close();
      await app.close();
      rmSync(`/dev/shm/fs-cascade-switch-${process.pid}`, { recursive: true, force: true });
    }
  });
});
