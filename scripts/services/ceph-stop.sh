#!/usr/bin/env bash
# Stop the cluster started by ceph-start.sh DIR, by the pids in DIR/run/*.pid (never by
# name): TERM radosgw and wait, then TERM osd/mgr/mon together; whatever is still alive
# after CEPH_STOP_GRACE seconds (default 2) gets KILL (the data is throwaway).
# Usage: scripts/services/ceph-stop.sh DIR [--purge]   (--purge removes DIR afterwards)
set -uo pipefail
DIR=${1:?usage: ceph-stop.sh DIR [--purge]}
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd)
GRACE=${CEPH_STOP_GRACE:-2}
ours() {  # daemon name -> its pid, if the pid file names a live daemon of this cluster
  local f=$DIR/run/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -qa -- "$DIR/ceph.conf" "/proc/$pid/cmdline" 2>/dev/null || return 1  # pid reuse guard
  echo "$pid"
}
stop_group() {
  local pids=() p n
  for n in "$@"; do p=$(ours "$n") && kill -TERM "$p" 2>/dev/null && pids+=("$p"); done
  [ ${#pids[@]} = 0 ] && return 0
  for _ in $(seq 1 $((GRACE * 20))); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.05
  done
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  return 0
}
stop_group client.rgw.a
stop_group osd.0 mgr.x mon.a
rm -f "$DIR"/run/*.pid
[ "${2:-}" = --purge ] && rm -rf "$DIR"
exit 0
