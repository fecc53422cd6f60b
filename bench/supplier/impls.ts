/**
 * The implementations the supplier workloads compare, behind one small
 * read-loop interface: framesupplier itself, and two baselines a Node
 * developer would reach for, written as those developers would write them.
 */
import { EventEmitter } from 'node:events';
import { BehaviorSubject, exhaustMap, Observable, Subject, takeUntil, tap } from 'rxjs';
import { FrameSupplier, type FrameInput } from '../../src/supplier/index.js';

export interface BenchFrame {
  readonly payload: Uint8Array;
  readonly captureTime: number;
}

export interface BenchReader {
  read(): Promise<BenchFrame | null>;
  close(): void;
  /** Frames this reader will never see (overwritten or ignored). */
  dropped(): number;
}

export interface BenchImpl {
  readonly name: string;
  publish(frame: FrameInput): void;
  subscribe(id: string): BenchReader;
  stop(): void;
}

/** framesupplier: inbox + one-frame mailbox per subscriber. */
export function framesupplierImpl(): BenchImpl {
  const supplier = new FrameSupplier().start();
  return {
    name: 'framesupplier',
    publish: (frame) => void supplier.publish(frame),
    subscribe: (id) => {
      const sub = supplier.subscribe(id);
      return { read: () => sub.read(), close: () => void sub.close(), dropped: () => sub.stats().drops };
    },
    stop: () => void supplier.close(),
  };
}

/** Baseline 1: an EventEmitter; every subscriber queues every frame and reads oldest first. */
export function eventEmitterImpl(): BenchImpl {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    name: 'eventemitter-queue',
    publish: (frame) => void emitter.emit('frame', { payload: frame.payload, captureTime: frame.captureTime ?? 0 }),
    subscribe: () => {
      const queue: BenchFrame[] = [];
      let waiter: ((f: BenchFrame | null) => void) | null = null;
      let closed = false;
      const onFrame = (frame: BenchFrame): void => {
        if (waiter !== null) {
          const w = waiter;
          waiter = null;
          w(frame);
        } else queue.push(frame);
      };
      emitter.on('frame', onFrame);
      return {
        read: () => {
          if (closed) return Promise.resolve(null);
          const head = queue.shift();
          if (head !== undefined) return Promise.resolve(head);
          return new Promise((resolve) => (waiter = resolve));
        },
        close: () => {
          closed = true;
          emitter.off('frame', onFrame);
          queue.length = 0;
          waiter?.(null);
          waiter = null;
        },
        dropped: () => 0,
      };
    },
    stop: () => emitter.removeAllListeners(),
  };
}

/**
 * Baseline 2: RxJS, the usual "latest value" reach: a BehaviorSubject, and
 * exhaustMap so a busy subscriber ignores frames until it asks again (it keeps
 * the old and drops the new: seed ADR-001's option A).
 */
export function rxjsImpl(): BenchImpl {
  const subject = new BehaviorSubject<BenchFrame | null>(null);
  return {
    name: 'rxjs-behaviorsubject-exhaustmap',
    publish: (frame) => subject.next({ payload: frame.payload, captureTime: frame.captureTime ?? 0 }),
    subscribe: () => {
      const closed$ = new Subject<void>();
      let arrived = 0;
      let delivered = 0;
      let waiter: ((f: BenchFrame | null) => void) | null = null;
      let ready: BenchFrame | null = null;
      let askNext: (() => void) | null = null;
      const subscription = subject
        .pipe(
          tap((f) => {
            if (f !== null) arrived++;
          }),
          exhaustMap(
            (frame) =>
              new Observable<never>((inner) => {
                if (frame === null) {
                  inner.complete();
                  return;
                }
                delivered++;
                // The inner stays open while the worker is busy: exhaustMap ignores frames meanwhile.
                askNext = () => inner.complete();
                if (waiter !== null) {
                  const w = waiter;
                  waiter = null;
                  w(frame);
                } else ready = frame;
              }),
          ),
          takeUntil(closed$),
        )
        .subscribe({ complete: () => waiter?.(null) });
      let closed = false;
      return {
        read: () => {
          if (closed) return Promise.resolve(null);
          const done = askNext;
          askNext = null;
          done?.();
          if (ready !== null) {
            const f = ready;
            ready = null;
            return Promise.resolve(f);
          }
          return new Promise((resolve) => (waiter = resolve));
        },
        close: () => {
          closed = true;
          closed$.next();
          subscription.unsubscribe();
          waiter?.(null);
          waiter = null;
        },
        dropped: () => arrived - delivered,
      };
    },
    stop: () => subject.complete(),
  };
}

export const IMPLS: readonly (() => BenchImpl)[] = [framesupplierImpl, eventEmitterImpl, rxjsImpl];
