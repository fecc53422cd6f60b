/**
 * The routes of what the cameras saw: tracked-object events (Frigate's
 * fields, newest first, times in epoch seconds) and their snapshots, the
 * tracked objects alive now, fall and person-down alerts and their
 * acknowledgement (ADR 0132), and summaries of a stretch of a camera's time
 * (ADR 0073), asked for and listed.
 *
 * Contract: events come from the EventSource given (this node's store, or a
 * cluster's query of every node's); without one, /api/events is 404 with
 * what to add to the config. An alert is acknowledged by its id (404 when
 * none with it waits) or a camera's all at once, by the body's `by` when it
 * is 1–64 printable characters, else by `api`. A summary's window is checked by the system
 * (ERR_SUMMARY_WINDOW), so the API, MQTT and a library caller are held to
 * one rule. Queries are validated before they reach the source.
 */
import type { FastifyInstance } from 'fastify';
import { ID_PATTERN_SOURCE } from '../internal/ids.js';
import type { EventQuery } from '../objects/index.js';
import type { VisionSystem } from '../pipeline/index.js';
import { HttpError } from './errors.js';
import { idParams } from './route-params.js';

/**
 * What the API reads tracked-object events from: this node's store
 * (src/objects' EventStore), or in cluster mode every node's (the app wires
 * src/cluster's query in; this adapter knows neither). The answer is the
 * body of GET /api/events: `events`, newest first, and whatever the source
 * adds (the cluster: the nodes that answered and those `missing`).
 */
export interface EventSource {
  query(q: EventQuery): Promise<EventsAnswer>;
  snapshot(id: string): Promise<Buffer | null>;
}

/** `events`; a source may add fields of its own, sent as they are. */
export interface EventsAnswer {
  readonly events: readonly unknown[];
}

export interface EventRoutesOptions {
  readonly system: VisionSystem;
  /** The tracked-object events store; absent: /api/events is 404. */
  readonly events?: EventSource | undefined;
}

const eventsQuery = {
  type: 'object',
  properties: {
    camera: { type: 'string', pattern: ID_PATTERN_SOURCE },
    label: { type: 'string', minLength: 1, maxLength: 64 },
    zone: { type: 'string', pattern: ID_PATTERN_SOURCE },
    after: { type: 'number' },
    before: { type: 'number' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  additionalProperties: false,
};

/** An event's id (Frigate's shape, eventId()): a tracked object's or a fall alert's. */
const eventIdParams = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+\\.[0-9]{6}-[a-z0-9]{6}$' } }, required: ['id'] };

const cameraQuery = {
  type: 'object',
  properties: { camera: { type: 'string', pattern: ID_PATTERN_SOURCE } },
  additionalProperties: false,
};

/** Who acknowledged a fall alert: the body's `by` (1–64 printable characters: the dashboard says dashboard), else api. */
/** A camera's acknowledgement's `before` (epoch seconds: acknowledge only what was raised by then, ADR 0157), if the body gives a number. */
function raisedBefore(body: unknown): { raisedBefore: number } | Record<string, never> {
  const before = body !== null && typeof body === 'object' ? (body as { before?: unknown }).before : undefined;
  return typeof before === 'number' && Number.isFinite(before) ? { raisedBefore: before } : {};
}

function acknowledgedBy(body: unknown): string {
  const by = body !== null && typeof body === 'object' ? (body as { by?: unknown }).by : undefined;
  return typeof by === 'string' && /^[\x20-\x7e]{1,64}$/.test(by) ? by : 'api';
}

const summariesQuery = {
  type: 'object',
  properties: {
    camera: { type: 'string', pattern: ID_PATTERN_SOURCE },
    after: { type: 'number' },
    before: { type: 'number' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  additionalProperties: false,
};

export function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): void {
  const { system } = options;
  // tracked-object events (Frigate's fields), newest first; times in epoch seconds
  app.get<{ Querystring: EventQuery }>('/api/events', { schema: { querystring: eventsQuery } }, async (request) => {
    if (options.events === undefined) throw new HttpError('ERR_HTTP_NOT_FOUND', 'no events store: add an events section to the config');
    return await options.events.query(request.query);
  });
  app.get<{ Params: { id: string } }>('/api/events/:id/snapshot.jpg', { schema: { params: eventIdParams } }, async (request, reply) => {
    const jpeg = await options.events?.snapshot(request.params.id);
    if (jpeg == null) throw new HttpError('ERR_HTTP_NOT_FOUND', 'no snapshot for this event');
    return reply.type('image/jpeg').header('cache-control', 'private, max-age=60').send(jpeg);
  });

  // The tracked objects alive now (each with its latest box; a person's posture with a pose model: ADR 0132).
  app.get<{ Querystring: { camera?: string } }>('/api/objects', { schema: { querystring: cameraQuery } }, async (request) => ({
    objects: system.objects.tracked(request.query.camera),
  }));
  // Fall and person-down alerts (ADR 0132): those that stand or wait to be acknowledged, the latest answered (with their
  // figures: ADR 0159), the single-occupancy rooms (ADR 0158), and their acknowledgement.
  app.get<{ Querystring: { camera?: string } }>('/api/falls', { schema: { querystring: cameraQuery } }, async (request) => {
    const camera = request.query.camera;
    const { rooms, answered } = system.stats().falls;
    const mine = <T>(byCamera: Readonly<Record<string, T>>): Record<string, T> =>
      camera === undefined ? { ...byCamera } : Object.fromEntries(Object.entries(byCamera).filter(([id]) => id === camera));
    return { alerts: system.objects.falls(camera), answered: system.objects.answeredFalls(camera), rooms: mine(rooms), figures: mine(answered) };
  });
  app.post<{ Params: { id: string }; Body: unknown }>('/api/falls/:id/acknowledge', { schema: { params: eventIdParams } }, async (request) => {
    const [alert] = system.objects.acknowledgeFalls({ id: request.params.id }, acknowledgedBy(request.body));
    if (alert === undefined) throw new HttpError('ERR_HTTP_NOT_FOUND', `no fall alert ${request.params.id} waiting to be acknowledged`);
    return { alert };
  });
  app.post<{ Params: { id: string }; Body: unknown }>('/api/cameras/:id/falls/acknowledge', { schema: { params: idParams('id') } }, async (request) => ({
    acknowledged: system.objects.acknowledgeFalls({ camera: request.params.id, ...raisedBefore(request.body) }, acknowledgedBy(request.body)),
  }));

  // Summaries of a stretch of a camera's time (ADR 0073): the body is the window ({ lastSeconds } or { from, to }),
  // checked by the system (ERR_SUMMARY_WINDOW), so the API, MQTT and a library caller are held to one rule.
  app.post<{ Params: { id: string }; Body: unknown }>('/api/cameras/:id/summary', { schema: { params: idParams('id') } }, async (request) => {
    const summary = await system.summaries.ask(request.params.id, request.body ?? {}, { via: 'api' });
    return { summary };
  });
  app.get<{ Querystring: { camera?: string; after?: number; before?: number; limit?: number } }>(
    '/api/summaries',
    { schema: { querystring: summariesQuery } },
    async (request) => ({ summaries: system.summaries.list(request.query) }),
  );
}
