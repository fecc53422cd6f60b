/**
 * Model-server supervision with real processes and sockets: a started server
 * (`framesupplier model-server --handler mock`) that hangs (SIGSTOP) is killed
 * after its missed pings and started again; one that dies (kill -9) is
 * restarted after a backoff, every time; a server someone else runs (a real
 * ModelServer in this process, reached by `socket` alone) is ready while it
 * answers, `connecting` while it is gone, and ready again when it is back, and
 * its clients' results resume. Every wait is on an event.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createLogger } from '../../src/internal/logger.js';
import { createMockHandler, ModelServer } from '../../src/models/index.js';
import { ModelService } from '../../src/pipeline/model-host/model-service.js';
import { VisionSystem, type ModelState, type ModelStateEvent } from '../../src/pipeline/index.js';
import { workspace } from '../models/fixtures.js';
import { alive, nextEvent, nextResults, resolvedConfig, vtest } from './helpers.js';

/** A ModelService's state events, and a wait for the first one (from now) that a test expects. */
class StateLog {
  readonly events: ModelStateEvent[] = [];
  readonly #waiters = new Set<(e: ModelStateEvent) => void>();

  readonly push = (event: ModelStateEvent): void => {
    this.events.push(event);
    for (const waiter of [...this.#waiters]) waiter(event);
  };

  /** The next event that `match` accepts (registered now, so call it before causing the event). */
  next(match: (e: ModelStateEvent) => boolean): Promise<ModelStateEvent> {
    return new Promise((resolve) => {
      const waiter = (e: ModelStateEvent): void => {
        if (!match(e)) return;
        this.#waiters.delete(waiter);
        resolve(e);
      };
      this.#waiters.add(waiter);
    });
  }

  /** The states entered since event number `from`. */
  since(from: number): ModelState[] {
    return this.events.slice(from).map((e) => e.to);
  }
}

describe('model servers under supervision', { timeout: 60_000 }, () => {
  const ws = workspace();
  const log = createLogger({ level: 'silent' });

  after(() => ws.cleanup());

  describe('a server the system starts that dies of a fault', () => {
    it("its last line (ERR_FATAL_SIGNAL, ADR 0109) is in the system's log at level fatal, with the signal and thread, and it is started again", async () => {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      const states = new StateLog();
      const faulty = new ModelService({
        name: 'faulty',
        config: { handler: 'mock', modelId: 'faulty', timeoutMs: 5_000, restart: { initialMs: 50, maxMs: 200 } },
        runtimeDir: ws.dir,
        shmDir: ws.shmDir,
        log: pino({ level: 'info', base: null, formatters: { level: (label: string) => ({ level: label }) } }, sink),
        onState: states.push,
      });
      try {
        const ready = states.next((e) => e.to === 'ready');
        faulty.start();
        await ready;
        const pid = faulty.stats().pid!;
        const again = states.next((e) => e.to === 'ready' && e.pid !== pid);
        process.kill(pid, 'SIGSEGV');
        const restarted = await again;
        assert.equal(faulty.stats().lastExit?.signal, 'SIGSEGV');
        const fatal = lines.filter((line) => line.code === 'ERR_FATAL_SIGNAL');
        assert.equal(fatal.length, 1, JSON.stringify(lines));
        assert.equal(fatal[0]!.level, 'fatal');
        assert.equal(fatal[0]!.signal, 'SIGSEGV');
        assert.equal(fatal[0]!.sentBy, process.pid, 'the kill came from this test');
        assert.equal(fatal[0]!.thread, 'node');
        assert.match(String(fatal[0]!.msg), /dies of SIGSEGV/);
        assert.ok(restarted.pid !== null && alive(restarted.pid));
      } finally {
        await faulty.close();
      }
    });
  });

  describe('a server the system starts', () => {
    const states = new StateLog();
    let service: ModelService;

    before(async () => {
      service = new ModelService({
        name: 'mock',
        // Resolved, as src/config gives it: modelId is its key, timeoutMs the default.
        config: { handler: 'mock', modelId: 'mock', timeoutMs: 5_000, restart: { initialMs: 50, maxMs: 200 } },
        runtimeDir: ws.dir,
        shmDir: ws.shmDir,
        log,
        onState: states.push,
        // Short, but a busy machine's healthy server answers well within 1 s: no spurious kill.
        healthIntervalMs: 200,
        pingTimeoutMs: 1_000,
        failedPings: 2,
        killTimeoutMs: 1_000,
      });
      const ready = states.next((e) => e.to === 'ready');
      service.start();
      await ready;
    });

    after(async () => {
      await service?.close();
    });

    it('is ready once it listens, and answers pings', async () => {
      const s = service.stats();
      assert.equal(s.state, 'ready');
      assert.equal(s.external, false);
      assert.equal(s.handler, 'mock');
      assert.equal(s.restarts, 0);
      assert.ok(s.pid !== null && alive(s.pid));
      assert.equal(s.socket, join(ws.dir, 'mock.sock'));
      assert.equal(await service.ping(), true);
      // Protocol 2: the server's scheduling figures, as of that ping (no camera has asked yet).
      const { memory, ...scheduling } = service.stats().scheduling!;
      assert.deepEqual(scheduling, { protocol: 3, concurrency: 1, maxBatch: 1, running: 0, waiting: 0, cameras: {} });
      // And its process's memory, as Node reports it there (not this process's).
      assert.ok(memory !== null && memory.rss > 0 && memory.heap_used > 0 && memory.heap_used <= memory.heap_total, JSON.stringify(memory));
      assert.deepEqual(states.since(0), ['ready'], 'starting is its initial state; ready is the first change');
    });

    it('a server that stops answering pings (SIGSTOP) is killed after the missed pings, started again, and ready', async () => {
      const hung = service.stats().pid!;
      const from = states.events.length;
      const down = states.next((e) => e.to === 'backoff');
      const up = states.next((e) => e.to === 'ready');
      process.kill(hung, 'SIGSTOP');
      try {
        const backoff = await down;
        assert.match(backoff.lastExit?.message ?? '', /2 health pings in a row unanswered/);
        assert.notEqual(backoff.lastExit?.signal, null, 'it was killed, not asked to exit');
        assert.equal(alive(hung), false, 'the hung process is gone');
      } finally {
        // If the kill never came, let stop() end it.
        if (alive(hung)) process.kill(hung, 'SIGCONT');
      }
      const ready = await up;
      assert.deepEqual(states.since(from), ['backoff', 'starting', 'ready']);
      assert.equal(ready.restarts, 1);
      assert.ok(ready.pid !== null && ready.pid !== hung);
      assert.equal(service.stats().restarts, 1);
      assert.equal(await service.ping(), true);
    });

    it('a server that dies (kill -9) is restarted after a backoff, every time: backoff → starting → ready, restarts growing', async () => {
      for (const expected of [2, 3]) {
        const pid = service.stats().pid!;
        const from = states.events.length;
        const up = states.next((e) => e.to === 'ready');
        process.kill(pid, 'SIGKILL');
        const ready = await up;
        assert.deepEqual(states.since(from), ['backoff', 'starting', 'ready']);
        const [backoff, starting] = states.events.slice(from);
        assert.equal(backoff!.lastExit?.signal, 'SIGKILL');
        assert.match(backoff!.lastExit?.message ?? '', /killed by SIGKILL/);
        assert.equal(backoff!.restarts, expected - 1, 'backoff: the dead run is still the last one counted');
        assert.equal(starting!.restarts, expected);
        assert.equal(ready.restarts, expected);
        assert.ok(ready.pid !== null && ready.pid !== pid && alive(ready.pid));
        assert.equal(alive(pid), false);
        const s = service.stats();
        assert.equal(s.state, 'ready');
        assert.equal(s.restarts, expected);
        assert.equal(s.lastExit?.signal, 'SIGKILL');
      }
      assert.equal(await service.ping(), true);
    });

    it('close() ends the process and says stopped; waiting for it after is ERR_MODEL_CLOSED, and an aborted wait rejects with its reason', async () => {
      const pid = service.stats().pid!;
      const stopped = states.next((e) => e.to === 'stopped');
      await service.close();
      await stopped;
      assert.equal(alive(pid), false);
      assert.equal(service.stats().state, 'stopped');
      await assert.rejects(service.whenReady(), { code: 'ERR_MODEL_CLOSED' });
      const reason = new Error('given up');
      await assert.rejects(service.serving({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    });
  });

  describe('through a VisionSystem: a server someone else runs (socket only, no handler) and a started one', () => {
    const camera = `ext-${process.pid}`;
    const socket = join(ws.dir, 'external.sock');
    const shmDir = `/dev/shm/framesupplier-test-ext-${process.pid}`;
    const servers: ModelServer[] = [];
    let system: VisionSystem;

    const serve = (): Promise<ModelServer> => {
      const server = new ModelServer({
        socketPath: socket,
        handler: createMockHandler({ modelId: 'ext' }),
        shmDir,
        closeLingerMs: 200,
        shutdownGraceMs: 2_000,
      });
      servers.push(server);
      return server.start();
    };

    before(async () => {
      await serve();
      system = new VisionSystem({
        config: resolvedConfig({
          shmDir,
          models: { ext: { socket }, mock: { handler: 'mock', restart: { initialMs: 50, maxMs: 200 } } },
          cameras: {
            [camera]: {
              source: vtest(),
              capture: { output: { format: 'nv12', width: 160, fps: 5 }, loop: true },
              workers: [
                { id: 'people', model: 'ext' },
                { id: 'local', model: 'mock' },
              ],
            },
          },
        }),
        logger: log,
        modelHealthIntervalMs: 200,
        drainTimeoutMs: 2_000,
      });
      const ready = ['ext', 'mock'].map((m) => nextEvent(system, 'model-state', (e) => e.model === m && e.to === 'ready'));
      await system.start();
      await Promise.all(ready);
    });

    after(async () => {
      await system?.close();
      for (const server of servers) await server.close();
      rmSync(shmDir, { recursive: true, force: true });
    });

    it('is ready once it answers a ping, and its clients get results', async () => {
      const s = system.stats().models.ext!;
      assert.equal(s.state, 'ready');
      assert.equal(s.external, true);
      assert.equal(s.handler, 'mock', 'what its server says it runs (its pong)');
      assert.equal(s.refusal, null, 'a socket the config names is not checked for who serves it');
      assert.equal(s.pid, null, 'not a process of the system');
      assert.equal(s.socket, socket);
      assert.ok(s.lastPingAt !== null);
      const [, r] = await nextResults(system, camera, 'people', 2);
      assert.ok((r!.output as { detections: unknown[] }).detections.length > 0, JSON.stringify(r!.output));
    });

    it('when it stops, the state says so (connecting); when it is started again, ready, and results resume without a worker restart', async () => {
      const lost = nextEvent(system, 'model-state', (e) => e.model === 'ext' && e.to === 'connecting');
      await servers.at(-1)!.close();
      const down = await lost;
      assert.equal(down.from, 'ready');
      assert.equal(system.stats().models.ext!.state, 'connecting');

      const back = nextEvent(system, 'model-state', (e) => e.model === 'ext' && e.to === 'ready');
      await serve();
      const up = await back;
      assert.equal(up.from, 'connecting');
      const resumed = await nextResults(system, camera, 'people', 2);
      assert.equal((resumed[1]!.output as { error?: unknown }).error, undefined, JSON.stringify(resumed[1]!.output));
      const s = system.stats();
      assert.equal(s.models.ext!.state, 'ready');
      assert.equal(s.models.ext!.restarts, 0, 'nothing of the system was restarted');
      const people = s.cameras[camera]!.workers.people!;
      assert.equal(people.state, 'running');
      assert.equal(people.restarts, 0, "the server's absence is not the worker's failure");
    });

    it("a started server that hangs (SIGSTOP) is killed after three missed pings (the default) and restarted; its worker's results resume without a worker restart", async () => {
      const hung = system.stats().models.mock!.pid!;
      const down = nextEvent(system, 'model-state', (e) => e.model === 'mock' && e.to === 'backoff');
      const up = nextEvent(system, 'model-state', (e) => e.model === 'mock' && e.to === 'ready');
      process.kill(hung, 'SIGSTOP');
      try {
        assert.match((await down).lastExit?.message ?? '', /3 health pings in a row unanswered/);
        assert.equal(alive(hung), false);
      } finally {
        if (alive(hung)) process.kill(hung, 'SIGCONT');
      }
      assert.equal((await up).restarts, 1);
      const [, r] = await nextResults(system, camera, 'local', 2);
      assert.equal((r!.output as { error?: unknown }).error, undefined, JSON.stringify(r!.output));
      const s = system.stats();
      assert.equal(s.models.ext!.state, 'ready', 'the other model is not touched');
      for (const worker of ['local', 'people']) {
        assert.equal(s.cameras[camera]!.workers[worker]!.state, 'running');
        assert.equal(s.cameras[camera]!.workers[worker]!.restarts, 0, `${worker}: a hung model server is not the worker's failure`);
      }
    });
  });
});
