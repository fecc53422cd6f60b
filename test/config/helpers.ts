/** Helpers for the config tests: the issues a text gets, and finding one. */
import assert from 'node:assert/strict';
import { ConfigError, formatIssue, parseConfig, type ConfigIssue, type ParseConfigOptions } from '../../src/config/index.js';

/** The issues of a text the loader must refuse (fails the test when it accepts it or throws anything else). */
export function issuesOf(text: string, options: ParseConfigOptions = {}): readonly ConfigIssue[] {
  try {
    parseConfig(text, { env: {}, fileName: 'test.yaml', ...options });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    assert.equal(error.code, 'ERR_CONFIG');
    return error.issues;
  }
  assert.fail('the config was accepted');
}

/** Lines as the CLI prints them: `path: message (line N)`. */
export const printed = (issues: readonly ConfigIssue[]): string[] => issues.map(formatIssue);

/** The one issue at path (fails when there is none or several). */
export function issueAt(issues: readonly ConfigIssue[], path: string): ConfigIssue {
  const found = issues.filter((i) => i.path === path);
  assert.equal(found.length, 1, `one issue at ${path} in:\n${printed(issues).join('\n')}`);
  return found[0]!;
}

/** Joins lines into a YAML text (so tests can count lines). */
export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
