"""Checks that requirements.lock is true: the venv holds exactly what it pins, and it pins
every requirement of pyproject.toml (dependencies and the test extras) at a version that
satisfies it.

    python scripts/check_lock.py [requirements.lock]

Exit status 1 with one line per disagreement (then: ``bash scripts/lock.sh``), else 0.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "coffre-vault"
# a pin is NAME==VERSION or NAME[EXTRA,...]==VERSION: pip's --require-hashes mode needs the
# extras a dependency asks for (pip-audit wants cachecontrol[filecache]) pinned with them
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)", re.MULTILINE)


def pins(lock_text: str) -> dict[str, str]:
    return {canonicalize_name(n): v for n, _, v in _PIN.findall(lock_text)}


def pinned_extras(lock_text: str) -> dict[str, set[str]]:
    return {
        canonicalize_name(n): {e.strip() for e in x.strip("[]").split(",") if e.strip()}
        for n, x, _ in _PIN.findall(lock_text)
    }


def extras_problems(lock_text: str, requires: list[str]) -> list[str]:
    """The extras the installed packages ask of their dependencies must be pinned with them:
    pip --require-hashes refuses ``cachecontrol[filecache]>=0.13`` (from pip-audit) when the
    lock pins plain ``cachecontrol==...``, as soon as the index offers a newer version."""
    have = pinned_extras(lock_text)
    out = []
    for text in requires:
        req = Requirement(text)
        if not req.extras or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        name = canonicalize_name(req.name)
        missing = sorted(set(req.extras) - have.get(name, set()))
        if missing:
            out.append(f"{req} needs {name}[{','.join(missing)}] pinned with its extras")
    return out


def problems(lock: dict[str, str], installed: dict[str, str], wanted: list[str]) -> list[str]:
    out = []
    for name, ver in sorted(installed.items()):
        if name == PROJECT:
            continue
        if name not in lock:
            out.append(f"{name} {ver} is installed but not in the lock")
        elif lock[name] != ver:
            out.append(f"{name} {ver} is installed, the lock pins {lock[name]}")
    out += [f"{n} {v} is in the lock but not installed" for n, v in sorted(lock.items())
            if n not in installed]  # fmt: skip
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if req.marker is not None and not req.marker.evaluate({"extra": "test"}):
            continue
        if name not in lock:
            out.append(f"{req} (pyproject.toml) is not in the lock")
        elif not req.specifier.contains(Version(lock[name]), prereleases=True):
            out.append(f"{req} (pyproject.toml) is not met by the lock's {lock[name]}")
    return out


def main(lock_path: str) -> int:
    text = Path(lock_path).read_text(encoding="utf-8")
    lock = pins(text)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    requires = [r for d in distributions() for r in (d.requires or [])]
    found = problems(lock, installed, wanted) + extras_problems(text, requires)
    for line in found:
        print(f"lock: {line}")
    if found:
        print("lock: requirements.lock is stale: bash scripts/lock.sh (then commit it)")
        return 1
    print(f"lock: {len(lock)} packages pinned with hashes, exactly what is installed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "requirements.lock")))
