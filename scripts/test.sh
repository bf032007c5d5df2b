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
# exactly the pinned, hash-checked packages of requirements.lock (bash scripts/lock.sh makes it),
# then the project itself without resolving anything more
python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

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
echo "== bandit (a finding passes only when justified on its line: pyproject.toml [tool.bandit])"
bandit_out=$(mktemp)
bandit -q -c pyproject.toml -r protocol vault_core vault_server vault_client -f json \
  -o "$bandit_out" 2>/dev/null || true
python - "$bandit_out" <<'EOF'
import json, re, sys
report = json.load(open(sys.argv[1]))
bad = [f"{e['filename']}: {e['reason']}" for e in report["errors"]]
for r in report["results"]:
    lines = open(r["filename"], encoding="utf-8").read().splitlines()
    text = " ".join(lines[n - 1] for n in r["line_range"] if 0 < n <= len(lines))
    if re.search(r"#\s*noqa:[^#]*\bS" + r["test_id"][1:] + r"\b", text):
        continue  # justified on its line for ruff's flake8-bandit rule of the same number
    bad.append(f"{r['filename']}:{r['line_number']}: {r['test_id']} {r['issue_text']}")
print("\n".join(bad) or f"bandit: {len(report['results'])} findings, each justified on its line")
sys.exit(1 if bad else 0)
EOF
echo "== lock (requirements.lock: what is installed, what pyproject.toml asks)"
python scripts/check_lock.py
echo "== pip-audit (the installed packages)"
audit_out=$(mktemp)
audit_rc=0
pip-audit -l --skip-editable --progress-spinner off -f json -o "$audit_out" || audit_rc=$?
python scripts/audit_python.py "$audit_out" "$audit_rc"
echo "== npm audit (web/)"
npm_out=$(mktemp)
(cd web && npm audit --json >"$npm_out" 2>/dev/null) || true
python - "$npm_out" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
if "vulnerabilities" not in report:  # the registry's audit endpoint refused or is unreachable
    print(f"npm audit: NOT AUDITED: {report.get('message', report.get('error'))}")
    sys.exit(0)
counts = report["metadata"]["vulnerabilities"]
for name, v in report["vulnerabilities"].items():
    print(f"{name}: {v['severity']} ({v['range']})")
print(f"npm audit: {counts}")
sys.exit(1 if counts["total"] else 0)
EOF
echo "== web: protocol vectors in JavaScript"
(cd web && node --test test/)
echo "== web: end to end in headless Chromium"
node --test tests/web/
node --test tests/app/
echo "== pytest"
# one worker per core (each test starts its own server on its own port, its own schema and
# prefix on PostgreSQL / S3); VAULT_TEST_WORKERS=0 runs in one process
python -m pytest -q -p no:cacheprovider -n "${VAULT_TEST_WORKERS:-$(nproc)}" "$@"
