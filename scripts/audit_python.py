"""Reads pip-audit's JSON report and completes it where pip-audit could not look.

    python scripts/audit_python.py REPORT.json PIP_AUDIT_EXIT_CODE

pip-audit asks PyPI's per-version JSON (``/pypi/NAME/VERSION/json``) for each installed
package. Where that endpoint does not answer (seen here: a registry proxy that serves only the
package-level document), pip-audit skips the package. For each skipped one, this asks the
package-level document (``/pypi/NAME/json``), whose ``vulnerabilities`` list is PyPI's advisory
data for the release in ``info.version``: when the installed version is that release, the
package is audited from it; otherwise it stays listed as NOT AUDITED, by name and version.

Exit status: 1 when any vulnerability is known for an installed version (or pip-audit itself
failed), else 0. A package left unaudited is printed, not hidden.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PYPI = "https://pypi.org/pypi"


def _package_document(name: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=15) as resp:  # noqa: S310 (a fixed https URL)
            doc: dict[str, Any] = json.load(resp)
            return doc
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def _line(name: str, installed: str, vuln: object, fixed: list[str]) -> str:
    return f"{name} {installed}: {vuln} (fixed in {', '.join(fixed) or '-'})"


def main(report_path: str, audit_rc: int) -> int:
    deps = json.load(open(report_path, encoding="utf-8"))["dependencies"]
    found: list[str] = []
    unaudited: list[str] = []
    audited = 0
    deps = [d for d in deps if "editable" not in d.get("skip_reason", "")]  # this project
    for d in deps:
        if "skip_reason" not in d:
            audited += 1
            vulns = d["vulns"]
            found += [_line(d["name"], d["version"], v["id"], v["fix_versions"]) for v in vulns]
            continue
        try:
            installed = version(d["name"])
        except PackageNotFoundError:
            unaudited.append(f"{d['name']} (not installed as a distribution)")
            continue
        doc = _package_document(d["name"])
        if doc is None:
            unaudited.append(f"{d['name']} {installed} (not on PyPI)")
        elif doc["info"]["version"] != installed:
            unaudited.append(f"{d['name']} {installed} (latest {doc['info']['version']})")
        else:
            audited += 1
            found += [
                _line(d["name"], installed, v.get("id"), v.get("fixed_in") or [])
                for v in doc.get("vulnerabilities") or []
            ]
    print("\n".join(found))
    print(
        f"pip-audit: {audited} of {len(deps)} packages audited, {len(found)} known vulnerabilities"
    )
    if unaudited:
        print(f"pip-audit: NOT AUDITED ({len(unaudited)}): {'; '.join(unaudited)}")
    return 1 if found or audit_rc not in (0, 1) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
