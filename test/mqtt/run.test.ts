/**
 * `framesupplier run` with an `mqtt` section: the sink starts with the system
 * (online, the camera's status and worker state, results) and SIGTERM ends
 * it cleanly with `stopped` and exit 0; the password comes from the
 * environment and appears in no output line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PREFIX = `fs-run-${process.pid}`;
const PASSWORD = `run-pw-${process.pid}-x`;

describe('framesupplier run with mqtt', { timeout: 90_000 }, () => {
  let broker: Mosquitto;
  let recorder: Recorder;
  const dir = mkdtempSync(join(tmpdir(), 'framesupplier-mqtt-run-'));

  before(async () => {
    broker = await Mosquitto.start();
    recorder = await Recorder.connect(broker.url, [`${PREFIX}/#`]);
  });

  after(async () => {
    await recorder?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes while it runs and says stopped after SIGTERM', async () => {
    const path = join(dir, 'config.yaml');
    writeFileSync(
      path,
      [
        `shmDir: /dev/shm/framesupplier-mqtt-run-${process.pid}`,
        'cameras:',
        '  pattern:',
        '    source: lavfi:testsrc2=size=160x120:rate=5',
        '    capture: { output: { format: gray } }',
        '    workers: [{ id: motion, module: "builtin:motion" }]',
        'mqtt:',
        `  url: ${broker.url}`,
        '  username: runner',
        '  password: ${MQTT_TEST_PASSWORD}',
        `  clientId: fs-run-${process.pid}`,
        `  topicPrefix: ${PREFIX}`,
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [MAIN, 'run', '--view', 'none', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MQTT_TEST_PASSWORD: PASSWORD },
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'online', 'online');
      await recorder.waitFor((m) => m.topic === `${PREFIX}/pattern/status` && (JSON.parse(m.payload) as { state: string }).state === 'streaming', 'streaming');
      await recorder.waitFor((m) => m.topic === `${PREFIX}/pattern/motion/result`, 'a result');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      await recorder.waitFor((m) => m.topic === `${PREFIX}/available` && m.payload === 'stopped', 'stopped');
      assert.match(output, /mqtt connected/);
      assert.ok(!output.includes(PASSWORD), 'the password is in no output line');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
