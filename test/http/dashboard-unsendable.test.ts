/**
 * The dashboard socket's event stream past an event that cannot be written as JSON (a worker's output about a
 * tracked object holding a BigInt): that one is not sent, said once in the log, and the events after it still
 * reach the page. Before, the stream ended at it and the page got no event again. The socket's other side is a
 * stand-in (an EventEmitter with ws's send/close), the system's event stream a queue the test feeds.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { DashboardSocket } from '../../src/http/dashboard-socket.js';
import type { Feeds } from '../../src/http/feeds.js';
import type { Logger } from '../../src/internal/logger.js';
import type { SystemEvent, VisionSystem } from '../../src/pipeline/index.js';

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Record<string, unknown>[] = [];
  #waiters: { test: (m: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  send(text: string): void {
    const message = JSON.parse(text) as Record<string, unknown>;
    this.sent.push(message);
    for (const w of this.#waiters.filter((w) => w.test(message))) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
  }
  close(): void {
    this.readyState = 3;
  }
  next(test: (m: Record<string, unknown>) => boolean): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }
}

describe('the dashboard socket and an event it cannot write', { timeout: 30_000 }, () => {
  it('skips that event, says so once, and sends the events after it', async () => {
    const queue: SystemEvent[] = [];
    let wake: (() => void) | null = null;
    const push = (event: SystemEvent): void => {
      queue.push(event);
      wake?.();
    };
    const system = {
      stats: () => ({ cameras: { cam: {} } }),
      events: ({ signal }: { signal: AbortSignal }) =>
        (async function* () {
          while (!signal.aborted) {
            const event = queue.shift();
            if (event !== undefined) yield event;
            else await new Promise<void>((resolve) => (wake = resolve));
          }
        })(),
    } as unknown as VisionSystem;
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown, m: string) => warnings.push([o, m]), info: () => {}, debug: () => {}, error: () => {} } as unknown as Logger;
    const socket = new FakeSocket();
    const dashboard = new DashboardSocket({
      socket: socket as unknown as WebSocket,
      system,
      feeds: {} as Feeds,
      log,
      token: null,
      statsIntervalMs: 60_000,
      authTimeoutMs: 60_000,
      eventsStored: false,
    });
    try {
      const unsendable = {
        type: 'result',
        camera: 'cam',
        worker: 'face',
        captureTime: performance.now(),
        profile: { tracksObjects: false },
        output: { crop: { objectId: '1700000000.123456-abcdef' }, n: 1n },
      } as unknown as SystemEvent;
      const later = { type: 'camera-state', camera: 'cam', state: 'streaming' } as unknown as SystemEvent;
      const arrived = socket.next((m) => m.type === 'event');
      push(unsendable);
      push(unsendable);
      push(later);
      await arrived;
      assert.deepEqual((socket.sent.find((m) => m.type === 'event')!.event as { type: string }).type, 'camera-state');
      assert.equal(socket.sent.filter((m) => m.type === 'annotation').length, 0);
      assert.equal(warnings.length, 1, 'said once');
      assert.match(String((warnings[0] as unknown[])[1]), /cannot be written as JSON/);
    } finally {
      dashboard.close();
      (wake as (() => void) | null)?.();
    }
  });
});
