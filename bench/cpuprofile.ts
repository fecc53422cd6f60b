/**
 * `node dist/bench/cpuprofile.js PROFILE.cpuprofile [TOP] [FROM_S] [TO_S]`: where a V8 CPU profile (`node
 * --cpu-prof`) spent its samples, as Markdown: the share of the profile idle, in garbage collection, in the program
 * itself, and the TOP (default 25) functions by self time with their file, each as a share of the busy samples (idle
 * left out), and the same by source file. FROM_S and TO_S (seconds from the profile's start) keep the samples of a
 * window alone (a bench's measured seconds, without its start-up). What docs/benchmarks/notebook-2026-11-22-to-28.md's "Where P1's CPU goes"
 * quotes.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node dist/bench/cpuprofile.js PROFILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
// Time per node: each sample's time delta belongs to the node sampled (as Chrome DevTools counts it).
const from = profile.startTime + Number(fromArg ?? 0) * 1e6;
const to = toArg === undefined ? profile.endTime : profile.startTime + Number(toArg) * 1e6;
const selfUs = new Map<number, number>();
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < from || at > to) continue;
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const shortUrl = (url: string): string => url.replace(/^file:\/\/.*?\/dist\//, '').replace(/^node:/, 'node:');
let idle = 0;
let gc = 0;
let busy = 0;
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const name = node.callFrame.functionName;
  if (name === '(idle)') {
    idle += us;
    continue;
  }
  busy += us;
  if (name === '(garbage collector)') gc += us;
  const where = shortUrl(node.callFrame.url) || '(native)';
  const key = `${name || '(anonymous)'} ${where}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byFile.set(where, (byFile.get(where) ?? 0) + us);
}
const total = Math.min(to, profile.endTime) - Math.max(from, profile.startTime);
const pct = (us: number, of: number): string => `${((100 * us) / of).toFixed(1)} %`;
console.log(
  `profile: ${(total / 1e6).toFixed(1)} s; idle ${pct(idle, total)}; busy ${pct(busy, total)} (${(busy / 1e3).toFixed(0)} ms), of which GC ${pct(gc, busy)}\n`,
);
const table = (title: string, rows: Map<string, number>): void => {
  console.log(`| ${title} | self ms | share of busy |\n|---|---|---|`);
  for (const [key, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${key} | ${(us / 1e3).toFixed(0)} | ${pct(us, busy)} |`);
  console.log('');
};
table('function', byFunction);
table('file', byFile);
