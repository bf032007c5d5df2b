#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 for tests: all state under DIR, listening on
# 127.0.0.1:PORT only (plus a unix socket in DIR/sock), fsync off (test data).
#
# Usage: scripts/services/pg-start.sh DIR [PORT]        (PORT default 25432)
# Env:   PG_BIN (default /usr/lib/postgresql/15/bin), PG_OS_USER (default postgres;
#        initdb and postgres refuse to run as root), PG_DURABLE=1 keeps fsync on.
# Writes DIR/pg.env (mode 600) with VAULT_TEST_PG_DSN; the password is random per run.
# Stop with scripts/services/pg-stop.sh DIR (by the postmaster pid, never by name).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:?usage: pg-start.sh DIR [PORT]}
PORT=${2:-25432}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
OSUSER=${PG_OS_USER:-postgres}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ -x "$PG_BIN/initdb" ] || { echo "pg-start: no $PG_BIN/initdb (apt-get install postgresql-15)" >&2; exit 2; }
[ -e "$DIR/data/PG_VERSION" ] && { echo "pg-start: $DIR/data exists; use an empty dir" >&2; exit 2; }
trap 'rc=$?; [ $rc = 0 ] || { echo "pg-start failed (rc=$rc); log: $DIR/postgres.log" >&2; bash "$HERE/pg-stop.sh" "$DIR"; }' EXIT
t0=${EPOCHREALTIME/./}
ts() { local d=$(( ${EPOCHREALTIME/./} - t0 )); printf '[pg-start %d.%03ds] %s\n' $((d / 1000000)) $((d % 1000000 / 1000)) "$*"; }

mkdir -p "$DIR/sock"
if [ "$(id -u)" = 0 ]; then
  id "$OSUSER" >/dev/null 2>&1 || { echo "pg-start: no OS user $OSUSER" >&2; exit 2; }
  chown "$OSUSER" "$DIR" "$DIR/sock"
  as() { runuser -u "$OSUSER" -- "$@"; }
  as test -w "$DIR" || { echo "pg-start: $OSUSER cannot reach $DIR (every parent needs o+x)" >&2; exit 2; }
else
  as() { "$@"; }
fi

as "$PG_BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
  >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
# trust only over the unix socket in DIR (reachable by root and the postgres user);
# TCP on 127.0.0.1 needs the password
cat > "$DIR/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 scram-sha-256
HBA
ts "initdb done"

opts="-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR/sock"
opts="$opts -c max_connections=300 -c shared_buffers=128MB -c log_min_messages=warning"
[ "${PG_DURABLE:-0}" = 1 ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
as "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -o "$opts" -w -t 60 start >/dev/null
ts "accepting connections on 127.0.0.1:$PORT"

PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
as "$PG_BIN/psql" -h "$DIR/sock" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE ROLE vault LOGIN PASSWORD '$PASS'" -c "CREATE DATABASE vault OWNER vault" >/dev/null
ts "role and database vault created"

umask 077
cat > "$DIR/pg.env" <<ENV
VAULT_TEST_PG_DSN=postgresql://vault:$PASS@127.0.0.1:$PORT/vault
ENV
ts "ready: postgresql://vault:***@127.0.0.1:$PORT/vault"
