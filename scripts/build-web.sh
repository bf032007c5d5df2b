#!/usr/bin/env bash
# Builds the share-link page (web/src/) into vault_server/static/ and the desktop app's page
# (web/app/) into vault_client/app/static/, both committed so that `pip install` serves them
# without node. The build is reproducible: `--check` rebuilds in
# memory and fails when the committed files differ from what the sources and the locked
# packages give (CI runs it).
#
# Usage: scripts/build-web.sh [--check]
# Needs node >= 20 and npm; installs web/node_modules with `npm ci` (SKIP_NPM_CI=1 to skip).
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ "${SKIP_NPM_CI:-0}" != 1 ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node build.mjs "$@"
node build-app.mjs "$@"
node build-app.mjs --web "$@"
