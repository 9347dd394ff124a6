#!/usr/bin/env bash
# Starts a throw-away S3 engine for the tests: a one-node Ceph cluster (one monitor, one memstore OSD, no cephx) and radosgw on 127.0.0.1.
#
#   scripts/radosgw/start.sh DIR
#
# Everything it makes (config, PID files in DIR/run, logs in DIR/log, state)
# lives in DIR; scripts/radosgw/stop.sh DIR stops the daemons by PID and wipes
# the state. Installs the Debian packages (radosgw ceph-mon ceph-osd) when
# missing. Ready means a signed bucket create and delete has succeeded; then it
# prints, and writes to DIR/env, shell-sourceable lines:
#   S3_ENDPOINT=http://127.0.0.1:PORT S3_REGION=us-east-1 S3_ACCESS_KEY=… S3_SECRET_KEY=…
#   S3_OTHER_ACCESS_KEY=… S3_OTHER_SECRET_KEY=…   (a second user, for access-denied cases)
# The keys are fixed test keys (override with RGW_ACCESS_KEY / RGW_SECRET_KEY).
# Other settings: RGW_PORT, MON_PORT (default: free ports), START_TRIES
# (default 3), RGW_DEBUG (radosgw log level, default 1: one line per request).
set -euo pipefail

DIR=${1:?usage: scripts/radosgw/start.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ACCESS=${RGW_ACCESS_KEY:-FILEGATETESTACCESS01}
SECRET=${RGW_SECRET_KEY:-filegate-test-secret-key-0123456789abcdef}
OTHER_ACCESS=FILEGATETESTOTHER001
OTHER_SECRET=filegate-test-other-secret-0123456789abc
TRIES=${START_TRIES:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
log() { printf '[radosgw %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

# ---- install what is missing (the ceph CLI brings python3 with it)
missing=()
for tool in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw radosgw-admin:radosgw monmaptool:ceph-base curl:curl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt or dpkg run instead of failing on its lock.
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd curl >/dev/null
fi

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
new_uuid() { cat /proc/sys/kernel/random/uuid; }

# wait_for LIMIT STEP CMD…: polls CMD every STEP s for up to LIMIT s; gives up at
# once when the daemon whose PID file is $WATCH has exited (radosgw exits when
# it cannot bind its port, for instance).
WATCH=
wait_for() { local limit=$1 step=$2; shift 2; local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if [ -n "$WATCH" ] && ! kill -0 "$(cat "$WATCH")" 2>/dev/null; then log "$(basename "$WATCH" .pid) exited"; return 1; fi
    [ $((SECONDS - t0)) -ge "$limit" ] && return 1
    sleep "$step"
  done; }

# A client's first command can reach a fresh monitor before it has the monmap
# and is refused ("problem getting command descriptions from mon"); every
# command sent here is idempotent, so send it again.
ceph_retry() { local i; for i in 1 2 3 4 5; do "$@" && return 0; log "retrying: ${*: -3}"; sleep 0.3; done; return 1; }

stop_all() { "$HERE/stop.sh" "$DIR" >>"$DIR/stop.log" 2>&1 || true; }

attempt() {
  WATCH=
  stop_all
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/rgw" "$DIR/ceph.conf" "$DIR/monmap" "$DIR/env"
  mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/log" "$DIR/rgw"
  local mon_port=${MON_PORT:-$(free_port)} rgw_port=${RGW_PORT:-$(free_port)}
  local fsid; fsid=$(new_uuid)
  local conf=$DIR/ceph.conf
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v1:127.0.0.1:$mon_port]
mon initial members = a
; bind 127.0.0.1 only (without these the OSD binds every interface)
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = /dev/null
run dir = $DIR/run
admin socket = $DIR/run/\$name.\$pid.asok
pid file = $DIR/run/\$name.ceph.pid
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/log/crash
; one OSD: pools of size 1, no PG autoscaling (no mgr), CRUSH leaf = osd
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
; a full-ish disk must not stop the monitor
mon data avail crit = 0
mon data avail warn = 0
; the defaults (propose interval 1 s) make every map change wait: 16 s to start instead of 2
paxos propose interval = 0.01
paxos min wait = 0.001
mon osd report timeout = 60
osd mon report interval = 1
osd objectstore = memstore
memstore device bytes = 16G
; keys of about 450 bytes and more answer 500 with the default
osd max object name len = 2048
; the OSD's own CRUSH commands at start can race the monmap and leave it never
; up; this script places it instead
osd crush update on start = false
osd class update on start = false
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2

[mon.a]
mon data = $DIR/mon
mon addr = [v1:127.0.0.1:$mon_port]

[osd.0]
osd data = $DIR/osd

[client.rgw]
; without tcp_nodelay every GET under 64 KiB stalls about 42 ms
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw dns name = 127.0.0.1
debug rgw = ${RGW_DEBUG:-1}
rgw enable usage log = false
rgw enable ops log = false
rgw gc obj min wait = 60
EOF
  local C=(-c "$conf")
  local CEPH0=(timeout 20 ceph "${C[@]}" --connect-timeout 10)   # for polling
  local CEPH=(ceph_retry "${CEPH0[@]}")                          # for commands

  log "monitor on 127.0.0.1:$mon_port, radosgw on 127.0.0.1:$rgw_port, folder $DIR"
  # a non-default port needs --addv with a v1 address
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap" 2>>"$DIR/log/mkfs.log"
  # -f keeps each daemon in the foreground, so the PID recorded is the daemon's;
  # setsid keeps a terminal's Ctrl-C away from it (stop.sh stops it).
  setsid ceph-mon "${C[@]}" -f -i a </dev/null >>"$DIR/log/mon.a.out" 2>&1 &
  echo $! >"$DIR/run/mon.pid"; WATCH=$DIR/run/mon.pid
  wait_for 20 0.1 "${CEPH0[@]}" mon stat || { log "monitor did not answer"; return 1; }
  log "monitor up"

  local osd_uuid id; osd_uuid=$(new_uuid)
  id=$("${CEPH[@]}" osd new "$osd_uuid" 2>>"$DIR/log/setup.log") || { log "osd new failed"; return 1; }
  [ "$id" = 0 ] || { log "osd new returned '$id'"; return 1; }
  "${CEPH[@]}" osd crush add osd.0 1 root=default host=localhost >>"$DIR/log/setup.log" 2>&1 || { log "crush add failed"; return 1; }
  ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/mkfs.log" 2>&1 || { log "osd mkfs failed"; return 1; }
  setsid ceph-osd "${C[@]}" -f -i 0 </dev/null >>"$DIR/log/osd.0.out" 2>&1 &
  echo $! >"$DIR/run/osd.pid"; WATCH=$DIR/run/osd.pid
  # Nothing can be written until osd.0 is up and placed in CRUSH; a just-started
  # monitor sometimes never records the "crush add" above, so check and redo it.
  osd_ready() { local t; t=$("${CEPH0[@]}" osd tree -f json 2>/dev/null) || return 1
    python3 -c 'import json,sys;t=json.loads(sys.argv[1]);n=[x for x in t["nodes"] if x["id"]==0];sys.exit(0 if n and n[0].get("status")=="up" and any(0 in x.get("children",[]) for x in t["nodes"]) else 1)' "$t"; }
  if ! wait_for 30 0.2 osd_ready; then
    log "osd.0 not up and placed; adding it to CRUSH again"
    "${CEPH[@]}" osd crush add osd.0 1 root=default host=localhost >>"$DIR/log/setup.log" 2>&1 || true
    wait_for 15 0.2 osd_ready || { log "osd.0 never came up"; return 1; }
  fi
  log "osd.0 up"

  # The user comes before radosgw: radosgw-admin creates the realm, zone and pools.
  timeout 60 radosgw-admin "${C[@]}" user create --uid=filegate-test --display-name=filegate-test \
    --access-key="$ACCESS" --secret-key="$SECRET" >>"$DIR/log/setup.log" 2>&1 || { log "user create failed"; return 1; }
  timeout 60 radosgw-admin "${C[@]}" user create --uid=filegate-other --display-name=filegate-other \
    --access-key="$OTHER_ACCESS" --secret-key="$OTHER_SECRET" >>"$DIR/log/setup.log" 2>&1 || { log "second user create failed"; return 1; }
  log "users created"

  setsid radosgw "${C[@]}" -n client.rgw -f </dev/null >>"$DIR/log/rgw.out" 2>&1 &
  echo $! >"$DIR/run/rgw.pid"; WATCH=$DIR/run/rgw.pid
  wait_for 30 0.1 curl -sS -o /dev/null "http://127.0.0.1:$rgw_port/" || { log "radosgw did not answer"; return 1; }
  # Ready = a signed bucket create and delete succeed (this also creates the
  # data and index pools, so the first test does not pay for them). curl 7.88
  # needs x-amz-content-sha256 set, or radosgw answers SignatureDoesNotMatch.
  local sig=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -fsS -o /dev/null --max-time 10)
  wait_for 20 0.2 curl "${sig[@]}" -X PUT "http://127.0.0.1:$rgw_port/ready-check" || { log "signed bucket create failed"; return 1; }
  curl "${sig[@]}" -X DELETE "http://127.0.0.1:$rgw_port/ready-check" || { log "signed bucket delete failed"; return 1; }
  printf 'S3_ENDPOINT=http://127.0.0.1:%s\nS3_REGION=us-east-1\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\nS3_OTHER_ACCESS_KEY=%s\nS3_OTHER_SECRET_KEY=%s\nCEPH_CONF=%s\n' \
    "$rgw_port" "$ACCESS" "$SECRET" "$OTHER_ACCESS" "$OTHER_SECRET" "$conf" >"$DIR/env"
  log "radosgw ready"
}

# Stopped while starting (the test process died): stop what is already running.
trap 'stop_all; exit 143' TERM INT HUP

for try in $(seq 1 "$TRIES"); do
  if attempt; then cat "$DIR/env"; exit 0; fi
  log "start attempt $try failed (logs in $DIR/log)"
done
stop_all
exit 1
