"""Fixtures of the multi-process tests: two real `vault-server serve` processes on one
PostgreSQL schema and one S3 bucket (Ceph RGW in CI), nginx in front of both, and the real
`vault` command line as devices.

The backends come from the environment contract of tests/storage/storage_backends.py: missing
variables FAIL these tests, unless ``VAULT_TEST_BACKENDS`` leaves postgres/s3 out, which
deselects them. Every process started here is stopped by its pid.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))

from storage_backends import (  # noqa: E402
    EMBEDDED,
    SHARED,
    S3Env,
    allowed,
    fresh_name,
    pg_dsn,
    s3_env,
    with_schema,
)

REPO = Path(__file__).resolve().parents[2]
PASS = "correct horse battery staple"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if set(SHARED) <= allowed():
        return
    here = Path(__file__).parent
    dropped = [i for i in items if here in Path(str(i.fspath)).parents]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


del EMBEDDED


@dataclass
class ServerProc:
    name: str
    proc: subprocess.Popen[str]
    url: str
    log: Path

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


@dataclass
class Cluster:
    metadata: str = field(repr=False)
    blobs: str
    s3: S3Env
    tmp: Path
    servers: list[ServerProc] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.s3.env(), "PYTHONPATH": str(REPO)}

    def start(self, name: str) -> ServerProc:
        log = self.tmp / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "vault_server", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            cwd=str(REPO),
            env={**self.env(), "VAULT_METADATA": self.metadata, "VAULT_BLOBS": self.blobs},
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{name} did not start:\n{log.read_text()[-3000:]}")
        s = ServerProc(name, proc, m.group(1), log)
        self.servers.append(s)
        return s

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`vault-server ARGS` on this cluster's storage."""
        return subprocess.run(
            [sys.executable, "-m", "vault_server", *args],
            capture_output=True,
            text=True,
            cwd=str(REPO),
            env={**self.env(), "VAULT_METADATA": self.metadata, "VAULT_BLOBS": self.blobs},
            timeout=60,
        )


async def _cleanup_storage(dsn: str, schema: str, s3: S3Env, bucket: str) -> None:
    import asyncpg

    from vault_server.storage.s3_blobs import S3BlobStore, parse_s3_url

    c = await asyncpg.connect(dsn)
    try:
        await c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await c.close()
    store = await S3BlobStore.open(
        parse_s3_url(s3.url(bucket), s3.access_key, s3.secret_key)
    )
    try:
        async for a, b, _ in store.list_blobs():
            await store.delete(a, b)
        await store._client.delete_bucket(Bucket=bucket)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two server processes, A and B, on one fresh schema and one fresh bucket."""
    import asyncio

    dsn, s3 = pg_dsn(), s3_env()
    schema = fresh_name("so")
    bucket = fresh_name("vault-so").replace("_", "-")
    c = Cluster(with_schema(dsn, schema), s3.url(bucket), s3, tmp_path_factory.mktemp("cluster"))
    try:
        c.start("A")
        c.start("B")
        yield c
    finally:
        for s in c.servers:
            s.stop()
        asyncio.run(_cleanup_storage(dsn, schema, s3, bucket))
    for s in c.servers:
        assert "Traceback" not in s.log.read_text(), s.log.read_text()[-3000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NGINX_CONF = """\
{user}
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream vault {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 40m;
        location / {{
            proxy_pass http://vault;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 3600s;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    proc: subprocess.Popen[bytes]
    url: str


@pytest.fixture(scope="module")
def nginx(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    binary = os.environ.get("VAULT_TEST_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).is_file():
        pytest.fail(
            f"nginx not found ({binary}): run under scripts/with-services.sh (it installs"
            " nginx-light) or set VAULT_TEST_NGINX",
            pytrace=False,
        )
    d = tmp_path_factory.mktemp("nginx")
    port = free_port()
    servers = "\n".join(f"        server {s.host};" for s in cluster.servers[:2])
    user = "user root;" if os.geteuid() == 0 else ""
    conf = d / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, dir=d, servers=servers, port=port))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(d)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"nginx exited: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield Nginx(proc, f"http://127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful stop, by its pid
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Device:
    home: Path
    folder: Path
    name: str

    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "VAULT_PASSPHRASE": PASS, "VAULT_DEVICE_NAME": self.name}
        env.pop("VAULT_HOME", None)
        proc = subprocess.run(
            [sys.executable, "-m", "vault_client.cli", "--home", str(self.home), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=self.folder if self.folder.exists() else None,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"vault {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def write(self, rel: str, data: bytes | str) -> None:
        p = self.folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)

    def tree(self) -> dict[str, bytes]:
        out = {}
        for p in sorted(self.folder.rglob("*")):
            rel = p.relative_to(self.folder).as_posix()
            if rel.startswith(".vault") or not p.is_file():
                continue
            out[rel] = p.read_bytes()
        return out


@pytest.fixture
def make_device(tmp_path: Path):
    def make(name: str) -> Device:
        return Device(tmp_path / f"home-{name}", tmp_path / f"folder-{name}", name)

    return make
