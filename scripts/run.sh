#!/usr/bin/env bash
# Installs the product, starts the server on the embedded default (SQLite + files under
# ./vault-data) and runs a short demo: an account, a synced folder, a second device. Then the
# desktop app (`vault app`) of the demo's first device starts on 127.0.0.1 and prints its
# link; the server and the app keep running in the foreground (Ctrl-C stops both).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
# the pinned, hash-checked packages of requirements.lock (the ones the tests audit), then the project
python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

PORT=${PORT:-8700}
DATA=${DATA:-./vault-data}
LOG=$(mktemp)
vault-server serve --data "$DATA" --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "listening on" "$LOG" && break
  sleep 0.1
done
cat "$LOG"
URL="http://127.0.0.1:$PORT"

DEMO=$(mktemp -d)
export VAULT_PASSPHRASE="correct horse battery staple"
USER_HANDLE="jean-$(date +%s)"
echo
echo "== demo: $USER_HANDLE creates his vault (device A)"
vault --home "$DEMO/a" init --server "$URL" --user "$USER_HANDLE" --folder "$DEMO/jean-a" | tail -n 1 > "$DEMO/recovery.txt"
echo "recovery key saved in $DEMO/recovery.txt"
mkdir -p "$DEMO/jean-a/papiers"
echo "Acte de naissance de Jean" > "$DEMO/jean-a/papiers/acte-de-naissance.txt"
echo "Avis d'imposition 2026" > "$DEMO/jean-a/papiers/avis-imposition.txt"
vault --home "$DEMO/a" sync
echo "== demo: a second device (B) logs in and syncs"
vault --home "$DEMO/b" login --server "$URL" --user "$USER_HANDLE" --folder "$DEMO/jean-b"
vault --home "$DEMO/b" sync
find "$DEMO/jean-b" -path '*/.vault' -prune -o -type f -print
echo "== demo: an edit on B reaches A; history keeps both versions"
echo "Avis d'imposition 2026 (corrigé)" > "$DEMO/jean-b/papiers/avis-imposition.txt"
vault --home "$DEMO/b" sync
vault --home "$DEMO/a" sync
cat "$DEMO/jean-a/papiers/avis-imposition.txt"
(cd "$DEMO/jean-a" && vault --home "$DEMO/a" history papiers/avis-imposition.txt)
echo
echo "== the desktop app of device A (passphrase: $VAULT_PASSPHRASE)"
APP_OUT=$(mktemp)
env -u VAULT_PASSPHRASE vault --home "$DEMO/a" app ${APP_PORT:+--port "$APP_PORT"} >"$APP_OUT" 2>&1 &
APP=$!
trap 'kill $APP $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "^http://127.0.0.1:" "$APP_OUT" && break
  sleep 0.1
done
echo "open this link in a browser on this machine: $(tail -n 1 "$APP_OUT")"
echo "server running at $URL (data in $DATA); Ctrl-C to stop"
wait $SERVER
