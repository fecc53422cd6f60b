/**
 * The routes of a camera's live pictures over plain HTTP: one JPEG
 * (/api/cameras/:id/latest.jpg) and MJPEG (/api/cameras/:id/mjpeg), each at
 * a height asked for (?h=) and with the detections' boxes drawn or not
 * (?boxes=1).
 *
 * Contract: an unknown camera is 404 before any feed is opened; what is
 * served and how a slow client skips frames is images.ts'; latest.jpg's
 * headers carry its frame's sequence number and wall time, and how long a
 * private camera's frame was held for its people to be known (ADR 0165).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { VisionSystem } from '../pipeline/index.js';
import type { FeedKey } from './feeds.js';
import { latestFrame, mjpegStream, type ImageRoutes } from './images.js';
import { idParams, unknownCamera } from './route-params.js';

export interface PictureRoutesOptions {
  readonly system: VisionSystem;
  /** The server's feeds, open streams and limits. */
  readonly images: ImageRoutes;
}

const imageQuery = {
  type: 'object',
  properties: { boxes: { type: 'string', enum: ['0', '1'] }, h: { type: 'integer', minimum: 16, maximum: 4320 } },
  additionalProperties: false,
};

type ImageRequest = FastifyRequest<{ Params: { id: string }; Querystring: { boxes?: '0' | '1'; h?: number } }>;

export function registerPictureRoutes(app: FastifyInstance, options: PictureRoutesOptions): void {
  const { system, images } = options;
  const feedKey = (request: ImageRequest): FeedKey => {
    const { id } = request.params;
    if (system.stats().cameras[id] === undefined) throw unknownCamera(id);
    return { camera: id, height: request.query.h ?? 0, boxes: request.query.boxes === '1' };
  };
  app.get('/api/cameras/:id/latest.jpg', { schema: { params: idParams('id'), querystring: imageQuery } }, async (request: ImageRequest, reply) => {
    const frame = await latestFrame(images, feedKey(request));
    return reply
      .type('image/jpeg')
      .header('cache-control', 'no-store')
      .header('x-frame-seq', String(frame.seq))
      .header('x-frame-wall-time', String(frame.wallTime))
      .header('x-privacy-held-ms', String(frame.heldMs))
      .send(frame.jpeg);
  });
  app.get('/api/cameras/:id/mjpeg', { schema: { params: idParams('id'), querystring: imageQuery } }, (request: ImageRequest, reply) =>
    mjpegStream(images, feedKey(request), request, reply),
  );
}
