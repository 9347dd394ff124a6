// Reads the `ss` samples scripts/profile-run.sh takes with PROFILE_SS=1 (ss.txt) and
// says, for each end of each connection, how long bytes sat unread in its receive
// queue: at the server's end a request the server had not read yet, at the
// client's end a response the client had not read yet.
//
//   node scripts/profile-sockets.mjs OUTDIR/ss.txt SERVER_PORT
//
// A stretch is the span between the first and the last of consecutive samples
// (about 20-35 ms apart) in which that queue was not empty; a request that waited
// a second unread shows as a stretch of about a second at the server's end.
import { readFileSync } from 'node:fs';

const [file, portText] = process.argv.slice(2);
if (!file || !portText) {
  process.stderr.write('usage: node scripts/profile-sockets.mjs ss.txt SERVER_PORT\n');
  process.exit(2);
}
const port = `:${portText}`;
const samples = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (line.startsWith('T ')) samples.push({ t: Number(BigInt(line.slice(2)) / 1000n) / 1000, rows: [] });
  else if (line.trim() !== '' && samples.length > 0) {
    const [recvQ, sendQ, local, peer] = line.trim().split(/\s+/);
    samples.at(-1).rows.push({ recvQ: Number(recvQ), sendQ: Number(sendQ), local, peer });
  }
}
const ends = { server: new Map(), client: new Map() };
samples.forEach((sample, index) => {
  for (const row of sample.rows) {
    const side = row.local.endsWith(port) ? 'server' : 'client';
    const key = side === 'server' ? row.peer : row.local;
    const state = ends[side].get(key) ?? { runStart: null, last: -1, longest: 0, busySamples: 0 };
    if (row.recvQ > 0) {
      state.busySamples += 1;
      if (state.runStart === null || state.last !== index - 1) state.runStart = sample.t;
      state.last = index;
      state.longest = Math.max(state.longest, sample.t - state.runStart);
    }
    ends[side].set(key, state);
  }
});
const spanMs = samples.length > 1 ? samples.at(-1).t - samples[0].t : 0;
process.stdout.write(`${samples.length} samples over ${(spanMs / 1000).toFixed(1)} s (one every ${(spanMs / Math.max(1, samples.length - 1)).toFixed(0)} ms)\n`);
for (const side of ['server', 'client']) {
  const states = [...ends[side].values()];
  const longest = states.map((s) => s.longest).sort((a, b) => b - a);
  const share = states.reduce((sum, s) => sum + s.busySamples, 0) / Math.max(1, states.length * samples.length);
  const over = (ms) => longest.filter((l) => l >= ms).length;
  process.stdout.write(
    `${side} end (${side === 'server' ? 'requests not yet read by the server' : 'responses not yet read by the client'}): ${states.length} connections; ` +
      `queue non-empty in ${(100 * share).toFixed(1)}% of samples; longest stretch per connection: max ${longest[0]?.toFixed(0) ?? 0} ms, ` +
      `top 5 ${longest.slice(0, 5).map((l) => l.toFixed(0)).join(', ')} ms; connections with a stretch ≥100 ms: ${over(100)}, ≥500 ms: ${over(500)}\n`,
  );
}
