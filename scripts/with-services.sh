#!/usr/bin/env bash
# Run a command with the scale-out test backends up: a throwaway PostgreSQL 15 and a
# throwaway Ceph radosgw (S3), both on 127.0.0.1 in a scratch dir, then stop them by pid
# whatever the command's outcome. Missing Debian packages are installed first.
#
# Usage: scripts/with-services.sh [--] COMMAND [ARGS...]
# The command sees (the test suites' contract, see tests/storage/backends.py):
#   VAULT_TEST_PG_DSN        postgresql://vault:<random>@127.0.0.1:25432/vault
#   VAULT_TEST_S3_ENDPOINT   http://127.0.0.1:27480
#   VAULT_TEST_S3_ACCESS_KEY / VAULT_TEST_S3_SECRET_KEY / VAULT_TEST_S3_REGION
#   VAULT_TEST_NGINX         path of the nginx binary (reverse-proxy test)
# Env: VAULT_SERVICES_DIR (scratch dir; default a fresh mktemp -d, removed on success)
#      INSTALL=1 (0: never run apt-get)   CEPH_STORE=memstore|bluestore   CEPH_WITH_MGR=0|1
#      PG_PORT=25432 and the CEPH_*_PORT variables of scripts/services/ceph-start.sh
# Exit status: the command's (or 1 when a service cannot start). Logs are kept on failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SVC=$HERE/services
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: with-services.sh [--] COMMAND [ARGS...]" >&2; exit 2; }
t0=${EPOCHREALTIME/./}
ts() { local d=$(( ${EPOCHREALTIME/./} - t0 )); printf '[with-services %d.%03ds] %s\n' $((d / 1000000)) $((d % 1000000 / 1000)) "$*"; }

if [ "${INSTALL:-1}" = 1 ]; then
  need=()
  for p in postgresql-15 ceph-mon ceph-osd radosgw ceph-common nginx-light curl; do
    case $p in nginx-light) command -v nginx >/dev/null && continue;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  [ "${CEPH_WITH_MGR:-0}" = 1 ] && ! command -v ceph-mgr >/dev/null && need+=(ceph-mgr)
  if [ ${#need[@]} -gt 0 ]; then
    ts "installing ${need[*]}"
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
      apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    ts "packages installed"
  fi
fi

if [ -n "${VAULT_SERVICES_DIR:-}" ]; then
  mkdir -p "$VAULT_SERVICES_DIR"; SCRATCH=$(cd "$VAULT_SERVICES_DIR" && pwd)
else
  SCRATCH=$(mktemp -d /tmp/vault-services.XXXXXX)
fi
chmod 755 "$SCRATCH"   # the postgres OS user must reach its data dir

cleanup() {
  local rc=$? purge=--purge
  trap - EXIT INT TERM
  [ $rc = 0 ] || purge=
  local t=${EPOCHREALTIME/./}
  CEPH_STOP_GRACE=${CEPH_STOP_GRACE:-1} bash "$SVC/ceph-stop.sh" "$SCRATCH/ceph" $purge 2>>"$SCRATCH/stop.log" &
  bash "$SVC/pg-stop.sh" "$SCRATCH/pg" $purge 2>>"$SCRATCH/stop.log" &
  wait
  ts "services stopped in $(( (${EPOCHREALTIME/./} - t) / 1000 )) ms"
  if [ $rc = 0 ]; then rm -rf "$SCRATCH"; else echo "with-services: exit $rc; logs kept in $SCRATCH" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# both services start in parallel; each start script stops what it started if it fails
bash "$SVC/pg-start.sh" "$SCRATCH/pg" "${PG_PORT:-25432}" >"$SCRATCH/pg-start.log" 2>&1 & pg_job=$!
bash "$SVC/ceph-start.sh" "$SCRATCH/ceph" >"$SCRATCH/ceph-start.log" 2>&1 & ceph_job=$!
ok=1
wait $pg_job || { ok=0; echo "PostgreSQL failed to start:" >&2; tail -n 20 "$SCRATCH/pg-start.log" >&2; }
wait $ceph_job || { ok=0; echo "Ceph failed to start:" >&2; tail -n 20 "$SCRATCH/ceph-start.log" >&2; }
[ $ok = 1 ] || exit 1
tail -n 1 "$SCRATCH/pg-start.log"
tail -n 1 "$SCRATCH/ceph-start.log"
set -a
. "$SCRATCH/pg/pg.env"
. "$SCRATCH/ceph/s3.env"
set +a
export VAULT_TEST_NGINX=${VAULT_TEST_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
ts "services ready"

set +e
"$@"
rc=$?
set -e
ts "command exited $rc"
exit $rc
