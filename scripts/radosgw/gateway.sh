#!/usr/bin/env bash
# Stops or starts only the S3 gateway (radosgw) of an engine that scripts/radosgw/start.sh DIR started; the cluster and its objects stay.
#
#   scripts/radosgw/gateway.sh DIR stop     # the endpoint refuses connections
#   scripts/radosgw/gateway.sh DIR start    # the same endpoint answers again, same objects
#
# For tests of an engine that goes away mid-run and comes back.
set -euo pipefail
DIR=${1:?usage: scripts/radosgw/gateway.sh DIR stop|start}
ACTION=${2:?usage: scripts/radosgw/gateway.sh DIR stop|start}
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/ceph.conf
PORT=$(sed -n 's/^S3_ENDPOINT=http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$DIR/env")
[ -n "$PORT" ] || { echo "no S3_ENDPOINT in $DIR/env" >&2; exit 2; }
# alive PID: still the gateway started with this folder's config (PIDs are reused)
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "-c $CONF"; }
pid=$(cat "$DIR/run/rgw.pid" 2>/dev/null || true)

case $ACTION in
  stop)
    if alive "$pid"; then
      kill -KILL "$pid"
      while alive "$pid"; do sleep 0.05; done
    fi
    ;;
  start)
    alive "$pid" && exit 0
    setsid radosgw -c "$CONF" -n client.rgw -f </dev/null >>"$DIR/log/rgw.out" 2>&1 &
    echo $! >"$DIR/run/rgw.pid"
    for _ in $(seq 1 300); do
      curl -sS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" 2>/dev/null && exit 0
      alive "$!" || { echo "radosgw exited; see $DIR/log/rgw.out" >&2; exit 1; }
      sleep 0.1
    done
    echo "radosgw did not answer within 30 s" >&2
    exit 1
    ;;
  *) echo "usage: scripts/radosgw/gateway.sh DIR stop|start" >&2; exit 2 ;;
esac
