// A preload for profiling the hot path (docs/performance.md, "Where the time goes"):
//   node --import ./scripts/profile-preload.mjs <server> ...
// It measures what a waiting request waited for, from inside the server:
// the event-loop delay (monitorEventLoopDelay, 1 ms resolution), the
// event-loop utilisation, and the GC pauses (PerformanceObserver 'gc'),
// by kind. With PROFILE_WAITS=1 it also wraps http.Server#emit to time, per
// connection, how long each request took to reach the server after the
// previous response on that connection had been written ('finish' to the next
// 'request', or for a connection's first request from its accept: the client's turnaround, near zero for wrk, plus the time the
// request sat unread), and counts the requests of each connection. SIGUSR2 starts the measured window afresh (the driver sends it
// just before the load); at exit, one JSON line goes to PROFILE_TAIL_OUT
// (or standard error). It changes nothing in the server.
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { PerformanceObserver, constants, monitorEventLoopDelay, performance } from 'node:perf_hooks';

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major (mark-sweep-compact)',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor (scavenge)',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
let gc = new Map();
let pauses = [];
let eluStart = performance.eventLoopUtilization();
let windowStart = performance.now();

const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = KINDS[entry.detail?.kind ?? entry.kind] ?? `kind ${entry.detail?.kind ?? entry.kind}`;
    const row = gc.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
    row.count += 1;
    row.totalMs += entry.duration;
    row.maxMs = Math.max(row.maxMs, entry.duration);
    gc.set(kind, row);
    pauses.push(entry.duration);
  }
});
observer.observe({ entryTypes: ['gc'] });

let waits = [];
let firstWaits = [];
let acceptTimes = [];
let perSocket = new Map();
if (process.env.PROFILE_WAITS) {
  const emit = http.Server.prototype.emit;
  const lastFinish = new WeakMap();
  const accepted = new WeakMap();
  http.Server.prototype.emit = function (event, req, res) {
    if (event === 'connection') {
      accepted.set(req, performance.now());
      acceptTimes.push(performance.now());
    }
    if (event === 'request') {
      const now = performance.now();
      const socket = req.socket;
      const before = lastFinish.get(socket);
      if (before !== undefined) waits.push(now - before);
      else if (accepted.has(socket)) firstWaits.push(now - accepted.get(socket));
      perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
      res.once('finish', () => lastFinish.set(socket, performance.now()));
    }
    return emit.apply(this, arguments);
  };
}

process.on('SIGUSR2', () => {
  waits = [];
  firstWaits = [];
  acceptTimes = [];
  perSocket = new Map();
  delay.reset();
  gc = new Map();
  pauses = [];
  eluStart = performance.eventLoopUtilization();
  windowStart = performance.now();
});

const ms = (ns) => Math.round(ns / 1e4) / 100;

process.on('exit', () => {
  const windowMs = performance.now() - windowStart;
  const elu = performance.eventLoopUtilization(eluStart);
  const sorted = pauses.slice().sort((a, b) => a - b);
  const q = (p) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 1000) / 1000);
  const totalGcMs = [...gc.values()].reduce((sum, row) => sum + row.totalMs, 0);
  const report = {
    pid: process.pid,
    windowMs: Math.round(windowMs),
    eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
    eventLoopDelayMs: {
      min: ms(delay.min),
      p50: ms(delay.percentile(50)),
      p90: ms(delay.percentile(90)),
      p99: ms(delay.percentile(99)),
      p999: ms(delay.percentile(99.9)),
      max: ms(delay.max),
      mean: ms(delay.mean),
      samples: delay.count,
    },
    gc: {
      count: pauses.length,
      totalMs: Math.round(totalGcMs * 10) / 10,
      shareOfWindow: Math.round((totalGcMs / windowMs) * 10000) / 10000,
      pauseMs: { p50: q(50), p99: q(99), max: q(100) },
      byKind: Object.fromEntries([...gc].map(([kind, row]) => [kind, { count: row.count, totalMs: Math.round(row.totalMs * 10) / 10, maxMs: Math.round(row.maxMs * 1000) / 1000 }])),
    },
  };
  if (process.env.PROFILE_WAITS) {
    const w = waits.slice().sort((a, b) => a - b);
    const wq = (p) => (w.length === 0 ? 0 : Math.round(w[Math.min(w.length - 1, Math.floor((p / 100) * w.length))] * 100) / 100);
    const f = firstWaits.slice().sort((a, b) => a - b);
    report.firstRequestAfterAcceptMs = { count: f.length, min: Math.round((f[0] ?? 0) * 100) / 100, median: Math.round((f[Math.floor(f.length / 2)] ?? 0) * 100) / 100, max: Math.round((f.at(-1) ?? 0) * 100) / 100 };
    report.acceptsMs = { count: acceptTimes.length, firstToLast: Math.round(((acceptTimes.at(-1) ?? 0) - (acceptTimes[0] ?? 0)) * 100) / 100, sinceWindow: acceptTimes.map((t) => Math.round(t - windowStart)) };
    const counts = [...perSocket.values()].sort((a, b) => a - b);
    report.unreadWaitMs = { count: w.length, p50: wq(50), p90: wq(90), p99: wq(99), p999: wq(99.9), max: wq(100), over100ms: w.filter((x) => x > 100).length, over500ms: w.filter((x) => x > 500).length };
    report.requestsPerConnection = { connections: counts.length, min: counts[0] ?? 0, p10: counts[Math.floor(counts.length / 10)] ?? 0, median: counts[Math.floor(counts.length / 2)] ?? 0, max: counts.at(-1) ?? 0 };
  }
  const line = `${JSON.stringify(report)}\n`;
  if (process.env.PROFILE_TAIL_OUT) appendFileSync(process.env.PROFILE_TAIL_OUT, line);
  else process.stderr.write(line);
});
