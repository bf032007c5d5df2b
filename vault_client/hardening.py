"""Local data in process and at rest: what a client process does before it holds a key.

- No core dumps and no ptrace by other processes of the user: ``prctl(PR_SET_DUMPABLE, 0)``
  (Linux) and a zero core-size limit, so a crash or a debugger of the same user does not write
  the decrypted secrets to disk or read them from memory.
- Child processes (the large-file helper) get an environment without the vault's secrets
  (``$VAULT_PASSPHRASE``, ``$VAULT_NEW_PASSPHRASE``, ``$VAULT_RECOVERY_KEY``,
  ``$VAULT_LINK_PASSWORD``): what the helper needs crosses its stdin pipe.
- The profile must be the owner's alone: :func:`permission_problems` lists any directory not
  0700 or file not 0600 in it (the faces warn at start; the client itself writes with umask
  077 and explicit modes).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

SECRET_ENV = (
    "VAULT_PASSPHRASE",
    "VAULT_NEW_PASSPHRASE",
    "VAULT_RECOVERY_KEY",
    "VAULT_LINK_PASSWORD",
)
_PR_SET_DUMPABLE = 4


_hardened: bool | None = None


def harden_process() -> bool:
    """No core dump, no ptrace by the same user (once per process, before the first secret is
    decrypted); True when the kernel took it."""
    global _hardened
    if _hardened is None:
        _hardened = _harden()
    return _hardened


def _harden() -> bool:
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default this process's) without the vault's secrets."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if k not in SECRET_ENV}


def permission_problems(home: Path) -> list[str]:
    """Paths of the profile that others could read or write (never follows a link)."""
    problems = []
    try:
        entries = [home, *home.rglob("*")]
    except OSError:
        return []
    for path in entries:
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(str(path))
    return problems
