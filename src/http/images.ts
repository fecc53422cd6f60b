/**
 * Pictures of a camera over plain HTTP: one JPEG (the live feed's newest if
 * fresh, else the next one) and MJPEG (multipart/x-mixed-replace, each part
 * the newest frame once the client took the one before: a slow client skips
 * frames, never queues them). Both are viewers of the feeds (feeds.ts), so
 * JPEG is encoded only while someone watches.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VisionSystem } from '../pipeline/index.js';
import { HttpError } from './errors.js';
import type { EncodedFrame, FeedKey, Feeds, Viewer } from './feeds.js';

const MJPEG_BOUNDARY = 'framesupplierframe';

/** What the image routes share with the server: its feeds, its open streams (ended by its close()) and its limits. */
export interface ImageRoutes {
  readonly feeds: Feeds;
  readonly streams: Set<() => void>;
  readonly system: VisionSystem;
  readonly cors: ReadonlySet<string>;
  readonly maxViewers: number;
  readonly snapshotTimeoutMs: number;
}

export function tooManyViewers(): HttpError {
  return new HttpError('ERR_HTTP_TOO_MANY_VIEWERS', 'the server serves no more live streams now (http.maxViewers)');
}

/** How old a feed's newest frame may be and still be a camera's latest picture. */
const FRESH_MS = 500;

/**
 * A live feed's newest frame if fresh, else the next one (ERR_HTTP_NO_FRAME if none comes in time). A feed another
 * viewer keeps open hands a new viewer its newest frame at once, however old: a camera that stopped would answer
 * with its last picture as if live, so only a frame captured within FRESH_MS of the ask is taken.
 */
export async function latestFrame(routes: ImageRoutes, key: FeedKey): Promise<EncodedFrame> {
  const asked = Date.now();
  const latest = routes.feeds.latest(key);
  if (latest !== null && asked - latest.wallTime < FRESH_MS) return latest;
  const timeoutMs = routes.snapshotTimeoutMs;
  return new Promise<EncodedFrame>((resolve, reject) => {
    let done = false;
    const finish = (error: HttpError | null, frame?: EncodedFrame): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      routes.feeds.remove(key, viewer);
      if (error === null) resolve(frame!);
      else reject(error);
    };
    const viewer: Viewer = {
      ready: () => !done,
      send: (frame) => {
        if (asked - frame.wallTime < FRESH_MS) finish(null, frame);
      },
      end: (reason) => finish(new HttpError('ERR_HTTP_NO_FRAME', `no frame from camera ${key.camera}: ${reason}`)),
    };
    const timer = setTimeout(
      () =>
        finish(
          new HttpError(
            'ERR_HTTP_NO_FRAME',
            `camera ${key.camera} gave no frame within ${timeoutMs} ms (state: ${routes.system.stats().cameras[key.camera]?.state ?? 'removed'})`,
          ),
        ),
      timeoutMs,
    );
    if (!routes.feeds.add(key, viewer)) finish(tooManyViewers());
  });
}

/** multipart/x-mixed-replace: each part the newest frame when the client has taken the one before. */
export function mjpegStream(routes: ImageRoutes, key: FeedKey, request: FastifyRequest, reply: FastifyReply): void {
  const res = reply.raw;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    routes.streams.delete(end);
    routes.feeds.remove(key, viewer);
    if (!res.writableEnded) res.end();
  };
  const viewer: Viewer = {
    ready: () => !ended && !res.writableNeedDrain,
    send: (frame) => {
      res.write(
        `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\nX-Frame-Seq: ${frame.seq}\r\nX-Frame-Wall-Time: ${frame.wallTime}\r\nX-Privacy-Held-Ms: ${frame.heldMs}\r\n\r\n`,
      );
      if (!res.write(frame.jpeg)) res.once('drain', () => routes.feeds.poke(key, viewer));
      res.write('\r\n');
    },
    end,
  };
  if (routes.feeds.viewers >= routes.maxViewers) throw tooManyViewers();
  reply.hijack();
  const headers: Record<string, string> = {
    'content-type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
    'cache-control': 'no-store',
    connection: 'close',
    'x-content-type-options': 'nosniff',
  };
  const origin = request.headers.origin;
  if (origin !== undefined && routes.cors.has(origin)) headers['access-control-allow-origin'] = origin;
  res.writeHead(200, headers);
  request.raw.socket.on('close', end);
  routes.streams.add(end);
  if (!routes.feeds.add(key, viewer)) end();
}
