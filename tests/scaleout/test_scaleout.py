"""Several server processes on one PostgreSQL and one S3 bucket (Ceph RGW): what a device
sees must not depend on which process answers it.

* two devices of one account, each on its own process, syncing concurrently, converge with
  nothing lost (the real `vault` CLI);
* a share revoked through one process is refused by the other at once;
* an event made through one process reaches a WebSocket on the other; a session ended through
  one closes the other's sockets;
* compare-and-swap, grant use counts and login rate limits hold across processes;
* everything acknowledged by a process killed with SIGKILL is served by the other;
* nginx in front of both (round robin, WebSockets included) is just another way in.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import threading
from typing import Any

import aiohttp
from scaleout_helpers import Cluster, Device, Nginx

from vault_core import _crypto
from vault_core.encoding import b64u, unb64u
from vault_core.errors import EXIT_ACCESS
from vault_core.grants import access_hash
from vault_core.login import sign_login_proof

EVENT_WAIT = 5.0


# -- helpers -----------------------------------------------------------------------------
class User:
    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.login_pk, self.login_sk = _crypto.sign_keypair(os.urandom(32))
        self.device_id = os.urandom(16).hex()
        self.token = ""

    @property
    def h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def body(self) -> dict[str, Any]:
        def pk() -> str:
            return b64u(_crypto.sign_keypair(os.urandom(32))[0])

        return {
            "handle": self.handle,
            "kdf": {
                "alg": "argon2id",
                "m_kib": 65536,
                "t": 3,
                "p": 1,
                "salt": b64u(os.urandom(16)),
            },
            "login_pk": b64u(self.login_pk),
            "recovery_login_pk": pk(),
            "bundle_pass": b64u(b"bundle"),
            "bundle_recovery": b64u(b"bundle"),
            "identity": {
                "sign_pk": pk(),
                "box_pk": b64u(_crypto.box_keypair(os.urandom(32))[0]),
                "sig": b64u(os.urandom(64)),
            },
            "device": {"id": self.device_id, "name": "api", "sign_pk": pk(), "cert": "AA"},
        }


def handle(prefix: str) -> str:
    return f"{prefix}-{os.urandom(3).hex()}"


async def create(s: aiohttp.ClientSession, url: str, prefix: str) -> User:
    u = User(handle(prefix))
    async with s.post(f"{url}/v1/accounts", json=u.body()) as r:
        assert r.status == 201, await r.text()
        u.token = (await r.json())["token"]
    return u


async def login(s: aiohttp.ClientSession, url: str, u: User) -> str:
    """A new device-less session through ``url``; returns its token."""
    host = url.removeprefix("http://")
    async with s.post(
        f"{url}/v1/login/start", json={"handle": u.handle, "purpose": "passphrase"}
    ) as r:
        ch = unb64u((await r.json())["challenge"])
    sig = sign_login_proof(u.login_sk, u.handle, host, "passphrase", ch)
    body = {
        "handle": u.handle,
        "purpose": "passphrase",
        "challenge": b64u(ch),
        "signature": b64u(sig),
    }
    async with s.post(f"{url}/v1/login/finish", json=body) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["token"])


async def put_blob(s: aiohttp.ClientSession, url: str, u: User, data: bytes) -> str:
    bid = hashlib.sha256(data).hexdigest()
    async with s.put(f"{url}/v1/blobs/{bid}", data=data, headers=u.h) as r:
        assert r.status in (200, 201), await r.text()
    return bid


async def append(
    s: aiohttp.ClientSession, url: str, u: User, head: int, refs: list[str] | None = None
) -> tuple[int, Any]:
    body = {"expected_head": head, "entries": [{"entry": b64u(os.urandom(30)), "refs": refs or []}]}
    async with s.post(f"{url}/v1/log", json=body, headers=u.h) as r:
        return r.status, await r.json()


async def next_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), EVENT_WAIT)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return dict(json.loads(msg.data))


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    """The close code the server sent (aiohttp may report 1006 once the link is gone)."""
    msg = await asyncio.wait_for(ws.receive(), EVENT_WAIT)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
    return int(msg.data) if msg.type == aiohttp.WSMsgType.CLOSE else ws.close_code


# -- devices on different processes (the real CLI) ----------------------------------------
def test_two_devices_on_two_processes_converge(cluster: Cluster, make_device) -> None:
    a_url, b_url = cluster.servers[0].url, cluster.servers[1].url
    user = handle("jean")
    a, b = make_device("A"), make_device("B")
    a.run("init", "--server", a_url, "--user", user, "--folder", str(a.folder))
    a.write("papiers/acte.txt", "acte de naissance")
    a.run("sync")
    b.run("login", "--server", b_url, "--user", user, "--folder", str(b.folder))
    b.run("sync")
    assert b.tree() == {"papiers/acte.txt": b"acte de naissance"}

    written: dict[str, bytes] = {"papiers/acte.txt": b"acte de naissance"}
    for rnd in range(3):
        for dev in (a, b):
            for i in range(3):
                rel = f"{dev.name}/round{rnd}-{i}.bin"
                data = os.urandom(20_000 + 5000 * i)
                dev.write(rel, data)
                written[rel] = data
        # both devices sync at the same time, each through its own process
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_sync, args=(d, errors)) for d in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
    for dev in (a, b, a):  # settle: each picks up what the other pushed
        dev.run("sync")
    assert a.tree() == b.tree() == written


def _sync(dev: Device, errors: list[BaseException]) -> None:
    try:
        dev.run("sync")
    except BaseException as e:  # noqa: BLE001 - reported by the caller
        errors.append(e)


def test_share_revoked_through_a_is_refused_by_b_at_once(cluster: Cluster, make_device) -> None:
    a_url, b_url = cluster.servers[0].url, cluster.servers[1].url
    owner = make_device("owner")
    owner.run("init", "--server", a_url, "--user", handle("marie"), "--folder", str(owner.folder))
    owner.write("papiers/avis.txt", "avis d'imposition")
    owner.run("sync")
    link = owner.run("share", "create", "papiers/avis.txt", "--expires", "1h").stdout.split()[-1]
    assert link.startswith(a_url + "/s/")
    via_b = b_url + link.removeprefix(a_url)
    counsellor = make_device("counsellor")
    out = counsellor.folder.parent / "out1"
    counsellor.run("redeem", via_b, "--out", str(out))
    assert (out / "avis.txt").read_text() == "avis d'imposition"

    # a grant session opened through B, then the share revoked through A
    from vault_client.service.redeem import parse_link
    from vault_core.grants import link_secrets

    parsed = parse_link(via_b)
    gid, secret = parsed.grant_id, parsed.secret

    async def open_and_fetch() -> tuple[int, int, int]:
        token = link_secrets(secret).access_token
        async with aiohttp.ClientSession() as s:
            async with s.post(
                f"{b_url}/v1/grants/{gid}/open", headers={"Authorization": f"Grant {b64u(token)}"}
            ) as r:
                assert r.status == 200, await r.text()
                session = (await r.json())["session"]
            grant_h = {"Authorization": f"Grant {session}"}
            granted = await _grant_blob_ids(cluster, gid)
            async with s.get(f"{b_url}/v1/grants/{gid}/blobs/{granted[0]}", headers=grant_h) as r:
                before = r.status
            revoked = await asyncio.to_thread(owner.run, "share", "revoke", gid)
            assert revoked.returncode == 0
            async with s.get(f"{b_url}/v1/grants/{gid}/blobs/{granted[0]}", headers=grant_h) as r:
                after = r.status
            async with s.post(
                f"{b_url}/v1/grants/{gid}/open", headers={"Authorization": f"Grant {b64u(token)}"}
            ) as r:
                reopen = r.status
        return before, after, reopen

    assert asyncio.run(open_and_fetch()) == (200, 410, 410)
    res = counsellor.run("redeem", via_b, "--out", str(out.parent / "out2"), check=False)
    assert res.returncode == EXIT_ACCESS


async def _grant_blob_ids(cluster: Cluster, gid: str) -> list[str]:
    import asyncpg

    from vault_server.storage.postgres import parse_pg_url

    t = parse_pg_url(cluster.metadata)
    c = await asyncpg.connect(t.dsn, server_settings={"search_path": t.schema})
    try:
        rows = await c.fetch("SELECT blob_id FROM grant_blobs WHERE grant_id=$1", gid)
    finally:
        await c.close()
    return [r[0] for r in rows]


# -- events across processes (HTTP API) ---------------------------------------------------
async def test_events_made_through_a_reach_a_socket_on_b(cluster: Cluster) -> None:
    a_url, b_url = cluster.servers[0].url, cluster.servers[1].url
    async with aiohttp.ClientSession() as s:
        u = await create(s, a_url, "evt")
        ws = await s.ws_connect(f"{b_url}/v1/events", headers=u.h)
        await asyncio.sleep(0.2)  # the socket is registered
        bid = await put_blob(s, a_url, u, os.urandom(1000))
        status, _ = await append(s, a_url, u, 0, [bid])
        assert status == 201
        assert await next_event(ws) == {"type": "log", "head": 1}
        # an inbox deposit by an issuer, through A, for this user
        city = await create(s, a_url, "city")
        res = await asyncio.to_thread(cluster.cli, "grant-issuer", city.handle)
        assert res.returncode == 0, res.stderr
        dep = {"id": os.urandom(16).hex(), "envelope": b64u(b"sealed envelope")}
        async with s.post(f"{a_url}/v1/inbox/{u.handle}", json=dep, headers=city.h) as r:
            assert r.status == 201, await r.text()
        assert await next_event(ws) == {"type": "inbox"}
        await ws.close()


async def test_session_ended_through_a_closes_socket_on_b(cluster: Cluster) -> None:
    a_url, b_url = cluster.servers[0].url, cluster.servers[1].url
    async with aiohttp.ClientSession() as s:
        u = await create(s, a_url, "bye")
        second = await login(s, b_url, u)
        ws_keep = await s.ws_connect(f"{b_url}/v1/events", headers=u.h)
        ws_gone = await s.ws_connect(
            f"{b_url}/v1/events", headers={"Authorization": f"Bearer {second}"}
        )
        await asyncio.sleep(0.2)
        async with s.post(f"{a_url}/v1/logout", headers={"Authorization": f"Bearer {second}"}) as r:
            assert r.status == 204
        assert await closed_with(ws_gone) == 4401
        # the other socket of the account stays open and still gets events
        status, _ = await append(s, a_url, u, 0)
        assert status == 201
        assert await next_event(ws_keep) == {"type": "log", "head": 1}
        # device revocation through A: B's socket of that device hears it, then closes
        async with s.delete(f"{a_url}/v1/devices/{u.device_id}", headers=u.h) as r:
            assert r.status == 204
        assert await next_event(ws_keep) == {"type": "device_revoked"}
        assert await closed_with(ws_keep) == 4401


# -- invariants held in the database ------------------------------------------------------
async def test_log_compare_and_swap_across_processes(cluster: Cluster) -> None:
    urls = [s.url for s in cluster.servers[:2]]
    async with aiohttp.ClientSession() as s:
        u = await create(s, urls[0], "cas")
        got = await asyncio.gather(*(append(s, urls[i % 2], u, 0) for i in range(12)))
        assert sorted(st for st, _ in got) == [201] + [409] * 11
        assert all(b["head"] == 1 for st, b in got if st == 409)

        # writers on both processes that retry on conflict lose nothing
        async def writer(url: str, n: int) -> None:
            head = 1
            done = 0
            while done < n:
                st, body = await append(s, url, u, head)
                if st == 201:
                    head, done = body["head"], done + 1
                else:
                    assert st == 409
                    head = body["head"]

        await asyncio.gather(*(writer(urls[i % 2], 5) for i in range(6)))
        async with s.get(f"{urls[1]}/v1/log?after=0", headers=u.h) as r:
            log = await r.json()
        assert log["head"] == 31 and [e["seq"] for e in log["entries"]] == list(range(1, 32))


async def test_grant_uses_and_login_limits_across_processes(cluster: Cluster) -> None:
    urls = [s.url for s in cluster.servers[:2]]
    async with aiohttp.ClientSession() as s:
        u = await create(s, urls[0], "lim")
        bid = await put_blob(s, urls[1], u, os.urandom(500))
        token = os.urandom(32)
        grant = {
            "id": os.urandom(16).hex(),
            "kind": "link",
            "access_hash": b64u(access_hash(token)),
            "expires_at": 2**40,
            "max_uses": 3,
            "header": b64u(b"h"),
            "payload": b64u(b"p"),
            "blobs": [bid],
        }
        async with s.post(f"{urls[0]}/v1/grants", json=grant, headers=u.h) as r:
            assert r.status == 201, await r.text()

        async def open_(url: str) -> int:
            h = {"Authorization": f"Grant {b64u(token)}"}
            async with s.post(f"{url}/v1/grants/{grant['id']}/open", headers=h) as r:
                return r.status

        got = await asyncio.gather(*(open_(urls[i % 2]) for i in range(10)))
        assert sorted(got) == [200] * 3 + [410] * 7

        # login failures counted through both processes add up (10 per handle)
        async def fail_login(url: str) -> int:
            async with s.post(
                f"{url}/v1/login/start", json={"handle": u.handle, "purpose": "passphrase"}
            ) as r:
                ch = (await r.json())["challenge"]
            body = {
                "handle": u.handle,
                "purpose": "passphrase",
                "challenge": ch,
                "signature": b64u(os.urandom(64)),
            }
            async with s.post(f"{url}/v1/login/finish", json=body) as r:
                return r.status

        statuses = [await fail_login(urls[i % 2]) for i in range(10)]
        assert statuses == [401] * 10
        assert await fail_login(urls[0]) == 429
        assert await fail_login(urls[1]) == 429


async def test_acknowledged_writes_survive_a_killed_process(cluster: Cluster) -> None:
    """SIGKILL one process during uploads: the other serves everything it acknowledged."""
    victim = cluster.start("C")
    other = cluster.servers[1].url
    acked: list[tuple[User, str, bytes]] = []
    async with aiohttp.ClientSession() as s:
        users = [await create(s, victim.url, "kill") for _ in range(4)]

        async def work(u: User) -> None:
            head = 0
            while True:
                data = os.urandom(100_000)
                try:
                    bid = await put_blob(s, victim.url, u, data)
                    st, body = await append(s, victim.url, u, head, [bid])
                except (aiohttp.ClientError, AssertionError):
                    return
                if st != 201:
                    return
                head = body["head"]
                acked.append((u, bid, data))

        tasks = [asyncio.create_task(work(u)) for u in users]
        await asyncio.sleep(1.5)
        victim.proc.send_signal(signal.SIGKILL)
        await asyncio.gather(*tasks, return_exceptions=True)
        victim.proc.wait()
        assert len(acked) > 5, "the load did not get going"
        for u, bid, data in acked:
            async with s.get(f"{other}/v1/blobs/{bid}", headers=u.h) as r:
                assert r.status == 200 and await r.read() == data


# -- behind a reverse proxy ---------------------------------------------------------------
def test_devices_through_nginx(cluster: Cluster, nginx: Nginx, make_device) -> None:
    user = handle("proxy")
    a, b = make_device("PA"), make_device("PB")
    a.run("init", "--server", nginx.url, "--user", user, "--folder", str(a.folder))
    for i in range(6):  # round robin: these requests alternate between the two processes
        a.write(f"doc{i}.txt", f"document {i}")
        a.run("sync")
    b.run("login", "--server", nginx.url, "--user", user, "--folder", str(b.folder))
    b.run("sync")
    assert b.tree() == a.tree() and len(b.tree()) == 6

    async def events_through_proxy() -> None:
        async with aiohttp.ClientSession() as s:
            u = await create(s, nginx.url, "wsproxy")
            ws = await s.ws_connect(f"{nginx.url}/v1/events", headers=u.h)
            await asyncio.sleep(0.2)
            for head in range(4):  # whichever process takes the append, the socket hears it
                st, _ = await append(s, nginx.url, u, head)
                assert st == 201
                assert await next_event(ws) == {"type": "log", "head": head + 1}
            await ws.close()

    asyncio.run(events_through_proxy())
