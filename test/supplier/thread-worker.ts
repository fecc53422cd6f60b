/**
 * Test worker thread: opens its frame subscription and answers commands from
 * the test over parentPort, so the test can prove what crossed the boundary.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { openThreadSubscription, type Frame } from '../../src/supplier/index.js';

const sub = openThreadSubscription((workerData as { frames: MessagePort }).frames);
const held: Frame[] = [];
const releases: (() => void)[] = [];
const port = parentPort!;

port.on('message', (cmd: { op: string; index?: number; byte?: number; abort?: boolean }) => {
  void (async () => {
    switch (cmd.op) {
      case 'read': {
        const frame = await sub.read();
        if (frame === null) {
          port.postMessage({ op: 'read', end: true });
          return;
        }
        held.push(frame);
        port.postMessage({
          op: 'read',
          seq: frame.seq,
          shared: frame.payload.buffer instanceof SharedArrayBuffer,
          frozen: Object.isFrozen(frame),
          first: frame.payload[0],
          length: frame.payload.byteLength,
          ageMs: performance.now() - frame.captureTime,
          workerId: sub.workerId,
        });
        return;
      }
      case 'abortedRead': {
        const controller = new AbortController();
        const pending = sub.read({ signal: controller.signal });
        controller.abort(new Error('aborted in worker'));
        const outcome = await pending.then(
          () => 'resolved',
          (e: Error) => e.message,
        );
        port.postMessage({ op: 'abortedRead', outcome });
        return;
      }
      case 'poke': {
        // Deliberately breaks the immutability contract, only to prove the memory is shared.
        held[cmd.index!]!.payload[0] = cmd.byte!;
        port.postMessage({ op: 'poke' });
        return;
      }
      case 'retain':
        releases.push(sub.retain(held.at(-1)!));
        port.postMessage({ op: 'retain' });
        return;
      case 'retainOld': {
        const outcome = (() => {
          try {
            sub.retain(held[0]!);
            return 'retained';
          } catch (e) {
            return (e as { code: string }).code;
          }
        })();
        port.postMessage({ op: 'retainOld', outcome });
        return;
      }
      case 'release':
        releases.pop()!();
        port.postMessage({ op: 'release' });
        return;
      case 'close':
        sub.close();
        port.postMessage({ op: 'close' });
        return;
    }
  })();
});
port.postMessage({ op: 'ready' });
