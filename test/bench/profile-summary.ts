/**
 * Summarises V8 .cpuprofile files side by side: self time per function (name, file:line), as ms and as
 * a share of the profile, optionally per GB served. Run by hand:
 *   npx tsx test/bench/profile-summary.ts DIR/dash.cpuprofile DIR/dash-cenc.cpuprofile [--top 40] [--gb 2.1,2.6]
 * `--gb` (GB served during each profile, from bench.json's servedBytes) turns ms into CPU ms per GB, the
 * unit of the bench's s/GB, so that profiles of runs that served different amounts compare.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const files = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 40;
const gbIdx = args.indexOf('--gb');
const gb = gbIdx >= 0 ? args[gbIdx + 1]!.split(',').map(Number) : undefined;

function label(n: Node): string {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\//, '').replace(/.*\/(src|node_modules|test)\//, '$1/');
  const name = f.functionName || '(anonymous)';
  return url ? `${name} ${url}:${f.lineNumber + 1}` : name;
}

function selfTimes(p: Profile): { byLabel: Map<string, number>; totalMs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byLabel = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; the time of sample i is the next delta.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const l = label(byId.get(p.samples[i]!)!);
    byLabel.set(l, (byLabel.get(l) ?? 0) + dt);
    total += dt;
  }
  return { byLabel, totalMs: total };
}

const profiles = files.map((f) => selfTimes(JSON.parse(readFileSync(f, 'utf8')) as Profile));
const scale = profiles.map((_, i) => (gb ? 1 / gb[i]! : 1));
const unit = gb ? 'ms/GB' : 'ms';
const all = new Map<string, number>();
profiles.forEach((p, i) => p.byLabel.forEach((ms, l) => all.set(l, Math.max(all.get(l) ?? 0, ms * scale[i]!))));
const rows = [...all.keys()].sort((a, b) => all.get(b)! - all.get(a)!).slice(0, top);
const head = files.map((f) => basename(f, '.cpuprofile').padStart(14)).join('');
console.log(`${head}   self ${unit} (share)`);
console.log(`${profiles.map((p, i) => `${(p.totalMs * scale[i]!).toFixed(0).padStart(8)} total`.padStart(14)).join('')}`);
for (const l of rows) {
  const cells = profiles.map((p, i) => {
    const ms = p.byLabel.get(l) ?? 0;
    return `${(ms * scale[i]!).toFixed(0).padStart(7)} ${((100 * ms) / p.totalMs).toFixed(1).padStart(4)}%`;
  });
  console.log(`${cells.join(' ')}  ${l}`);
}
