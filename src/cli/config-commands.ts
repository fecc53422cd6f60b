/**
 * CLI commands of the config file:
 *   config check FILE   validates FILE; prints a line on each motion-gated worker, each camera of several streams (what each
 *                       decodes and for whom, and the cheaper choice), each camera decoding keyframes only, each camera's
 *                       summaries, each care-critical camera's silence alarm and each private camera's privacy, and the
 *                       resolved config as YAML, secrets masked (exit 0),
 *                       or ERR_CONFIG with every issue as `path: message (line N)` (exit 2),
 *                       or, for a valid file, a line `framesupplier: CODE: message` for each file it names that `run`
 *                       would not find (a worker's module or program, a model's files: src/pipeline's named-files.ts) (exit 2)
 *   config schema       prints the config file's JSON Schema, for editors
 */
import { stringify } from 'yaml';
import {
  configSchema,
  envOf,
  explainCare,
  explainDecode,
  explainFalls,
  explainGates,
  explainPrivacy,
  explainStreams,
  explainSummaries,
  loadConfig,
  maskConfig,
} from '../config/index.js';
import { namedFileProblems } from '../pipeline/index.js';
import { InvalidArgumentError } from '../supplier/index.js';
import { parseCommandLine } from '../internal/args.js';

export async function configCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { positionals } = parseCommandLine({ args: rest, options: {}, allowPositionals: true, strict: true });
  switch (sub) {
    case 'check': {
      const [file, extra] = positionals;
      if (file === undefined || extra !== undefined) throw new InvalidArgumentError('config check takes one file: framesupplier config check config.yaml');
      const config = await loadConfig(file);
      // Every one at once, each with the code `run` refuses it with.
      const missing = namedFileProblems(config);
      if (missing.length > 0) {
        process.stderr.write(missing.map((problem) => `framesupplier: ${problem.code}: ${problem.message}\n`).join(''));
        return 2;
      }
      // What a motion-gated worker does is not obvious from its keys: one line each (ADR 0066).
      // So is the age decoding keyframes only adds (ADR 0070), what a camera's summaries ask and where they are kept (ADR 0073),
      // and what each stream of a camera of several is decoded for, with the cheaper choice (ADR 0114).
      // And what a care-critical camera's silence alarm watches (ADR 0138), what a private camera sends out of the machine (ADR 0139),
      // and what a fall worker raises (ADR 0132).
      const gates = [
        ...explainGates(config),
        ...explainStreams(config),
        ...explainDecode(config),
        ...explainSummaries(config),
        ...explainCare(config),
        ...explainPrivacy(config),
        ...explainFalls(config),
      ].map((line) => `# ${line}.\n`);
      process.stdout.write(
        `# ${file}: valid.\n${gates.join('')}# The resolved config (defaults applied, paths absolute), secrets masked:\n${stringify(maskConfig(config, { secrets: envOf(config).values }))}`,
      );
      return 0;
    }
    case 'schema':
      if (positionals.length > 0) throw new InvalidArgumentError('config schema takes no arguments');
      process.stdout.write(`${JSON.stringify(configSchema, null, 2)}\n`);
      return 0;
    case undefined:
      throw new InvalidArgumentError('config needs a command: check FILE, schema');
    default:
      throw new InvalidArgumentError(`unknown config command ${JSON.stringify(sub)}: available: check FILE, schema`);
  }
}
