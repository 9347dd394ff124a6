// Issue 13, step 2: a closed-loop HTTP/1.1 client like `wrk -c64` that keeps every
// request's connection, send time and latency, to see where the tail waits
// (docs/performance.md, "Where the time goes"). Raw keep-alive sockets, one
// request in flight per connection, the next sent as soon as the last
// response's body (Content-Length) is in.
//
//   taskset -c 1 node scripts/profile-client.mjs URL TOKEN [CONNECTIONS=64] [SECONDS=10] [OUT.jsonl]
//
// With RANGE set (RANGE='bytes=0-1023'), every request carries that Range header (and a 206 is its success).
// OUT.jsonl gets one line per request: connection, send time and latency, in ms
// from the client's start.
//
// Prints the latency percentiles, and for the slow requests (over 10× the
// median): how many connections they fell on and whether they came in bursts
// across connections at one moment (a stall of the whole server) or one
// connection at a time (a connection left behind while the others are served).
import { writeFileSync } from 'node:fs';
import net from 'node:net';

const [urlText, token, connectionsText = '64', secondsText = '10', out] = process.argv.slice(2);
if (!urlText || !token) {
  process.stderr.write('usage: node scripts/profile-client.mjs URL TOKEN [CONNECTIONS] [SECONDS] [OUT.jsonl]\n');
  process.exit(2);
}
const url = new URL(urlText);
const range = process.env.RANGE ? `Range: ${process.env.RANGE}\r\n` : '';
const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n${range}\r\n`);
const connections = Number(connectionsText);
const seconds = Number(secondsText);
const records = [];
const t0 = performance.now();
const end = t0 + seconds * 1000;
let errors = 0;

function connect(index) {
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    socket.setNoDelay(true);
    let buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = () => {
      if (performance.now() >= end) {
        socket.destroy();
        resolve();
        return;
      }
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        const total = headEnd + 4 + length;
        if (buffer.length < total) return;
        const status = Number(head.slice(9, 12));
        if (status !== (range ? 206 : 200)) errors += 1;
        const now = performance.now();
        records.push({ c: index, sent: sentAt - t0, ms: now - sentAt });
        buffer = buffer.subarray(total);
        send();
      }
    });
    socket.on('error', () => {
      errors += 1;
      resolve();
    });
    socket.on('close', resolve);
  });
}

await Promise.all(Array.from({ length: connections }, (_, index) => connect(index)));
const sorted = records.map((r) => r.ms).sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const fmt = (ms) => `${ms.toFixed(1)} ms`;
process.stdout.write(`${records.length} requests in ${seconds} s (${(records.length / seconds).toFixed(0)}/s), ${errors} errors\n`);
process.stdout.write(`latency p50 ${fmt(q(50))}  p90 ${fmt(q(90))}  p99 ${fmt(q(99))}  p99.9 ${fmt(q(99.9))}  max ${fmt(q(100))}\n`);
// Per connection: requests answered, and its longest wait.
const perConnection = Array.from({ length: connections }, () => ({ n: 0, max: 0 }));
for (const r of records) {
  perConnection[r.c].n += 1;
  perConnection[r.c].max = Math.max(perConnection[r.c].max, r.ms);
}
const counts = perConnection.map((c) => c.n).sort((a, b) => a - b);
process.stdout.write(`requests per connection: min ${counts[0]}, median ${counts[Math.floor(counts.length / 2)]}, max ${counts[counts.length - 1]}\n`);
const slowAt = Math.max(10 * q(50), 1);
const slow = records.filter((r) => r.ms > slowAt);
const slowConnections = new Set(slow.map((r) => r.c));
process.stdout.write(`slow (over ${fmt(slowAt)}, 10× the median): ${slow.length} requests (${((100 * slow.length) / records.length).toFixed(2)}%) on ${slowConnections.size} of ${connections} connections\n`);
// How many other connections had a request in flight over the same span and were answered fast meanwhile.
let servedMeanwhile = 0;
let overlapped = 0;
for (const s of slow) {
  const from = s.sent;
  const to = s.sent + s.ms;
  const others = records.filter((r) => r.c !== s.c && r.sent >= from && r.sent + r.ms <= to);
  servedMeanwhile += others.length;
  const otherConnections = new Set(others.map((r) => r.c));
  overlapped += otherConnections.size;
}
if (slow.length > 0) {
  process.stdout.write(`while a slow request waited, the server answered on average ${(servedMeanwhile / slow.length).toFixed(0)} requests begun and ended in its wait, on ${(overlapped / slow.length).toFixed(0)} other connections\n`);
}
// Slow requests in the same 100 ms: bursts across connections?
const byBin = new Map();
for (const s of slow) {
  const bin = Math.floor((s.sent + s.ms) / 100);
  byBin.set(bin, (byBin.get(bin) ?? 0) + 1);
}
process.stdout.write(`slow requests ending per 100 ms bin (bins with any): ${[...byBin.values()].sort((a, b) => b - a).slice(0, 15).join(' ')}${byBin.size > 15 ? ' ...' : ''} (${byBin.size} bins)\n`);
if (out) writeFileSync(out, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
