"""Fixtures of the multi-process tests: two real `vault-server serve` processes on one
PostgreSQL schema and one S3 bucket (Ceph RGW in CI), nginx in front of both, and the real
`vault` command line as devices.

The backends come from the environment contract of tests/storage/storage_backends.py: missing
variables FAIL these tests, unless ``VAULT_TEST_BACKENDS`` leaves postgres/s3 out, which
deselects them. Every process started here is stopped by its pid.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# the storage suites' environment contract (tests/storage/storage_backends.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))

from scaleout_helpers import (
    NGINX_CONF,
    Cluster,
    Device,
    Nginx,
    cleanup_storage,
    free_port,
)
from storage_backends import SHARED, allowed, fresh_name, pg_dsn, pg_password, s3_env, with_schema


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if set(SHARED) <= allowed():
        return
    here = Path(__file__).parent
    dropped = [i for i in items if here in Path(str(i.fspath)).parents]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two server processes, A and B, on one fresh schema and one fresh bucket."""
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
        asyncio.run(cleanup_storage(dsn, schema, s3, bucket))
    password = pg_password(dsn)
    for s in c.servers:
        text = s.log.read_text()
        assert "Traceback" not in text, text[-3000:]
        assert password not in text and s3.secret_key not in text and s3.access_key not in text


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


@pytest.fixture
def make_device(tmp_path: Path):
    def make(name: str) -> Device:
        return Device(tmp_path / f"home-{name}", tmp_path / f"folder-{name}", name)

    return make
