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
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def pins(lock_text: str) -> dict[str, str]:
    return {canonicalize_name(n): v for n, v in _PIN.findall(lock_text)}


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
    lock = pins(Path(lock_path).read_text(encoding="utf-8"))
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    found = problems(lock, installed, wanted)
    for line in found:
        print(f"lock: {line}")
    if found:
        print("lock: requirements.lock is stale: bash scripts/lock.sh (then commit it)")
        return 1
    print(f"lock: {len(lock)} packages pinned with hashes, exactly what is installed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "requirements.lock")))
