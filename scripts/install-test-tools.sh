#!/usr/bin/env bash
# Installs the command-line clients the tests drive (curl, wget, aria2c, unzip), the browser they drive headless (Debian's chromium, at /usr/bin/chromium), the S3 engine they run (Ceph's radosgw) and the reverse proxy they run (nginx) from Debian when missing.
set -euo pipefail
missing=()
for tool in curl:curl wget:wget aria2c:aria2 unzip:unzip mkfifo:coreutils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
# test/helpers/browser.ts launches this exact path (playwright-core downloads no browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# scripts/radosgw/start.sh runs a one-node Ceph cluster with radosgw for the object-store tests.
command -v radosgw >/dev/null 2>&1 || missing+=(radosgw ceph-mon ceph-osd)
# test/helpers/nginx.ts runs Debian's nginx (from /usr/sbin) in front of filegate for the x-accel delivery tests.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing test clients: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "missing ${missing[*]}: install them (apt-get install ${missing[*]}) and run the tests again" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt or dpkg run (unattended upgrades, a parallel job) instead of failing on its lock.
APT_WAIT=(-o DPkg::Lock::Timeout=300)
${SUDO:-} apt-get "${APT_WAIT[@]}" update -qq
${SUDO:-} apt-get "${APT_WAIT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
