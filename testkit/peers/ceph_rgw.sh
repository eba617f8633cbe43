#!/usr/bin/env bash
# A single-node Ceph cluster with the RADOS Gateway (S3), for tests: one
# monitor, one OSD on memstore (nothing on disk but the monitor's store), pool
# size 1, RGW on the beast frontend, and an S3 user with the keys given.
#
#   ceph_rgw.sh DIR ACCESS_KEY SECRET_KEY
#
# Everything lives under DIR. Once RGW answers, the script prints
# `agora-peer-port PORT` (the testkit peer protocol) and waits; every daemon
# is started with a parent-death signal, so they all end with this script,
# which ends with the test process.
set -euo pipefail

dir="$1"
access_key="$2"
secret_key="$3"

for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph setpriv; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "ceph_rgw.sh: $tool is missing; scripts/install-test-tools installs Ceph (Debian's radosgw, ceph-mon, ceph-osd)" >&2
    exit 1
  fi
done

# Ports below the kernel's ephemeral range, so nothing that binds port 0 in
# the test process can be handed one of them; a port taken anyway makes the
# daemon exit, and the test fails saying so instead of talking to someone else.
pick_port() {
  python3 - <<'EOF'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
while True:
    port = random.randrange(20000, max(20001, low - 1))
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
EOF
}

mon_port="$(pick_port)"
rgw_port="$(pick_port)"
fsid="$(python3 -c 'import uuid; print(uuid.uuid4())')"
mkdir -p "$dir"/{mon,osd0,run,log,rgw}
conf="$dir/ceph.conf"

# Authentication is off inside the cluster (loopback only, dies with the
# test); S3 requests are still signed and checked by RGW. Connection modes
# are crc because cephx-less clients cannot use secure mode.
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms client mode = crc
ms mon client mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
keyring = $dir/keyring
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw dns name =
EOF

ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" >"$dir/log/mkfs-mon.out" 2>&1

daemon() {
  local name="$1"
  shift
  setpriv --pdeathsig KILL "$@" -c "$conf" -f >"$dir/log/$name.out" 2>&1 &
  last_pid=$!
}

fail() {
  echo "ceph_rgw.sh: $1" >&2
  for log in "$dir"/log/*.out; do
    echo "--- $log" >&2
    tail -n 20 "$log" >&2
  done
  exit 1
}

daemon mon ceph-mon -i a
ceph -c "$conf" --connect-timeout 60 osd create >/dev/null || fail "the monitor did not answer"
ceph-osd -c "$conf" -i 0 --mkfs >"$dir/log/mkfs-osd.out" 2>&1 || fail "the OSD could not be made"
daemon osd ceph-osd -i 0
daemon rgw radosgw -n client.rgw
rgw_pid="$last_pid"

deadline=$((SECONDS + 180))
until curl -s -m 2 -o /dev/null "http://127.0.0.1:$rgw_port/"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "RGW did not answer on port $rgw_port within 180 s"
  kill -0 "$rgw_pid" 2>/dev/null || fail "RGW exited"
  sleep 0.2
done

radosgw-admin -c "$conf" user create --uid agora --display-name "Agora tests" \
  --access-key "$access_key" --secret-key "$secret_key" >"$dir/log/user.out" 2>&1 \
  || fail "radosgw-admin could not create the S3 user"

echo "agora-peer-port $rgw_port"
wait
