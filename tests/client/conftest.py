"""Fixtures for client integration tests: a real server process on 127.0.0.1 and the real
``vault`` command line run as a subprocess, with real folders."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASS = "correct horse battery staple"


def engine_sync(dev: Any, after_scan: Any = None) -> Any:
    """One sync of ``dev`` by a SyncEngine in this process; its SyncReport (what the tests
    look at). ``after_scan``: called once the scan is done, before the uploads."""
    import asyncio

    from vault_client.profile import Profile
    from vault_client.session import open_api
    from vault_client.sync import SyncEngine

    prof = Profile(dev.home)
    prof.unlock(PASS)

    async def run() -> Any:
        api = await open_api(prof)
        async with api:
            eng = SyncEngine(prof, api, warn=lambda msg: None)
            if after_scan is not None:
                scan = eng.scan

                def scanned(*args: Any, **kwargs: Any) -> Any:
                    out = scan(*args, **kwargs)
                    after_scan()
                    return out

                eng.scan = scanned  # type: ignore[method-assign]
            try:
                return await eng.sync()
            finally:
                eng.close()

    return asyncio.run(run())


@dataclass
class Server:
    data: Path
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    port: int = 0
    extra: list[str] = field(default_factory=list)  # more `serve` options

    def start(self) -> None:
        args = [
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
            *self.extra,
        ]
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.data.parent / "server.log", "a")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                return
            if self.proc.poll() is not None:
                break
        raise RuntimeError("server did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server-data")
    srv.start()
    yield srv
    srv.stop()


@dataclass
class Device:
    home: Path
    folder: Path
    passphrase: str = PASS
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "VAULT_PASSPHRASE": self.passphrase, **self.env, **(env or {})}
        full_env.pop("VAULT_HOME", None)
        proc = subprocess.run(
            [sys.executable, "-m", "vault_client.cli", "--home", str(self.home), *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            timeout=timeout,
            cwd=self.folder if self.folder.exists() else None,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"vault {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def sync(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("sync", *extra)

    def write(self, rel: str, data: bytes | str) -> Path:
        p = self.folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        p.write_bytes(data)
        return p

    def read(self, rel: str) -> bytes:
        return (self.folder / rel).read_bytes()

    def tree(self) -> dict[str, bytes]:
        out = {}
        for p in sorted(self.folder.rglob("*")):
            rel = p.relative_to(self.folder).as_posix()
            if rel == ".vault" or rel.startswith(".vault/") or not p.is_file():
                continue
            out[rel] = p.read_bytes()
        return out


@pytest.fixture
def make_device(tmp_path: Path):
    counter = iter(range(100))

    def make(name: str | None = None) -> Device:
        n = name or f"dev{next(counter)}"
        return Device(
            home=tmp_path / f"home-{n}",
            folder=tmp_path / f"folder-{n}",
            env={"VAULT_DEVICE_NAME": n},
        )

    return make


@pytest.fixture
def account(server: Server, make_device):
    """An account with its first device: returns (device, recovery key)."""

    def create(handle: str = "jean", name: str = "A") -> tuple[Device, str]:
        dev = make_device(name)
        out = dev.run("init", "--server", server.url, "--user", handle, "--folder", str(dev.folder))
        recovery = out.stdout.strip().splitlines()[-1]
        return dev, recovery

    return create


@pytest.fixture
def second_device(server: Server, make_device):
    def login(handle: str = "jean", name: str = "B", passphrase: str = PASS) -> Device:
        dev = make_device(name)
        dev.passphrase = passphrase
        dev.run("login", "--server", server.url, "--user", handle, "--folder", str(dev.folder))
        return dev

    return login
