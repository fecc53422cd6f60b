/**
 * Helpers for the metrics tests: scrape over real HTTP, check with Debian's
 * `promtool check metrics` (the prometheus package, installed by setup), and
 * parse Prometheus' text format into families of samples.
 */
import { spawnManaged } from '../../src/process/index.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

/** GET a URL: status, content type and body. */
export async function scrape(url: string, method = 'GET'): Promise<{ status: number; contentType: string | null; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

/** `promtool check metrics` on the text (stdin): its exit code and what it said. */
export async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  const proc = spawnManaged('promtool', ['check', 'metrics'], { stdin: 'pipe' });
  let output = '';
  proc.child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.child.stdin.end(text);
  const exit = await proc.exited;
  if (exit.error !== undefined)
    throw new Error(`promtool could not be started (Debian's prometheus package; scripts/setup.sh test installs it): ${exit.error.message}`);
  return { code: exit.code, output };
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

/** Prometheus' text format (0.0.4) → families by name; a sample belongs to the family its name starts with (histogram _bucket, _sum, _count). */
export function parseMetrics(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const f = family(meta[2]!);
      if (meta[1] === 'TYPE') (f as { type: string }).type = meta[3]!;
      else (f as { help: string }).help = meta[3]!;
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const [, name, rawLabels = '', value] = m;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    for (let l = LABEL.exec(rawLabels); l !== null; l = LABEL.exec(rawLabels))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const base = [...families.keys()].find(
      (k) => name === k || (families.get(k)!.type === 'histogram' && /^_(bucket|sum|count)$/.test(name!.slice(k.length)) && name!.startsWith(k)),
    );
    family(base ?? name!).samples.push({ name: name!, labels, value: Number(value) });
  }
  return families;
}

/** The value of the one sample of a family with these labels (and no others than these plus `extra` keys ignored). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string>, sampleName = name): number | undefined {
  const f = families.get(name);
  const s = f?.samples.find(
    (x) => x.name === sampleName && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length,
  );
  return s?.value;
}
