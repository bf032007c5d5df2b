"""Login rate limits, third pass (issue 24): the backoff grows, and every 429 says how long to
wait (``Retry-After``, ``retry_after`` in the body, the wait in words in the message), exactly,
per account and per address; a real ``vault-server serve`` says it to the CLI, which prints
one line with the wait and exits 1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
from srv_helpers import REPO, Srv, expect, keypair, new_user, start_process

from vault_core.encoding import b64u, unb64u
from vault_core.login import sign_login_proof


async def _refused(srv: Srv, user: Any, **kw: Any) -> int:
    """A 429 of login/finish; its wait, said alike in the header and the body."""
    r = await srv.login(user, **kw)
    body = await expect(r, 429, "rate_limited")
    wait = int(r.headers["Retry-After"])
    assert body["retry_after"] == wait >= 1
    assert body["message"].startswith("Too many failed logins; try again in ")
    return wait


async def test_the_wait_is_exact_and_grows_per_account(make_srv) -> None:
    # tiers: 3 failures per 15 min, 6 per hour, 12 per 4 h, 24 per 16 h
    srv = await make_srv(login_fail_per_handle=3, login_fail_per_address=10**6)
    jean = await srv.user("jean")
    _, wrong = keypair()
    t0 = srv.clock.now()
    for _ in range(3):
        await expect(await srv.login(jean, sk=wrong), 401)
    assert await _refused(srv, jean) == 900  # the right key too, until t0 + 900
    srv.clock.advance(899)
    assert await _refused(srv, jean, sk=wrong) == 1  # refusals do not prolong the wait
    srv.clock.advance(1)  # t0 + 900: the three failures left the 15-minute window
    for _ in range(3):
        await expect(await srv.login(jean, sk=wrong), 401)
    # now 6 in the hour: the wait is until the first three leave it (t0 + 3600)
    assert await _refused(srv, jean) == 2700
    srv.clock.advance(2700)  # t0 + 3600
    for _ in range(3):
        await expect(await srv.login(jean, sk=wrong), 401)
    assert await _refused(srv, jean) == 900  # 6 in the hour since t0 + 900: until t0 + 4500
    srv.clock.advance(900)  # t0 + 4500
    for _ in range(3):
        await expect(await srv.login(jean, sk=wrong), 401)
    # 12 in four hours: until the first three leave that window, t0 + 14400
    assert await _refused(srv, jean) == t0 + 14400 - srv.clock.now() == 9900
    srv.clock.advance(9899)
    assert await _refused(srv, jean) == 1
    srv.clock.advance(1)
    body = await expect(await srv.login(jean), 200)
    assert body["bundle"]
    # another account is not held back by jean's: the limit is per account
    anne = await srv.user("anne")
    await expect(await srv.login(anne), 200)


async def test_the_wait_per_address_covers_every_account_and_device_logins(make_srv) -> None:
    srv = await make_srv(login_fail_per_handle=10**6, login_fail_per_address=4)
    users = [await srv.user(h) for h in ("jean", "anne")]
    _, wrong = keypair()
    for i in range(4):
        await expect(await srv.login(users[i % 2], sk=wrong), 401)
    srv.clock.advance(100)
    for u in users:
        assert await _refused(srv, u) == 800
        assert await _refused(srv, u, purpose="device") == 800
    ghost, _ = new_user("ghost")  # unknown accounts are told the same
    assert await _refused(srv, ghost) == 800
    srv.clock.advance(800)
    await expect(await srv.login(users[0], purpose="device"), 200)


async def _login_body(s: aiohttp.ClientSession, url: str, user: Any, sk: bytes) -> dict[str, Any]:
    async with s.post(
        f"{url}/v1/login/start", json={"handle": user.handle, "purpose": "passphrase"}
    ) as r:
        ch = unb64u((await r.json())["challenge"])
    host = url.removeprefix("http://")
    return {
        "handle": user.handle,
        "purpose": "passphrase",
        "challenge": b64u(ch),
        "signature": b64u(sign_login_proof(sk, user.handle, host, "passphrase", ch)),
    }


async def test_a_real_server_tells_the_cli_how_long_to_wait(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text("[limits]\nlogin_fail_per_handle = 2\nlogin_fail_window = 600\n")
    p = await start_process(tmp_path / "data", "--config", str(config))
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "VAULT_PASSPHRASE": "correct horse battery staple",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        env.pop("LANGUAGE", None)

        async def vault(*args: str, **extra: str) -> tuple[int, str, str]:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from vault_client.cli import main; main()",
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
                env={**env, **extra},
                cwd=str(tmp_path),
            )
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            return proc.returncode or 0, out.decode(), err.decode()

        home = str(tmp_path / "jean")
        rc, _, err = await vault(
            "--home",
            home,
            "init",
            "--server",
            p.url,
            "--user",
            "jean",
            "--folder",
            str(tmp_path / "folder"),
        )
        assert rc == 0, err
        other = str(tmp_path / "other")
        for _ in range(2):
            rc, _, err = await vault(
                "--home",
                other,
                "login",
                "--server",
                p.url,
                "--user",
                "jean",
                "--folder",
                str(tmp_path / "f2"),
                VAULT_PASSPHRASE="wrong passphrase",
            )
            assert rc == 3, err
        # the HTTP answer: 429, Retry-After in seconds, at most the window
        async with aiohttp.ClientSession() as s:
            user, _ = new_user("jean")
            _, wrong = keypair()
            async with s.post(
                f"{p.url}/v1/login/finish", json=await _login_body(s, p.url, user, wrong)
            ) as r:
                assert r.status == 429
                assert 1 <= int(r.headers["Retry-After"]) <= 600
        rc, _, err = await vault(
            "--home",
            other,
            "login",
            "--server",
            p.url,
            "--user",
            "jean",
            "--folder",
            str(tmp_path / "f2"),
        )
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert rc == 1, (rc, err)
        assert "Traceback" not in err
        assert any("Too many failed logins; try again in 10 minutes" in ln for ln in lines), err
    finally:
        p.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(p.proc.wait(), 30) == 0
    assert "Traceback" not in p.stderr_path.read_text()
