#!/usr/bin/env bash
# Regenerates requirements.lock: every package the test venv installs, pinned, with the hashes
# of every file PyPI has for that version (pip installs it with --require-hashes). Existing
# pins are kept where they still satisfy pyproject.toml; `scripts/lock.sh --upgrade` moves every
# package to its newest allowed version. scripts/check_lock.py (run by scripts/test.sh) fails
# when the lock and pyproject.toml or the installed packages disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet --disable-pip-version-check pip-tools==7.5.3
"$tools/bin/pip-compile" --quiet --extra test --generate-hashes --no-strip-extras --allow-unsafe \
  --no-emit-index-url --no-emit-find-links --output-file requirements.lock "$@" \
  pyproject.toml scripts/lock.in
