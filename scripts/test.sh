#!/usr/bin/env bash
# Installs everything the tests need, then runs lint, types and the whole test suite.
# This is the README's test command; .ci/run calls it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --disable-pip-version-check --upgrade pip
python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# The browser page: Debian's Chromium for the end-to-end tests, then a reproducible build check
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

echo "== web build (reproducible)"
bash scripts/build-web.sh --check

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
mypy
echo "== web: protocol vectors in JavaScript"
(cd web && node --test test/)
echo "== web: end to end in headless Chromium"
node --test tests/web/
echo "== pytest"
python -m pytest -q -p no:cacheprovider "$@"
