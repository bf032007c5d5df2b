"""`vault-server migrate`: an embedded installation (SQLite + files) moved to PostgreSQL + S3
keeps everything (accounts, sessions, log, blobs, grants, inbox, the server secret), and the
command verifies counts and hashes; storage selection by config file; no secret in output."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
from scaleout_helpers import REPO, Cluster
from storage_backends import fresh_name, pg_dsn, pg_password, s3_env, with_schema
from test_scaleout import append, create, put_blob

from vault_core.encoding import b64u
from vault_core.grants import access_hash


def start(args: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_server", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        cwd=str(REPO),
        env=env,
    )
    assert proc.stdout is not None
    m = re.search(r"listening on (http://\S+)", proc.stdout.readline())
    if not m:
        proc.kill()
        proc.wait()
        raise AssertionError(log.read_text()[-3000:])
    return proc, m.group(1)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


async def populate(url: str) -> dict[str, Any]:
    """Some of everything, through the API; returns what must survive."""
    async with aiohttp.ClientSession() as s:
        alice = await create(s, url, "alice")
        city = await create(s, url, "city")
        blobs = {}
        head = 0
        for i in range(5):
            data = os.urandom(10_000 * (i + 1))
            bid = await put_blob(s, url, alice, data)
            blobs[bid] = data
            st, body = await append(s, url, alice, head, [bid])
            assert st == 201
            head = body["head"]
        token = os.urandom(32)
        gid = os.urandom(16).hex()
        grant = {
            "id": gid,
            "kind": "link",
            "access_hash": b64u(access_hash(token)),
            "expires_at": 2**40,
            "max_uses": 5,
            "header": b64u(b"h"),
            "payload": b64u(b"p"),
            "blobs": list(blobs)[:2],
        }
        async with s.post(f"{url}/v1/grants", json=grant, headers=alice.h) as r:
            assert r.status == 201
        async with s.post(
            f"{url}/v1/grants/{gid}/open", headers={"Authorization": f"Grant {b64u(token)}"}
        ) as r:
            assert r.status == 200
        async with s.post(
            f"{url}/v1/login/start", json={"handle": "nobody-here", "purpose": "passphrase"}
        ) as r:
            fake_salt = (await r.json())["kdf"]["salt"]
        async with s.get(f"{url}/v1/log?after=0", headers=alice.h) as r:
            log = await r.json()
        async with s.get(f"{url}/v1/grants", headers=alice.h) as r:
            grants = await r.json()
    return {
        "alice": alice,
        "city": city,
        "blobs": blobs,
        "log": log,
        "grants": grants,
        "fake_salt": fake_salt,
        "grant_id": gid,
    }


async def check(url: str, before: dict[str, Any]) -> None:
    alice = before["alice"]
    async with aiohttp.ClientSession() as s:
        # the session token issued by the embedded server still works: sessions were copied
        async with s.get(f"{url}/v1/log?after=0", headers=alice.h) as r:
            assert r.status == 200 and await r.json() == before["log"]
        for bid, data in before["blobs"].items():
            async with s.get(f"{url}/v1/blobs/{bid}", headers=alice.h) as r:
                assert r.status == 200 and await r.read() == data
        async with s.get(f"{url}/v1/grants", headers=alice.h) as r:
            assert await r.json() == before["grants"]
        async with s.get(f"{url}/v1/grants/{before['grant_id']}/log", headers=alice.h) as r:
            assert [e["what"] for e in await r.json()] == ["open"]
        async with s.post(
            f"{url}/v1/login/start", json={"handle": "nobody-here", "purpose": "passphrase"}
        ) as r:
            assert (await r.json())["kdf"]["salt"] == before["fake_salt"]  # same server secret
        async with s.get(f"{url}/v1/account", headers=alice.h) as r:
            acc = await r.json()
        assert acc["used"] == sum(len(d) for d in before["blobs"].values())
        # new rows get fresh ids after the copied ones
        newcomer = await create(s, url, "newcomer")
        st, _ = await append(s, url, newcomer, 0)
        assert st == 201


def test_migrate_embedded_to_postgres_and_s3(tmp_path: Path) -> None:
    dsn, s3 = pg_dsn(), s3_env()
    schema = fresh_name("mig")
    bucket = fresh_name("vault-mig").replace("_", "-")
    metadata, blobs = with_schema(dsn, schema), s3.url(bucket, "vault/")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    data = tmp_path / "embedded"
    proc, url = start(["--data", str(data)], env, tmp_path / "embedded.log")
    before = asyncio.run(populate(url))
    stop(proc)

    def migrate(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vault_server", "migrate", "--data", str(data),
             "--metadata", metadata, "--blobs", blobs, *extra],
            capture_output=True, text=True, cwd=str(REPO), timeout=120,
            env={**env, **s3.env()},
        )  # fmt: skip

    res = migrate()
    assert res.returncode == 0, res.stderr
    assert "copied and verified" in res.stdout and "5 blobs" in res.stdout
    password = pg_password(dsn)
    for text in (res.stdout, res.stderr):
        assert password not in text and s3.secret_key not in text
    again = migrate()
    assert again.returncode == 1 and "already holds data" in again.stderr
    verify = migrate("--verify-only")
    assert verify.returncode == 0 and "verified" in verify.stdout, verify.stderr

    # tampering is caught by the verification
    async def set_entry(value: bytes | None) -> bytes:
        import asyncpg

        c = await asyncpg.connect(dsn)
        try:
            old = await c.fetchval(f'SELECT entry FROM "{schema}".log_entries WHERE seq = 2')
            if value is not None:
                await c.execute(
                    f'UPDATE "{schema}".log_entries SET entry = $1 WHERE seq = 2', value
                )
            return bytes(old)
        finally:
            await c.close()

    original = asyncio.run(set_entry(b"tampered"))
    bad = migrate("--verify-only")
    assert bad.returncode == 1 and "log_entries: row contents differ" in bad.stderr
    asyncio.run(set_entry(original))

    # the shared installation, configured by a file (credentials in its [s3] table)
    conf = tmp_path / "vault.toml"
    conf.write_text(
        f'metadata = "{metadata}"\nblobs = "{blobs}"\n'
        f'[s3]\naccess_key = "{s3.access_key}"\nsecret_key = "{s3.secret_key}"\n'
    )
    proc, url = start(["--config", str(conf)], env, tmp_path / "shared.log")
    try:
        asyncio.run(check(url, before))
    finally:
        stop(proc)
    log = (tmp_path / "shared.log").read_text()
    assert password not in log and s3.secret_key not in log

    asyncio.run(_drop(dsn, schema, s3, bucket))


async def _drop(dsn: str, schema: str, s3: Any, bucket: str) -> None:
    from scaleout_helpers import cleanup_storage

    await cleanup_storage(dsn, schema, s3, bucket)


def test_storage_errors_are_one_line_without_secrets(tmp_path: Path) -> None:
    secret = "s3cr3t-" + os.urandom(4).hex()
    res = subprocess.run(
        [sys.executable, "-m", "vault_server", "serve", "--port", "0",
         "--metadata", f"postgresql://vault:{secret}@127.0.0.1:1/vault", "--blobs", "s3://b"],
        capture_output=True, text=True, cwd=str(REPO), timeout=60,
    )  # fmt: skip
    assert res.returncode == 1
    assert secret not in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "vault_server", "serve", "--metadata", "mysql://x"],
        capture_output=True, text=True, cwd=str(REPO), timeout=60,
    )  # fmt: skip
    assert res.returncode == 1 and "metadata URL must start with" in res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "vault_server", "serve", "--blobs", "s3://b"],
        capture_output=True, text=True, cwd=str(REPO), timeout=60,
    )  # fmt: skip
    assert res.returncode == 1 and "--data is required" in res.stderr


def test_cli_commands_on_the_shared_store(cluster: Cluster) -> None:
    res = cluster.cli("grant-issuer", "nobody-" + os.urandom(3).hex())
    assert res.returncode == 1 and "unknown account" in res.stderr
    res = cluster.cli("gc")
    assert res.returncode == 0 and "deleted 0 blobs" in res.stdout, res.stderr
