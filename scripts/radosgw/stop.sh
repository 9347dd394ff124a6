#!/usr/bin/env bash
# Stops what scripts/radosgw/start.sh DIR started, by the PIDs in DIR/run, and wipes the engine's state.
#
#   scripts/radosgw/stop.sh DIR [--keep]     (--keep leaves DIR/mon, DIR/osd and DIR/rgw)
#
# STOP_GRACE: seconds between TERM and KILL (default 1; radosgw spends about
# 5 s in its own shutdown after TERM, and the cluster is throw-away).
set -uo pipefail
DIR=${1:?usage: scripts/radosgw/stop.sh DIR [--keep]}
[ -d "$DIR/run" ] || exit 0
DIR=$(cd "$DIR" && pwd)
GRACE=${STOP_GRACE:-1}
# alive PID: a process (not a zombie, and not one of another process's threads,
# whose TIDs also appear in /proc) with that PID
alive() { local st tg; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  tg=$(awk '/^Tgid:/{print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ "$st" != Z ] && [ "$tg" = "$1" ]; }
pids=()
for f in rgw osd mon; do
  p=$(cat "$DIR/run/$f.pid" 2>/dev/null) || continue
  # signal it only if it is still the daemon started with this folder's config (PIDs are reused)
  if [ -n "$p" ] && alive "$p" && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-c $DIR/ceph.conf"; then
    kill -TERM "$p" 2>/dev/null && pids+=("$p")
  fi
  rm -f "$DIR/run/$f.pid"
done
deadline=$(( $(date +%s%N) + ${GRACE%.*} * 1000000000 ))
for p in "${pids[@]}"; do
  while alive "$p" && [ "$(date +%s%N)" -lt "$deadline" ]; do sleep 0.05; done
  alive "$p" && kill -KILL "$p" 2>/dev/null
done
for p in "${pids[@]}"; do while alive "$p"; do sleep 0.05; done; done
[ "${2:-}" = --keep ] || rm -rf "$DIR/mon" "$DIR/osd" "$DIR/rgw"
exit 0
