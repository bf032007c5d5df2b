"""Local data at rest and in process (issue 24): an owner-only profile, checked at start with
a warning; no core dumps or ptrace of a process holding the keys; no secret in the
environment of the large-file helper."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from vault_client.hardening import SECRET_ENV, child_environment


def test_profile_is_owner_only_and_a_loosened_one_is_reported(account):
    dev, _ = account()
    for path in [dev.home, *dev.home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    assert dev.run("history", "x", check=False).stderr.count("open to other users") == 0

    os.chmod(dev.home / "config.json", 0o644)
    res = dev.run("trust", "list")
    assert "open to other users" in res.stderr and "config.json" in res.stderr
    assert "chmod -R go-rwx" in res.stderr


_DUMPABLE = (
    "import ctypes\n"
    "libc = ctypes.CDLL(None)\n"
    "def dumpable():\n"
    "    return libc.prctl(3, 0, 0, 0, 0)\n"  # PR_GET_DUMPABLE
)


def test_unlocking_makes_the_process_undumpable(account):
    dev, _ = account()
    code = _DUMPABLE + (
        "import resource\n"
        "from pathlib import Path\n"
        "from vault_client.profile import Profile\n"
        "before = dumpable()\n"
        f"Profile(Path({str(dev.home)!r})).unlock({dev.passphrase!r})\n"
        "print(before, dumpable(), resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "0", "0"]  # dumpable before, not once the keys are in


def test_a_command_that_never_decrypts_stays_as_it_was():
    code = _DUMPABLE + "import vault_client.cli\nprint(dumpable())\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_child_processes_get_no_secret():
    env = {name: "secret" for name in SECRET_ENV} | {"PATH": "/usr/bin", "VAULT_HOME": "/x"}
    assert child_environment(env) == {"PATH": "/usr/bin", "VAULT_HOME": "/x"}


def test_the_helper_process_environment_has_no_passphrase(monkeypatch):
    from vault_client.sync.helper import Helper

    monkeypatch.setenv("VAULT_PASSPHRASE", "correct horse battery staple")
    helper = Helper.spawn()
    assert helper is not None
    try:
        environ = open(f"/proc/{helper.proc.pid}/environ", "rb").read()
    finally:
        helper.stop()
    assert b"VAULT_PASSPHRASE" not in environ and b"correct horse" not in environ
