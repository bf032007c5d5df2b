"""requirements.lock, checked by scripts/check_lock.py: it must fail on every kind of drift
between the lock, pyproject.toml and the venv, and pass on the repository as committed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
assert _spec is not None and _spec.loader is not None
check_lock = importlib.util.module_from_spec(_spec)
sys.modules["check_lock"] = check_lock
_spec.loader.exec_module(check_lock)

LOCK = """\
aiohttp==3.14.5 \\
    --hash=sha256:00
    # via coffre-vault (pyproject.toml)
Boolean.py==5.0 \\
    --hash=sha256:11
"""


def test_pins_read_names_canonically() -> None:
    assert check_lock.pins(LOCK) == {"aiohttp": "3.14.5", "boolean-py": "5.0"}


def test_every_drift_is_a_problem() -> None:
    lock = check_lock.pins(LOCK)
    same = {"aiohttp": "3.14.5", "boolean-py": "5.0", "coffre-vault": "0.1.0"}
    assert check_lock.problems(lock, same, ["aiohttp>=3.12.14", "boolean.py"]) == []
    newer = {**same, "aiohttp": "3.15.0"}
    assert check_lock.problems(lock, newer, []) == [
        "aiohttp 3.15.0 is installed, the lock pins 3.14.5"
    ]
    assert check_lock.problems(lock, {**same, "six": "1.16.0"}, []) == [
        "six 1.16.0 is installed but not in the lock"
    ]
    assert check_lock.problems(lock, {"aiohttp": "3.14.5"}, []) == [
        "boolean-py 5.0 is in the lock but not installed"
    ]
    assert check_lock.problems(lock, same, ["aiohttp>=4"]) == [
        "aiohttp>=4 (pyproject.toml) is not met by the lock's 3.14.5"
    ]
    assert check_lock.problems(lock, same, ["rich>=13"]) == [
        "rich>=13 (pyproject.toml) is not in the lock"
    ]


def test_the_committed_lock_pins_pyproject_with_hashes() -> None:
    import tomllib

    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    lock = check_lock.pins(text)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    assert check_lock.problems(lock, {**lock}, wanted) == []
    # each pin carries at least one hash (pip installs the lock with --require-hashes)
    blocks = [b for b in text.split("\n") if "==" in b and not b.startswith(("#", " "))]
    assert len(blocks) == len(lock)
    assert text.count("--hash=sha256:") >= len(lock)
    assert "--extra-index-url" not in text and "--find-links" not in text


def test_extras_a_dependency_asks_for_must_be_pinned_with_it() -> None:
    # pip --require-hashes refuses a plain pin when a dependency asks for the package with an
    # extra (CI failed so on pip-audit's cachecontrol[filecache] once PyPI had a newer version)
    plain = "cachecontrol==0.14.4 \\\n    --hash=sha256:00\n"
    asks = ["CacheControl[filecache]>=0.13.0", "requests>=2", 'rich[jupyter]; extra == "nb"']
    assert check_lock.extras_problems(plain, asks) == [
        "CacheControl[filecache]>=0.13.0 needs cachecontrol[filecache] pinned with its extras"
    ]
    pinned = "cachecontrol[filecache]==0.14.4 \\\n    --hash=sha256:00\n"
    assert check_lock.extras_problems(pinned, asks) == []
    assert check_lock.pins(pinned) == {"cachecontrol": "0.14.4"}
