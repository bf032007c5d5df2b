"""The hostile world: a real server process, the tampering proxy, the storage editor and the
devices of every party, with snapshot/restore of all of it between tests.

Devices run the real ``vault`` command line (``Device.run``): by default inside the test
process (``vault_client.cli.main`` with its own argv, environment, working directory and
captured stdout/stderr: the same code path without the interpreter start-up, which keeps the
suite within minutes on two cores, and lets the meta tests monkeypatch a check); with
``HOSTILE_SUBPROCESS=1``, each command is its own ``python -m vault_client.cli`` process.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault_core.errors import EXIT_INTEGRITY

from .proxy import TamperProxy
from .storage import Storage

PASS = "correct horse battery staple"


@dataclass
class Server:
    data: Path
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.data.parent / f"{self.data.name}.log", "a")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vault_server",
                "serve",
                "--data",
                str(self.data),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **self.env},
        )
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                return
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"server on {self.data} did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@dataclass
class Device:
    """One profile (``--home``) and its synced folder, reaching the server through a door."""

    name: str
    home: Path
    folder: Path
    world: Any = None
    passphrase: str = PASS
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.world.proxy.door(self.name)

    def run(
        self,
        *args: str,
        check: bool = False,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            "VAULT_PASSPHRASE": self.passphrase,
            "VAULT_DEVICE_NAME": self.name,
            **self.env,
            **(env or {}),
        }
        argv = ["--home", str(self.home), *args]
        cwd = self.folder if self.folder.exists() else None
        if self.world is not None and self.world.inprocess:
            res = run_in_process(argv, full_env, cwd)
        else:
            env_all = {**os.environ, **full_env}
            env_all.pop("VAULT_HOME", None)
            res = subprocess.run(
                [sys.executable, "-m", "vault_client.cli", *argv],
                capture_output=True,
                text=True,
                env=env_all,
                timeout=timeout,
                cwd=cwd,
            )
        if check and res.returncode != 0:
            raise AssertionError(
                f"{self.name}: vault {' '.join(args)} exited {res.returncode}:\n"
                f"{res.stdout}\n{res.stderr}"
            )
        return res

    def ok(self, *args: str, **kw: Any) -> str:
        """Run, require success, return stdout."""
        return self.run(*args, check=True, **kw).stdout

    def last_line(self, *args: str, **kw: Any) -> str:
        return self.ok(*args, **kw).strip().splitlines()[-1]

    def write(self, rel: str, data: bytes | str) -> Path:
        p = self.folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    def read(self, rel: str) -> bytes:
        return (self.folder / rel).read_bytes()

    def tree(self) -> dict[str, bytes]:
        """Every file of the folder (the control directory excepted)."""
        out: dict[str, bytes] = {}
        if not self.folder.exists():
            return out
        for p in sorted(self.folder.rglob("*")):
            rel = p.relative_to(self.folder).as_posix()
            if rel.startswith(".vault") or not p.is_file() or p.is_symlink():
                continue
            out[rel] = p.read_bytes()
        return out

    def leftovers(self) -> list[Path]:
        """Partial downloads left in the control directory (there must be none)."""
        tmp = self.folder / ".vault" / "tmp"
        return sorted(tmp.iterdir()) if tmp.exists() else []

    def profile(self) -> Any:
        from vault_client.profile import Profile

        prof = Profile(self.home)
        prof.unlock(self.passphrase)
        return prof

    def checkpoint(self) -> Any:
        from vault_client.state import State

        st = State(self.home / "state.db")
        try:
            return st.get_meta("checkpoint")
        finally:
            st.close()

    def snapshot(self, into: Path) -> None:
        for src, name in ((self.home, "home"), (self.folder, "folder")):
            dst = into / name
            if dst.exists():
                shutil.rmtree(dst)
            if src.exists():
                shutil.copytree(src, dst, symlinks=True)

    def restore(self, into: Path) -> None:
        for dst, name in ((self.home, "home"), (self.folder, "folder")):
            if dst.exists() or dst.is_symlink():
                shutil.rmtree(dst)
            if (into / name).exists():
                shutil.copytree(into / name, dst, symlinks=True)


def run_in_process(
    argv: list[str], env: dict[str, str], cwd: Path | None
) -> subprocess.CompletedProcess[str]:
    """The ``vault`` command line inside this process (for monkeypatched checks)."""
    from vault_client.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = dict(os.environ)
    saved_argv = sys.argv
    saved_cwd = os.getcwd()
    os.environ.update(env)
    os.environ.pop("VAULT_HOME", None)
    sys.argv = ["vault", *argv]
    code: Any = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(argv, int(code or 0), out.getvalue(), err.getvalue())


# -- outcomes ---------------------------------------------------------------------------------


def assert_refused(
    res: subprocess.CompletedProcess[str],
    code: int | tuple[int, ...] = EXIT_INTEGRITY,
    names: tuple[str, ...] = (),
) -> str:
    """Refused loudly: the contract's exit code (or one of ``code``), one line on stderr naming
    the object, no traceback. Returns the message."""
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    msg = lines[-1] if lines else ""
    codes = code if isinstance(code, tuple) else (code,)
    assert res.returncode in codes, (
        f"expected exit {codes}, got {res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}"
    )
    assert "Traceback" not in res.stderr, res.stderr
    assert "internal error" not in res.stderr, res.stderr
    assert len(lines) == 1, f"expected one line on stderr, got:\n{res.stderr}"
    if names:
        assert any(n in msg for n in names), f"message does not name {names}: {msg!r}"
    return msg


def assert_no_traceback(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr


def tree_of(path: Path) -> dict[str, bytes]:
    if not path.exists():
        return {}
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@dataclass
class World:
    root: Path
    server: Server
    proxy: TamperProxy
    store: Storage
    devices: dict[str, Device] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    inprocess: bool = False
    server_env: dict[str, str] = field(default_factory=dict)
    extra_servers: list[Server] = field(default_factory=list)

    def device(self, name: str, door: bool = True) -> Device:
        dev = Device(
            name=name,
            home=self.root / "homes" / name,
            folder=self.root / "folders" / name,
            world=self,
        )
        self.devices[name] = dev
        return dev

    def __getattr__(self, name: str) -> Device:
        devices = self.__dict__.get("devices", {})
        if name in devices:
            return devices[name]
        raise AttributeError(name)

    def snapshot(self, name: str) -> None:
        base = self.root / "snapshots" / name
        self.store.snapshot(name, base / "server")
        for dev in self.devices.values():
            dev.snapshot(base / "devices" / dev.name)

    def restore(self, name: str) -> None:
        for srv in self.extra_servers:
            srv.stop()
        self.extra_servers.clear()
        self.proxy.clear()
        self.proxy.set_upstream(self.server.url)
        self.proxy.reset_log()
        base = self.root / "snapshots" / name
        self.store.restore(name)
        for dev in list(self.devices.values()):
            if (base / "devices" / dev.name).exists():
                dev.restore(base / "devices" / dev.name)
            else:  # made by a test: forget it
                for p in (dev.home, dev.folder):
                    if p.exists():
                        shutil.rmtree(p)
                del self.devices[dev.name]

    def second_server(self, name: str) -> Server:
        """A second server process on a copy of the current state (a fork)."""
        data = self.root / "servers" / name
        if data.exists():
            shutil.rmtree(data)
        self.store.clone_to(data)
        srv = Server(data, env=dict(self.server_env))
        srv.start()
        self.extra_servers.append(srv)
        return srv

    def api(self, door_or_url: str | None = None) -> str:
        """A base URL for raw API calls (straight to the real server by default)."""
        return door_or_url or self.server.url


def weakness(reason: str) -> Any:
    """A test of correct behaviour the code does not have yet (reported; removed once fixed)."""
    import pytest

    return pytest.mark.xfail(strict=True, reason=f"known weakness: {reason}")
