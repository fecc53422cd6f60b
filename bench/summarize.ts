/**
 * `node dist/bench/summarize.js RUN.jsonl ...`: medians over several runs of
 * `npm run bench`, as Markdown tables, plus the ratios the targets name,
 * computed within each run first and then taken as a median.
 */
import { readFileSync } from 'node:fs';

type Row = Record<string, string | number>;

const CONFIG_FIELDS = [
  'candidate',
  'subscribers',
  'work_ms',
  'mode',
  'concurrency',
  'transport',
  'streams',
  'cameras',
  'threads',
  'pose_max_people',
  'decoder',
];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3));

const files = process.argv.slice(2);
const runs: Row[][] = files.map((f) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Row),
);

const keyOf = (r: Row): string => [r.workload, r.impl, ...CONFIG_FIELDS.map((k) => r[k] ?? '')].join('|');
const groups = new Map<string, Row[]>();
for (const run of runs) for (const row of run) groups.set(keyOf(row), [...(groups.get(keyOf(row)) ?? []), row]);

const out: string[] = [`Medians over ${runs.length} run(s).`, ''];
for (const workload of [...new Set([...groups.values()].map((g) => String(g[0]!.workload)))]) {
  const rows = [...groups.values()].filter((g) => g[0]!.workload === workload);
  const fields = Object.keys(rows[0]![0]!).filter((k) => k !== 'workload');
  out.push(`### ${workload}`, '', `| ${fields.join(' | ')} |`, `|${fields.map(() => '---').join('|')}|`);
  for (const g of rows) {
    out.push(
      `| ${fields
        .map((f) => {
          const v = g[0]![f];
          return typeof v === 'number' && !CONFIG_FIELDS.includes(f) ? fmt(median(g.map((r) => Number(r[f])))) : String(v);
        })
        .join(' | ')} |`,
    );
  }
  out.push('');
}

// The W1 target: p50 at 256 subscribers over p50 at 1, within each run.
const w1Ratios = runs
  .map((run) => {
    const at = (n: number) => run.find((r) => r.workload === 'W1' && r.impl === 'framesupplier' && r.subscribers === n);
    const one = at(1);
    const many = at(256);
    return one && many ? Number(many.publish_ns_p50) / Number(one.publish_ns_p50) : null;
  })
  .filter((x): x is number => x !== null);
if (w1Ratios.length > 0) {
  out.push(
    `W1 framesupplier publish_ns_p50 at 256 subscribers ÷ at 1, per run: ${w1Ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(w1Ratios).toFixed(2)}.`,
    '',
  );
}
process.stdout.write(out.join('\n'));
