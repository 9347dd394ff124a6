// Summarises V8 CPU profiles (`node --cpu-prof`) (docs/performance.md,
// "Where the time goes"): self and total time by function and by source file or
// package, and the share of each stage of a request.
//
//   npx tsx scripts/profile-summary.ts [--skip-ms N] [--rps A,B,...] [--top N] NAME=FILE.cpuprofile ...
//
// The window: the longest stretch of 100 ms bins in which the process was busy
// (idle under half the bin), i.e. the load, less its first --skip-ms (warm-up).
// Each sample is one stage: the leaf-most frame of its stack that belongs to a
// stage (STRONG below: filegate's modules, the libraries, node's HTTP modules);
// failing that, the leaf-most frame of a generic node module (WEAK: fs, net,
// streams, crypto, task queues); (garbage collector), (idle) and (program) stand
// for themselves. So time in node:fs under src/layers counts as open/stat, under
// src/log-output (or sonic-boom) as log; jose's calls into node:crypto count as auth.
// With --rps (the load's requests/s per profile, from wrk), CPU µs per request =
// busy time per second ÷ requests per second. A markdown table of the stage
// shares of all profiles closes the output.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export const STAGES = [
  'HTTP parse & server (node:_http_server/common/incoming)',
  'Koa (koa, koa-compose, @koa/router, their deps)',
  'auth (jose, src/auth, node:crypto under them)',
  'limits (src/http/limits)',
  'path (src/paths)',
  'open/stat/read (src/layers, src/files, node:fs)',
  'plan (src/transfer: plan, preconditions, range, validators)',
  'headers/write (send-transfer, _http_outgoing, writeHead)',
  'log (pino, src/logger, src/log-output, src/http/observe)',
  'metrics (prom-client, src/http/metrics)',
  'filegate other (src/app, routes, http/*)',
  'ceiling handler (scripts/bench-peers)',
  'socket I/O (node:net, streams)',
  'async plumbing (task queues, timers, async hooks)',
  'other node internals / native',
  'GC',
  '(program): VM, native, outside JS',
  'idle',
] as const;
export type Stage = (typeof STAGES)[number];
const S = (prefix: string): Stage => {
  const stage = STAGES.find((s) => s.startsWith(prefix));
  if (stage === undefined) throw new Error(`no stage ${prefix}`);
  return stage;
};

const KOA_PACKAGES = new Set(['koa', 'koa-compose', '@koa/router', 'koa-convert', 'delegates', 'only', 'statuses', 'on-finished', 'ee-first', 'vary', 'fresh', 'type-is', 'accepts', 'negotiator', 'cookies', 'keygrip', 'http-errors', 'http-assert', 'path-to-regexp', 'encodeurl', 'escape-html', 'content-type', 'depd', 'destroy']);
const LOG_PACKAGES = new Set(['pino', 'sonic-boom', 'pino-std-serializers', 'fast-redact', '@pinojs/redact', 'quick-format-unescaped', 'atomic-sleep', 'safe-stable-stringify', 'on-exit-leak-free', 'thread-stream', 'process-warning']);
const METRICS_PACKAGES = new Set(['prom-client', 'bintrees', 'tdigest']);
const WRITE_FUNCTIONS = new Set(['writeHead', '_implicitHeader', 'setHeader', 'end', 'write', '_storeHeader', '_send', '_writeRaw']);

/** A frame's source: a package name, `src/...` / `scripts/...` without extension, `node:...`, or a native name. */
export function sourceOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const own = /\/(?:dist\/)?((?:src|scripts)\/.*?)\.(?:[cm]?js|[cm]?ts)$/.exec(url);
  return own?.[1] ?? url;
}

/** The stage a frame belongs to on its own: strong (app, libraries, HTTP) or weak (generic node modules), or neither. */
export function frameStage(frame: CallFrame): { strong?: Stage; weak?: Stage } {
  const source = sourceOf(frame);
  if (source === '(garbage collector)') return { strong: S('GC') };
  if (source === '(idle)') return { strong: S('idle') };
  if (source === '(program)') return { strong: S('(program)') };
  if (source === 'node:_http_outgoing') return { strong: S('headers/write') };
  if (source === 'node:_http_server') return { strong: WRITE_FUNCTIONS.has(frame.functionName) ? S('headers/write') : S('HTTP parse') };
  if (source === 'node:_http_common' || source === 'node:_http_incoming') return { strong: S('HTTP parse') };
  if (KOA_PACKAGES.has(source)) return { strong: S('Koa') };
  if (source === 'jose' || source.startsWith('src/auth/')) return { strong: S('auth') };
  if (LOG_PACKAGES.has(source) || source === 'src/logger' || source === 'src/log-output' || source === 'src/http/observe') return { strong: S('log') };
  if (METRICS_PACKAGES.has(source) || source === 'src/http/metrics') return { strong: S('metrics') };
  if (source === 'src/http/limits') return { strong: S('limits') };
  if (source.startsWith('src/paths/')) return { strong: S('path') };
  if (source.startsWith('src/layers/') || source.startsWith('src/files/')) return { strong: S('open/stat') };
  if (source === 'src/transfer/send-transfer') return { strong: S('headers/write') };
  if (source.startsWith('src/transfer/')) return { strong: S('plan') };
  if (source.startsWith('src/')) return { strong: S('filegate other') };
  // The ceiling's own code is weak: node:fs under it counts as open/stat, node:_http_* as theirs.
  if (source.startsWith('scripts/bench-peers')) return { weak: S('ceiling handler') };
  if (source === 'node:fs' || source.startsWith('node:internal/fs/')) return { weak: S('open/stat') };
  if (source === 'node:net' || source.startsWith('node:internal/stream') || source === 'node:stream' || source === 'node:internal/streams') return { weak: S('socket I/O') };
  if (source === 'node:crypto' || source.startsWith('node:internal/crypto')) return { weak: S('auth') };
  if (source.startsWith('node:internal/process/task_queues') || source.startsWith('node:internal/timers') || source === 'node:timers' || source.startsWith('node:internal/async_hooks')) return { weak: S('async plumbing') };
  return {};
}

interface Summary {
  name: string;
  windowMs: number;
  startMs: number;
  busyMs: number;
  stageMs: Map<Stage, number>;
  selfByFunction: Map<string, number>;
  selfBySource: Map<string, number>;
  selfByStageFunction: Map<Stage, Map<string, number>>;
  totalBySource: Map<string, number>;
}

function summarise(name: string, profile: Profile, skipMs: number): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Per node: the leaf-most strong and weak stage of its stack, its stage, and its stack's sources.
  const strong = new Map<number, Stage | undefined>();
  const weak = new Map<number, Stage | undefined>();
  const resolve = (id: number): void => {
    if (strong.has(id)) return;
    const chain: number[] = [];
    for (let at: number | undefined = id; at !== undefined && !strong.has(at); at = parent.get(at)) chain.push(at);
    for (const at of chain.reverse()) {
      const own = frameStage(byId.get(at)!.callFrame);
      const up = parent.get(at);
      strong.set(at, own.strong ?? (up === undefined ? undefined : strong.get(up)));
      weak.set(at, own.weak ?? (up === undefined ? undefined : weak.get(up)));
    }
  };
  const stageOf = (id: number): Stage => {
    resolve(id);
    return strong.get(id) ?? weak.get(id) ?? S('other node internals');
  };
  const sourcesOf = new Map<number, Set<string>>();
  const stackSources = (id: number): Set<string> => {
    let set = sourcesOf.get(id);
    if (set) return set;
    const up = parent.get(id);
    set = new Set(up === undefined ? [] : stackSources(up));
    set.add(sourceOf(byId.get(id)!.callFrame));
    sourcesOf.set(id, set);
    return set;
  };

  // Sample i lasts until sample i+1 (timeDeltas[i+1]); times relative to the profile's start.
  const n = profile.samples.length;
  const at = new Float64Array(n);
  const lasts = new Float64Array(n);
  let t = 0;
  for (let i = 0; i < n; i += 1) {
    t += profile.timeDeltas[i] ?? 0;
    at[i] = t / 1000;
  }
  for (let i = 0; i < n; i += 1) lasts[i] = i + 1 < n ? at[i + 1]! - at[i]! : 0;

  // The load: the longest run of 100 ms bins that were at least half busy.
  const BIN = 100;
  const bins = Math.ceil((at[n - 1] ?? 0) / BIN) + 1;
  const idleIn = new Float64Array(bins);
  const allIn = new Float64Array(bins);
  for (let i = 0; i < n; i += 1) {
    const bin = Math.floor(at[i]! / BIN);
    allIn[bin]! += lasts[i]!;
    if (stageOf(profile.samples[i]!) === 'idle') idleIn[bin]! += lasts[i]!;
  }
  let best = [0, 0];
  for (let b = 0, start = -1; b <= bins; b += 1) {
    const busy = b < bins && allIn[b]! > 0 && idleIn[b]! < allIn[b]! / 2;
    if (busy && start < 0) start = b;
    if (!busy && start >= 0) {
      if (b - start > best[1]! - best[0]!) best = [start, b];
      start = -1;
    }
  }
  const from = best[0]! * BIN + skipMs;
  const to = best[1]! * BIN;
  if (to <= from) throw new Error(`${name}: no busy stretch longer than --skip-ms`);

  const summary: Summary = { name, windowMs: to - from, startMs: from, busyMs: 0, stageMs: new Map(), selfByFunction: new Map(), selfBySource: new Map(), selfByStageFunction: new Map(), totalBySource: new Map() };
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  for (let i = 0; i < n; i += 1) {
    if (at[i]! < from || at[i]! >= to) continue;
    const id = profile.samples[i]!;
    const ms = lasts[i]!;
    const stage = stageOf(id);
    summary.stageMs.set(stage, (summary.stageMs.get(stage) ?? 0) + ms);
    if (stage !== 'idle') summary.busyMs += ms;
    const frame = byId.get(id)!.callFrame;
    const source = sourceOf(frame);
    const fn = `${frame.functionName || '(anonymous)'} ${source}${frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : ''}`;
    add(summary.selfByFunction, fn, ms);
    let inStage = summary.selfByStageFunction.get(stage);
    if (inStage === undefined) summary.selfByStageFunction.set(stage, (inStage = new Map()));
    add(inStage, fn, ms);
    add(summary.selfBySource, source, ms);
    for (const s of stackSources(id)) add(summary.totalBySource, s, ms);
  }
  return summary;
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

function top(map: Map<string, number>, count: number): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, count);
}

function main(): void {
  const args = process.argv.slice(2);
  let skipMs = 0;
  let topN = 25;
  let rps: number[] = [];
  const inputs: [string, string][] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--skip-ms') skipMs = Number(args[++i]);
    else if (arg === '--top') topN = Number(args[++i]);
    else if (arg === '--rps') rps = args[++i]!.split(',').map(Number);
    else {
      const eq = arg.indexOf('=');
      inputs.push(eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg.replace(/^.*\//, ''), arg]);
    }
  }
  if (inputs.length === 0) {
    process.stderr.write('usage: tsx scripts/profile-summary.ts [--skip-ms N] [--rps A,B] [--top N] NAME=FILE.cpuprofile ...\n');
    process.exit(2);
  }
  const summaries = inputs.map(([name, file]) => summarise(name, JSON.parse(readFileSync(file, 'utf8')) as Profile, skipMs));
  summaries.forEach((s, index) => {
    const w = s.windowMs;
    process.stdout.write(`\n== ${s.name}: window ${fmt(w)} from ${(s.startMs / 1000).toFixed(1)} s, busy ${pct(s.busyMs, w)}`);
    const r = rps[index];
    if (r !== undefined && r > 0) process.stdout.write(`, ${r} req/s → ${((s.busyMs / w) * 1e6 / r).toFixed(0)} µs of busy time per request`);
    process.stdout.write('\n\n-- stages (share of the window)\n');
    for (const stage of STAGES) {
      const ms = s.stageMs.get(stage) ?? 0;
      if (ms > 0) process.stdout.write(`${pct(ms, w).padStart(7)}  ${fmt(ms).padStart(8)}  ${stage}\n`);
    }
    process.stdout.write('\n-- within each stage, the functions with the most self time (top 6)\n');
    for (const stage of STAGES) {
      const inStage = s.selfByStageFunction.get(stage);
      if (inStage === undefined || stage === 'idle') continue;
      process.stdout.write(`${stage}: ${top(inStage, 6).map(([key, ms]) => `${key} ${pct(ms, w)}`).join('; ')}\n`);
    }
    process.stdout.write(`\n-- self time by function (top ${topN})\n`);
    for (const [key, ms] of top(s.selfByFunction, topN)) process.stdout.write(`${pct(ms, w).padStart(7)}  ${key}\n`);
    process.stdout.write(`\n-- self time by source file / package (top ${topN})\n`);
    for (const [key, ms] of top(s.selfBySource, topN)) process.stdout.write(`${pct(ms, w).padStart(7)}  ${key}\n`);
    process.stdout.write(`\n-- total time (on the stack) by source file / package (top ${topN})\n`);
    for (const [key, ms] of top(s.totalBySource, topN)) process.stdout.write(`${pct(ms, w).padStart(7)}  ${key}\n`);
  });
  process.stdout.write(`\n| stage | ${summaries.map((s) => s.name).join(' | ')} |\n|---|${summaries.map(() => '--:').join('|')}|\n`);
  for (const stage of STAGES) {
    if (summaries.every((s) => !s.stageMs.get(stage))) continue;
    const cells = summaries.map((s, index) => {
      const ms = s.stageMs.get(stage) ?? 0;
      const r = rps[index];
      return r ? `${pct(ms, s.windowMs)} (${((ms / s.windowMs) * 1e6 / r).toFixed(0)} µs)` : pct(ms, s.windowMs);
    });
    process.stdout.write(`| ${stage} | ${cells.join(' | ')} |\n`);
  }
}

main();
