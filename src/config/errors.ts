/**
 * The config file's one error: ConfigError, code ERR_CONFIG, carrying every
 * problem found (not only the first) as issues with the path of the offending
 * key and its line in the file. Messages never quote a string value from the
 * file: they name keys, names (ids, camera and model names), numbers, allowed
 * values and variable names only, so no secret can leak through an error.
 */
import { FrameSupplierError } from '../supplier/index.js';

export interface ConfigIssue {
  /** Where, as keys and indexes: `cameras.entrance.workers[1].criticality`; '' for the file as a whole. */
  readonly path: string;
  /** What is wrong, for a human: `must be one of critical, high, normal, best-effort`. */
  readonly message: string;
  /** 1-based line and column in the file, when the path (or its nearest parent) is in it. */
  readonly line?: number;
  readonly column?: number;
}

/** One issue as the CLI prints it: `path: message (line N)`; an issue about the whole file has no path. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? '' : ` (line ${issue.line})`;
  return `${issue.path === '' ? '' : `${issue.path}: `}${issue.message}${where}`;
}

export class ConfigError extends FrameSupplierError<'ERR_CONFIG'> {
  readonly issues: readonly ConfigIssue[];
  /** The file (or name) the issues are about. */
  readonly fileName: string;

  constructor(fileName: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super('ERR_CONFIG', `${fileName}: ${count}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, options);
    this.issues = issues;
    this.fileName = fileName;
  }
}
