#!/usr/bin/env bash
# One profiled run of filegate or the Node ceiling under the
# bench's 1 KB load (docs/performance.md, "Where the time goes").
#
#   scripts/profile-run.sh filegate|ceiling OUTDIR [prof|tail|client] [SECONDS]
#
# The server runs as `npm run bench` runs it (pinned to CPU 0, NODE_ENV=production,
# filegate at log level info with the bench's config and fixtures in
# /tmp/filegate-bench/files, its log to a file; the same HS256 token for both),
# with scripts/profile-preload.mjs (event-loop delay, ELU, GC pauses) and, in mode
# `prof` (the default), `--cpu-prof` into OUTDIR. `wrk -t1 -c64` on CPU 1 drives
# GET 1KB.bin for SECONDS (10); SIGUSR2 just before it opens the preload's window;
# SIGINT (filegate) or SIGTERM (the ceiling) afterwards writes the profile.
# Needs `npm run build` first and the bench's fixtures (`npm run bench` makes them).
# Mode `tail`: the same without the profiler; mode `client`: without the profiler, and
# scripts/profile-client.mjs (64 connections, closed loop like wrk) in wrk's place,
# which keeps each request's connection and latency (client.jsonl, client.txt).
# PROFILE_SS=1 samples `ss` every ~20 ms during the load (ss.txt; read it with
# scripts/profile-sockets.mjs).
# PROFILE_WAITS=1 has the preload time each request's wait before the server read it.
# PROFILE_LOG_LEVEL=warn runs filegate without the access line (info by default).
# PROFILE_REMEMBER_TOKENS=true lets filegate remember accepted tokens (off by default, as the bench runs it).
# Output in OUTDIR: wrk.txt, cpu.txt (server CPU over the load from /proc), tail.jsonl,
# server.log, and *.cpuprofile (summarise with scripts/profile-summary.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?filegate or ceiling}
out=${2:?output folder}
mode=${3:-prof}
seconds=${4:-10}
fixtures=/tmp/filegate-bench/files
[ -f "$fixtures/1KB.bin" ] || { echo "no $fixtures/1KB.bin: run npm run bench once" >&2; exit 1; }
[ -f dist/src/main.js ] || { echo "dist/src/main.js is missing: npm run build" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/*.cpuprofile "$out/tail.jsonl"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
secret=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))')
token=$(SECRET=$secret node --input-type=module -e '
import { SignJWT } from "jose"; import { createSecretKey } from "node:crypto";
console.log(await new SignJWT({ scope: "files:read files:archive" }).setProtectedHeader({ alg: "HS256" })
  .setSubject("bench").setIssuedAt().setExpirationTime("2h").sign(createSecretKey(Buffer.from(process.env.SECRET))));')
cat > "$out/filegate.json" <<EOF
{ "auth": { "rememberTokens": ${PROFILE_REMEMBER_TOKENS:-false} }, "layers": { "OsFs": { "maxFileSize": "2GB" } }, "archive": { "maxEntries": 20000, "maxBytes": "10GB" },
  "limits": { "concurrentPerSubject": 0 }, "log": { "level": "info" } }
EOF
prof=()
[ "$mode" = prof ] && prof=(--cpu-prof "--cpu-prof-dir=$out")
export NODE_ENV=production PROFILE_TAIL_OUT="$out/tail.jsonl"
if [ "$name" = filegate ]; then
  FILEGATE_CONFIG="$out/filegate.json" FILEGATE_ROOT=$fixtures FILEGATE_HOST=127.0.0.1 FILEGATE_PORT=$port \
  FILEGATE_JWT_SECRET=$secret FILEGATE_LOG_LEVEL=${PROFILE_LOG_LEVEL:-info} \
    taskset -c 0 node "${prof[@]}" --import ./scripts/profile-preload.mjs dist/src/main.js > "$out/server.log" 2>&1 &
  url="http://127.0.0.1:$port/api/download?filepath=1KB.bin"; stopsig=INT
else
  BENCH_JWT_SECRET=$secret \
    taskset -c 0 node "${prof[@]}" --import ./scripts/profile-preload.mjs --import tsx scripts/bench-peers.ts ceiling "$port" "$fixtures" > "$out/server.log" 2>&1 &
  url="http://127.0.0.1:$port/1KB.bin"; stopsig=TERM
fi
pid=$!
for _ in $(seq 200); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url" || true)" = 200 ] && break
  sleep 0.1
done
[ "$(cat /proc/$pid/comm)" = node ] || { echo "pid $pid is not node" >&2; exit 1; }
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
threads() { for t in /proc/$pid/task/*; do echo "$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"; done; }
steal() { awk '/^cpu[01] /{s += $9} END {print s}' /proc/stat; }
steal_before=$(steal)
before=$(ticks)
threads > "$out/threads-before.txt"
kill -USR2 "$pid"
if [ -n "${PROFILE_SS:-}" ]; then
  # Every ~20 ms on CPU 1: the queues of every connection to the server, both ends (ss.txt).
  (end=$(( $(date +%s) + seconds )); while [ "$(date +%s)" -lt "$end" ]; do
     echo "T $(date +%s%N)"; ss -tnH state established "( sport = :$port or dport = :$port )"; sleep 0.02
   done > "$out/ss.txt") &
  sampler=$!
  taskset -cp 1 "$sampler" > /dev/null
fi
if [ "$mode" = client ]; then
  taskset -c 1 node scripts/profile-client.mjs "$url" "$token" 64 "$seconds" "$out/client.jsonl" > "$out/client.txt"
  requests=$(awk '/requests in/{print $1; exit}' "$out/client.txt")
else
  taskset -c 1 wrk -t1 -c64 "-d${seconds}s" --timeout 10s --latency -H "Authorization: Bearer $token" "$url" > "$out/wrk.txt"
  requests=$(awk '/requests in/{print $1}' "$out/wrk.txt")
fi
after=$(ticks)
steal_after=$(steal)
threads > "$out/threads-after.txt"
[ -n "${PROFILE_SS:-}" ] && wait "$sampler"
kill -"$stopsig" "$pid"
wait "$pid" || true
hz=$(getconf CLK_TCK)
echo "server CPU over the load: $(( (after - before) * 1000 / hz )) ms for $requests requests = $(( (after - before) * 1000000 / hz / requests )) µs/request" | tee "$out/cpu.txt"
echo "CPU stolen by the hypervisor from CPUs 0-1 over the load: $(( (steal_after - steal_before) * 1000 / hz )) ms (a quiet machine: near 0)" | tee -a "$out/cpu.txt"
echo "CPU by thread over the load (ms; the main thread's id is the pid $pid):" \
  "$(join "$out/threads-before.txt" "$out/threads-after.txt" | awk -v hz="$hz" '{d = ($3 - $2) * 1000 / hz; if (d > 0) printf "%s %d, ", $1, d}')" | tee -a "$out/cpu.txt"
if [ "$mode" = client ]; then cat "$out/client.txt"; else grep -E 'Requests/sec|Latency|50%|99%|requests in|Non-2xx|Socket errors' "$out/wrk.txt"; fi
cat "$out/tail.jsonl"
ls "$out"/*.cpuprofile 2>/dev/null || true
