/**
 * The routes of cameras and the config: the config and the cameras as they
 * run (masked), a camera added, replaced or removed, and its zones, masks and
 * lines (the dashboard's editor).
 *
 * Contract:
 * - What is read is masked (shownConfig: the config's secrets and the values
 *   taken from `${NAME}`, in the file's syntax) and can be written back as it
 *   was read (ADR 0108).
 * - A camera from the API is admitted first (camera-admission.ts): no
 *   programs without allowExec, no `${NAME}` outside the policy, no mask
 *   where a secret goes. Its error answers never show a value it put in.
 * - Changes go to `control` (the system, or a cluster's control), and then to
 *   the config file with --save-config (`save`); ?dryRun=true forecasts what
 *   a change would do and changes nothing (ADR 0042).
 */
import type { FastifyInstance } from 'fastify';
import { codeOf } from '../internal/errors.js';
import { cameraAreasOf, PipelineError, type SystemControl, type VisionSystem } from '../pipeline/index.js';
import { admitCamera, shownConfig, type CameraAdmissionOptions } from './camera-admission.js';
import { idParams, unknownCamera } from './route-params.js';
import type { ConfigEdit } from './save-config.js';

export interface CameraRoutesOptions {
  readonly system: VisionSystem;
  /** What changes cameras: the system, or a cluster's control. */
  readonly control: SystemControl;
  /** A cluster's control: a camera may run on another node, and its changes are kept in the cluster's desired state. */
  readonly cluster: boolean;
  /** What the network may not put in a camera. */
  readonly admission: CameraAdmissionOptions;
  /** Writes a change to the config file (--save-config); true once it is there. */
  readonly save: (edit: ConfigEdit) => Promise<boolean>;
  /** Whether there is a config file to save to (--save-config). */
  readonly savesConfig: boolean;
}

// ?dryRun=true: what the change would do to the models it shares and to the workers' objectives; nothing changes (ADR 0042).
// activity: the share of the time something moves in front of the camera, for its motion-gated workers (ADR 0066).
const dryRunQuery = {
  type: 'object',
  properties: { dryRun: { type: 'boolean' }, activity: { type: 'number', minimum: 0, maximum: 1 } },
  additionalProperties: false,
} as const;

export function registerCameraRoutes(app: FastifyInstance, options: CameraRoutesOptions): void {
  const { system, control, save } = options;
  const shown = shownConfig(options.admission.secrets);

  app.get('/api/config', async () => system.config.masked(shown));
  app.get('/api/cameras', async () => ({ cameras: Object.values(system.stats().cameras) }));
  app.get<{ Params: { id: string } }>('/api/cameras/:id', { schema: { params: idParams('id') } }, async (request) => {
    const { id } = request.params;
    const stats = system.stats().cameras[id];
    if (stats === undefined) throw unknownCamera(id);
    return { ...stats, config: system.config.maskedCamera(id, shown) };
  });

  app.post<{ Params: { id: string }; Body: unknown; Querystring: { dryRun?: boolean; activity?: number } }>(
    '/api/cameras/:id',
    { schema: { params: idParams('id'), body: { type: 'object' }, querystring: dryRunQuery } },
    async (request, reply) => {
      const { id } = request.params;
      const { entry, secrets, written, hidden } = admitCamera(id, request.body, options.admission);
      try {
        if (request.query.dryRun === true) return await system.config.forecast(id, entry, { replace: false, ...activityOf(request.query) });
        await control.cameras.add(id, entry, { secrets });
      } catch (error) {
        throw addedOverHttp(id, system.config.redactEntryError(error, id, written, [...secrets, ...hidden]));
      }
      await save({ kind: 'set-camera', id, entry: written });
      return reply.code(201).send({ ok: true, camera: id, change: 'camera-added' });
    },
  );
  app.put<{ Params: { id: string }; Body: unknown; Querystring: { dryRun?: boolean; activity?: number } }>(
    '/api/cameras/:id',
    { schema: { params: idParams('id'), body: { type: 'object' }, querystring: dryRunQuery } },
    async (request) => {
      const { id } = request.params;
      const { entry, secrets, written, hidden } = admitCamera(id, request.body, options.admission);
      try {
        if (request.query.dryRun === true) return await system.config.forecast(id, entry, { replace: true, ...activityOf(request.query) });
        await control.cameras.replace(id, entry, { secrets });
      } catch (error) {
        throw system.config.redactEntryError(error, id, written, [...secrets, ...hidden]);
      }
      await save({ kind: 'set-camera', id, entry: written });
      return { ok: true, camera: id, change: 'camera-replaced' };
    },
  );
  // the dashboard's zone, mask and line editor: what the camera runs with now, and a change applied without a restart
  app.get<{ Params: { id: string } }>('/api/cameras/:id/areas', { schema: { params: idParams('id') } }, async (request) => {
    const { id } = request.params;
    const config = system.config.maskedCamera(id, shown);
    if (config === undefined) throw unknownCamera(id);
    // As GET /api/cameras/:id shows them: the file's syntax, what the editor writes back.
    return cameraAreasOf(config);
  });
  app.put<{ Params: { id: string }; Body: { zones?: unknown; masks?: unknown; lines?: unknown } }>(
    '/api/cameras/:id/areas',
    { schema: { params: idParams('id'), body: { type: 'object' } } },
    async (request) => {
      const { id } = request.params;
      // A cluster's camera may run on another node: its desired entry takes them, and its owner applies them.
      const cluster = options.cluster;
      if (!cluster && system.stats().cameras[id] === undefined) throw unknownCamera(id);
      // In the file's syntax (a literal `${` as `$${`, no `${NAME}`), as it is saved and shown; answered and saved as asked.
      await control.cameras.setAreas(id, request.body, { asWritten: true }).catch((error: unknown) => {
        throw codeOf(error) === 'ERR_UNKNOWN_CAMERA' ? unknownCamera(id) : error;
      });
      const areas = cameraAreasOf(request.body);
      // saved: kept past a restart, in the cluster's desired state (cluster mode) or the config file (--save-config); unsaved,
      // they last until the camera is replaced without them or the process ends, and unsavedBecause says why (no
      // --save-config, or a camera the file does not have). The file is written in cluster mode too, as a node's POST is.
      const inFile = await save({ kind: 'set-areas', id, areas });
      if (cluster) return { ok: true, camera: id, change: 'camera-areas', saved: true, savedTo: 'cluster', ...areas };
      const where = inFile ? { savedTo: 'config-file' } : { unsavedBecause: options.savesConfig ? 'not-in-config-file' : 'no-save-config' };
      return { ok: true, camera: id, change: 'camera-areas', saved: inFile, ...where, ...areas };
    },
  );
  app.delete<{ Params: { id: string } }>('/api/cameras/:id', { schema: { params: idParams('id') } }, async (request) => {
    const { id } = request.params;
    await control.cameras.remove(id);
    await save({ kind: 'remove-camera', id });
    return { ok: true, camera: id, change: 'camera-removed' };
  });
}

/** ERR_DUPLICATE_CAMERA as an HTTP client acts on it: the system's message names its own call, cameras.replace(). */
function addedOverHttp(id: string, error: unknown): unknown {
  if (codeOf(error) !== 'ERR_DUPLICATE_CAMERA') return error;
  return new PipelineError('ERR_DUPLICATE_CAMERA', `camera ${JSON.stringify(id)} exists; PUT /api/cameras/${id} replaces it`, { cause: error });
}

/** A dry run's expected activity share, when its query gives one. */
function activityOf(query: { readonly activity?: number }): { activity?: number } {
  return query.activity === undefined ? {} : { activity: query.activity };
}
