#!/usr/bin/env bash
# Start a throwaway single-node Ceph (1 mon, 1 OSD, 1 radosgw; a mgr only with
# CEPH_WITH_MGR=1) bound to 127.0.0.1, all state under DIR, for the S3 tests.
#
# Usage: scripts/services/ceph-start.sh DIR
# Env:   CEPH_STORE=memstore|bluestore (default memstore: objects in RAM, fastest)
#        CEPH_OSD_SIZE_GB=4 (memstore cap / sparse bluestore file size)
#        CEPH_MON_PORT=23300 (msgr2; msgr1 is +1)  CEPH_RGW_PORT=27480
#        CEPH_PORT_MIN=26800 (OSD/mgr messengers use 300 ports from there)
#        CEPH_WITH_MGR=0  (S3 I/O does not need a mgr; it costs ~300 MiB and ~0.5 s)
# Every port is below 32768 (outside Linux's ephemeral range), so no outgoing connection
# can hold one when a daemon binds. DIR must not contain spaces (it goes into ceph.conf).
# Writes DIR/s3.env (mode 600) with VAULT_TEST_S3_*; keys are random per run.
# Stop with scripts/services/ceph-stop.sh DIR (by the pid files in DIR/run).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:?usage: ceph-start.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
case $DIR in *" "*) echo "ceph-start: DIR must not contain spaces" >&2; exit 2;; esac
STORE=${CEPH_STORE:-memstore}
SIZE_GB=${CEPH_OSD_SIZE_GB:-4}
MON_PORT=${CEPH_MON_PORT:-23300}
RGW_PORT=${CEPH_RGW_PORT:-27480}
PORT_MIN=${CEPH_PORT_MIN:-26800}
WITH_MGR=${CEPH_WITH_MGR:-0}
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
  command -v "$b" >/dev/null || { echo "ceph-start: missing $b (apt-get install ceph-mon ceph-osd radosgw ceph-common curl)" >&2; exit 2; }
done
[ "$WITH_MGR" = 1 ] && ! command -v ceph-mgr >/dev/null && { echo "ceph-start: missing ceph-mgr" >&2; exit 2; }
[ -e "$DIR/ceph.conf" ] && { echo "ceph-start: $DIR already holds a cluster" >&2; exit 2; }
trap 'rc=$?; [ $rc = 0 ] || { echo "ceph-start failed (rc=$rc); logs in $DIR/log" >&2; bash "$HERE/ceph-stop.sh" "$DIR"; }' EXIT
t0=${EPOCHREALTIME/./}
ts() { local d=$(( ${EPOCHREALTIME/./} - t0 )); printf '[ceph-start %d.%03ds] %s\n' $((d / 1000000)) $((d % 1000000 / 1000)) "$*"; }

mkdir -p "$DIR"/{mon.a,mgr.x,osd.0,rgw,run,log,crash}
CONF=$DIR/ceph.conf
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind port min = $PORT_MIN
ms bind port max = $((PORT_MIN + 300))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = true
crash dir = $DIR/crash
exporter sock dir = $DIR/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
mgr initial modules = iostat
[mon]
mon data = $DIR/mon.\$id
mon cluster log file = $DIR/log/cluster.log
# rgw creates its pools one by one at first start: a short paxos interval makes that ~1 s
paxos propose interval = 0.1
paxos min wait = 0.01
[mgr]
mgr data = $DIR/mgr.\$id
[osd]
osd data = $DIR/osd.\$id
osd objectstore = $STORE
osd memory target = 939524096
osd max object name len = 460
osd max object namespace len = 64
osd class load list = *
osd class default list = *
bluestore block create = true
bluestore block size = $((SIZE_GB * 1024 * 1024 * 1024))
bluestore fsck on mount = false
memstore device bytes = $((SIZE_GB * 1024 * 1024 * 1024))
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw enable usage log = false
CONF

ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
chmod 600 "$DIR/keyring"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring"
ceph-mon -c "$CONF" -i a
C="ceph -c $CONF --connect-timeout 30"
$C -s >/dev/null
ts "mon answers"

if [ "$WITH_MGR" = 1 ]; then
  $C auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' >> "$DIR/keyring"
  ceph-mgr -c "$CONF" -i x
  ts "mgr started"
fi

OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_KEY=$(ceph-authtool --gen-print-key)
( umask 077; echo "{\"cephx_secret\": \"$OSD_KEY\"}" > "$DIR/osd.0/new.json" )
OSD_ID=$($C osd new "$OSD_UUID" -i "$DIR/osd.0/new.json")
rm -f "$DIR/osd.0/new.json"
[ "$OSD_ID" = 0 ] || { echo "ceph-start: unexpected osd id $OSD_ID" >&2; exit 1; }
printf '[osd.0]\n\tkey = %s\n' "$OSD_KEY" >> "$DIR/keyring"
ceph-osd -c "$CONF" -i 0 --mkfs --key "$OSD_KEY" --osd-uuid "$OSD_UUID" >"$DIR/log/osd.0.mkfs.log" 2>&1
ts "osd mkfs done ($STORE)"
ceph-osd -c "$CONF" -i 0
for i in $(seq 1 240); do
  if $C osd dump -f json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(o["up"] and o["in"] for o in d["osds"]) else 1)'; then break; fi
  [ "$i" = 240 ] && { echo "ceph-start: osd did not come up" >&2; exit 1; }
  sleep 0.25
done
ts "osd up+in"

$C auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' >> "$DIR/keyring"
radosgw -c "$CONF" -n client.rgw.a
for i in $(seq 1 240); do
  # an anonymous GET / on radosgw answers an empty bucket list; anything else is not ours
  curl -s --max-time 2 "http://127.0.0.1:$RGW_PORT/" 2>/dev/null | grep -q ListAllMyBucketsResult && break
  if [ -f "$DIR/run/client.rgw.a.pid" ] && ! kill -0 "$(cat "$DIR/run/client.rgw.a.pid")" 2>/dev/null; then
    echo "ceph-start: radosgw exited; see $DIR/log/client.rgw.a.log" >&2; exit 1
  fi
  # radosgw keeps running when its port is taken: it only logs this
  if grep -q 'failed to bind address' "$DIR/log/client.rgw.a.log" 2>/dev/null; then
    echo "ceph-start: radosgw cannot bind 127.0.0.1:$RGW_PORT (in use? set CEPH_RGW_PORT)" >&2; exit 1
  fi
  [ "$i" = 240 ] && { echo "ceph-start: radosgw did not answer" >&2; exit 1; }
  sleep 0.25
done
ts "radosgw answers on 127.0.0.1:$RGW_PORT"

AK=$(head -c 15 /dev/urandom | base32 | tr -d '=' | head -c 20)
SK=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
radosgw-admin -c "$CONF" user create --uid=vault-ci --display-name="vault CI" \
  --access-key="$AK" --secret-key="$SK" >/dev/null
ts "S3 user created"
umask 077
cat > "$DIR/s3.env" <<ENV
VAULT_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
VAULT_TEST_S3_ACCESS_KEY=$AK
VAULT_TEST_S3_SECRET_KEY=$SK
VAULT_TEST_S3_REGION=default
ENV
ts "ready: S3 endpoint http://127.0.0.1:$RGW_PORT"
