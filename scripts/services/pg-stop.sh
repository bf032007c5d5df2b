#!/usr/bin/env bash
# Stop the PostgreSQL started by pg-start.sh DIR: SIGINT (fast shutdown) to the postmaster
# pid in DIR/data/postmaster.pid, then SIGQUIT / SIGKILL to that pid if it lingers.
# Usage: scripts/services/pg-stop.sh DIR [--purge]   (--purge removes DIR afterwards)
set -uo pipefail
DIR=${1:?usage: pg-stop.sh DIR [--purge]}
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd)
PIDF=$DIR/data/postmaster.pid
if [ -f "$PIDF" ]; then
  pid=$(head -1 "$PIDF")
  # pid reuse guard: the process must be a postgres whose data dir is ours
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa -- "$DIR/data" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -INT "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && { kill -QUIT "$pid"; sleep 1; }
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
fi
[ "${2:-}" = --purge ] && rm -rf "$DIR"
exit 0
