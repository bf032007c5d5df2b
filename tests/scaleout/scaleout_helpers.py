"""Helpers of the multi-process tests (imported by conftest.py and the tests; a unique module
name, since several test directories have a conftest.py)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage"))

from storage_backends import S3Env

REPO = Path(__file__).resolve().parents[2]
PASS = "correct horse battery staple"


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


async def cleanup_storage(dsn: str, schema: str, s3: S3Env, bucket: str) -> None:
    import asyncpg

    from vault_server.storage.s3_blobs import S3BlobStore, parse_s3_url

    c = await asyncpg.connect(dsn)
    try:
        await c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await c.close()
    store = await S3BlobStore.open(parse_s3_url(s3.url(bucket), s3.access_key, s3.secret_key))
    try:
        client = store._client
        async for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                await client.delete_object(Bucket=bucket, Key=obj["Key"])
        await client.delete_bucket(Bucket=bucket)
    finally:
        await store.close()


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
