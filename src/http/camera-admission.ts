/**
 * What the network may not do with a camera entry (POST and PUT
 * /api/cameras/:id): run programs without allowExec, name environment
 * variables outside the references policy (or unset ones), or write GET's
 * mask where a secret goes.
 *
 * Contract: admitCamera() gives the entry as the system is to take it (its
 * references expanded, unless passed on as written), the values that put in
 * (to keep out of answers), and the entry as the config file is to have it
 * (the body, with the masks it echoed back as their secrets: ADR 0108) and
 * the values put there (never shown: an error's message about them is masked
 * as for a value from the environment); else it throws the coded refusal:
 * ERR_HTTP_MASKED_SECRET, ERR_HTTP_EXEC_NOT_ALLOWED or ERR_HTTP_ENV_REFERENCE,
 * each naming where in the entry, never a value.
 */
import { referableValues, type CameraAdmissionPolicy, type VisionSystem } from '../pipeline/index.js';
import { HttpError } from './errors.js';
import { restoreMaskedEcho } from './masked-echo.js';

export interface CameraAdmissionOptions {
  readonly system: VisionSystem;
  /** Cameras from the API may have `command` and file `module` workers. */
  readonly allowExec: boolean;
  /** Which `${NAME}` references API values may hold. */
  readonly references: CameraAdmissionPolicy['references'];
  /** Where `${NAME}` takes its value; null: passed on as written (a control of its own, a cluster's, expands it elsewhere). */
  readonly env: Readonly<Record<string, string | undefined>> | null;
  /** Values the config took from `${NAME}`, masked wherever they stand. */
  readonly secrets: readonly string[];
}

/** A camera entry admitted from the API: to run (`entry`, its `secrets`) and to save (`written`, the `hidden` values it restored). */
export interface AdmittedCamera {
  readonly entry: unknown;
  readonly secrets: readonly string[];
  readonly written: unknown;
  readonly hidden: readonly string[];
}

/** How the API shows the config: the file's values masked too, in the file's syntax (a literal `${` as `$${`), so what is read can be written back. */
export function shownConfig(secrets: readonly string[]): { secrets: readonly string[]; asWritten: true } {
  return { secrets, asWritten: true };
}

export function admitCamera(id: string, body: unknown, options: CameraAdmissionOptions): AdmittedCamera {
  const { system, env, references } = options;
  // A camera read and written back: a mask GET showed is the secret as the camera has it (ADR 0108).
  const running = system.config.current().cameras[id];
  const referable = referableValues(references, env ?? process.env);
  const named = new Set(referable.values());
  const echo = restoreMaskedEcho(body, {
    shown: system.config.maskedCamera(id, shownConfig(options.secrets)),
    running: running === undefined ? undefined : system.config.asWritten(running),
    references: referable,
    unnamed: options.secrets.filter((value) => !named.has(value)),
  });
  if (!echo.ok) throw new HttpError('ERR_HTTP_MASKED_SECRET', `cameras.${id}${echo.path === '' ? '' : `.${echo.path}`}: ${echo.message}`);
  const admission = system.config.admit(echo.entry, {
    allowExec: options.allowExec,
    references,
    ...(env === null ? {} : { env }),
  });
  if (admission.admitted) return { entry: admission.entry, secrets: admission.secrets, written: echo.entry, hidden: echo.restored.map((r) => r.value) };
  const { problem } = admission;
  const where = `cameras.${id}${problem.path === '' ? '' : `.${problem.path}`}`;
  throw problem.kind === 'exec'
    ? new HttpError(
        'ERR_HTTP_EXEC_NOT_ALLOWED',
        `${where}: ${problem.message} (cameras with command or file module workers, or a lavfi: source, come from the config file, or from the API with http.allowExec: true)`,
      )
    : new HttpError('ERR_HTTP_ENV_REFERENCE', `${where}: ${problem.message}`);
}
