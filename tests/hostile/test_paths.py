"""Path traversal: in decrypted names (log records, grant items, deposit file names), through
symlinks on disk, and in ids (server routes, command-line arguments, ids listed by a hostile
server). A name never escapes the folder it is written to; an id never becomes another path.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from vault_core import _crypto
from vault_core import grants as g
from vault_core.encoding import b64u, canonical_json
from vault_core.errors import EXIT_INTEGRITY, EXIT_USAGE
from vault_core.keys import device_keypair
from vault_core.log import RECORD_MAGIC, LogEntry, _record_ad, _sign_message

from .harness import World, assert_no_traceback, assert_refused, tree_of
from .helpers import fresh_token, heads, http, profile, record_of, run_api

BAD_NAMES = [
    "../escaped.txt",
    "../../escaped.txt",
    "/tmp/hostile-absolute-escape.txt",
    "papiers/../../escaped.txt",
    "..\\escaped.txt",
    "C:escaped.txt",
    ".. /escaped.txt",
    "papiers/./x.txt",
    "CON.txt",
    "doc\u202etxt.exe",
    "",
]


def forge_raw_record(world: World, obj: dict[str, Any]) -> bytes:
    """A log entry whose record is ``obj`` as is (no validation), signed by device a."""
    a = world.a
    prof = profile(a)
    log = [e for _, e in world.store.log("jean")]
    seq, prev = len(log) + 1, LogEntry.decode(log[-1]).hash()
    nonce = os.urandom(24)
    rec = (
        RECORD_MAGIC
        + nonce
        + _crypto.aead_encrypt(
            prof.bundle.vault_keys.record_key,
            nonce,
            canonical_json(obj),
            _record_ad("jean", seq, prof.device_id),
        )
    )
    e = LogEntry(seq=seq, prev=prev, device_id=prof.device_id, time=1, rec=rec, sig=b"")
    sig = _crypto.sign(device_keypair(prof.secrets.device_seed)[1], _sign_message(e))
    return LogEntry(e.seq, e.prev, e.device_id, e.time, e.rec, sig).encode()


def outside_files(world: World) -> set[Path]:
    roots = [world.root / "folders", world.root / "homes", world.root]
    found = set()
    for r in roots:
        for name in ("escaped.txt", "x.txt"):
            p = r / name
            if p.exists():
                found.add(p)
    if Path("/tmp/hostile-absolute-escape.txt").exists():
        found.add(Path("/tmp/hostile-absolute-escape.txt"))
    return found


@pytest.mark.parametrize("name", BAD_NAMES)
def test_traversal_name_in_log_record(world: World, name: str) -> None:
    """Even a record encrypted and signed by a genuine device (a compromised one) cannot name
    a path outside the folder: refused before anything is fetched or written."""
    acte = record_of(world.a, "papiers/acte.txt")
    obj = {**acte.to_json(), "file": os.urandom(16).hex(), "version": 1, "path": name}
    log = [e for _, e in world.store.log("jean")]
    world.store.replace_log("jean", [*log, forge_raw_record(world, obj)])
    res = world.b.run("sync")
    assert_refused(res, EXIT_INTEGRITY, names=("log entry",))
    assert world.b.tree() == world.facts["b_tree"]
    assert outside_files(world) == set()
    world.store.replace_log("jean", log)
    world.b.ok("sync")


def link_grant_by(world: World, owner_dev: Any, items: list[g.GrantItem], blobs: list[str]) -> str:
    """A link grant made with vault_core directly by ``owner_dev`` (another user, T6)."""
    prof = profile(owner_dev)
    secret = os.urandom(32)
    ls = g.link_secrets(secret)
    gid = os.urandom(16).hex()
    header = g.GrantHeader(
        grant_id=gid,
        owner=prof.handle,
        owner_sign_pk=prof.bundle.identity_sign[0],
        kind="link",
        to=None,
        to_box_pk=None,
        expires=int(time.time()) + 3600,
        max_uses=None,
        password=False,
        created=0,
    )
    payload = g.GrantPayload(gid, 1, ("x",), tuple(items))
    sealed = g.seal_payload(
        header, payload, ls.grant_key, prof.bundle.identity_sign[1], os.urandom(24)
    )

    async def post(api: Any, _prof: Any) -> None:
        await api.post(
            "/v1/grants",
            {
                "id": gid,
                "kind": "link",
                "expires_at": header.expires,
                "password": False,
                "header": b64u(header.encode()),
                "payload": b64u(sealed),
                "blobs": blobs,
                "access_hash": b64u(g.access_hash(ls.access_token)),
            },
        )

    run_api(post, owner_dev)
    return f"{world.proxy.door('r')}/s/{gid}#{b64u(secret)}"


def alice_item(world: World, name: str) -> tuple[g.GrantItem, list[str]]:
    rec = heads(world.x)["alice.txt"]
    from .helpers import manifest_of

    m = manifest_of(world, world.x, "alice.txt", handle="alice")
    item = g.GrantItem(
        name=name,
        file_id=rec.file_id,
        version=rec.version,
        size=rec.size,
        mtime=rec.mtime,
        content=rec.content,
        manifest=rec.manifest,
        key=rec.key,
    )
    return item, [rec.manifest, *(c.id for c in m.chunks)]


@pytest.mark.parametrize(
    "name",
    [
        "../escaped.txt",
        "../../escaped.txt",
        "/tmp/hostile-absolute-escape.txt",
        "a/../../escaped.txt",
        "..\\escaped.txt",
    ],
)
def test_traversal_name_in_shared_item(world: World, name: str, tmp_path: Path) -> None:
    """Another user shares a "document" whose name climbs out of the counsellor's --out."""
    ok, blobs = alice_item(world, "fine.txt")
    bad, _ = alice_item(world, name)
    link = link_grant_by(world, world.x, [ok, bad], blobs)
    out = tmp_path / "sub" / "out"
    res = world.device("r").run("redeem", link, "--out", str(out))
    assert_refused(res, EXIT_INTEGRITY, names=("shared documents", "grant", name))
    assert tree_of(out) == {} and not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "sub" / "escaped.txt").exists()
    assert outside_files(world) == set()


def test_symlink_in_redeem_folder_not_followed(world: World, tmp_path: Path) -> None:
    item, blobs = alice_item(world, "docs/x.txt")
    link = link_grant_by(world, world.x, [item], blobs)
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "docs").symlink_to(outside)
    res = world.device("r").run("redeem", link, "--out", str(out))
    assert res.returncode != 0
    assert_no_traceback(res)
    assert list(outside.iterdir()) == []


def test_symlink_in_sync_folder_not_followed(world: World, tmp_path: Path) -> None:
    b = world.b
    outside = tmp_path / "outside"
    outside.mkdir()
    (b.folder / "lag").symlink_to(outside)
    res = b.run("sync")
    assert_no_traceback(res)
    assert list(outside.iterdir()) == [], "the client wrote through a symlink"


@pytest.mark.parametrize(
    "filename", ["../../escaped.txt", "a/b.txt", "..", "C:escaped.txt", "/etc/escaped.txt"]
)
def test_traversal_in_deposit_file_name(world: World, filename: str) -> None:
    """A certified issuer (acting badly) names its document so as to climb out of the inbox
    folder: the deposit is invalid and cannot be accepted."""
    from .test_deposits import inbox, make_deposit, put_deposit

    dep_id, env = make_deposit(world, filename=filename)
    put_deposit(world, "jean", dep_id, env)
    assert inbox(world.a)[dep_id]["valid"] is False
    before = world.a.tree()
    res = world.a.run("inbox", "accept", dep_id)
    assert_refused(res, EXIT_INTEGRITY, names=(dep_id, "deposit"))
    assert world.a.tree() == before and outside_files(world) == set()


def test_accept_destination_outside_folder(world: World, tmp_path: Path) -> None:
    res = world.a.run(
        "inbox", "accept", world.facts["deposit_jean"], "--to", str(tmp_path / "escaped.pdf")
    )
    assert_refused(res, EXIT_USAGE)
    assert not (tmp_path / "escaped.pdf").exists()


# -- ids ----------------------------------------------------------------------------------------

TRAVERSAL_IDS = [
    "..",
    "%2e%2e",
    "..%2F..%2Fserver.secret",
    "..%2fvault.sqlite3",
    "0" * 31 + "%2F",
    "A" * 32,
    "0" * 32 + "%00",
    "../../etc/passwd",
]


def test_traversal_ids_on_server_routes(world: World) -> None:
    """Every id-bearing route answers 400/404/405 to an id outside its grammar: never a file
    outside the blob store, never a 500."""
    token = fresh_token(world.a)
    auth = {"Authorization": f"Bearer {token}"}
    blob = world.store.blob_ids("jean")[0]
    routes = [
        ("GET", "/v1/blobs/{}"),
        ("PUT", "/v1/blobs/{}"),
        ("GET", "/v1/inbox/{}"),
        ("DELETE", "/v1/inbox/{}"),
        ("POST", "/v1/grants/{}/open"),
        ("DELETE", "/v1/grants/{}"),
        ("GET", "/v1/grants/{}/log"),
        ("PUT", "/v1/grants/{}/payload"),
        ("GET", "/v1/grants/{}/blobs/" + blob),
        ("GET", f"/v1/grants/{'0' * 32}/blobs/{{}}"),
        ("PUT", "/v1/devices/{}/cert"),
        ("DELETE", "/v1/devices/{}"),
        ("POST", "/v1/requests/{}/answer"),
        ("GET", "/v1/users/{}/keys"),
        ("POST", "/v1/inbox/{}"),
        ("POST", "/v1/requests/{}"),
    ]
    files_before = sorted(p for p in world.store.data.rglob("*") if "staging" not in str(p))
    secret = (world.store.data / "server.secret").read_bytes()
    for method, pattern in routes:
        for bad in TRAVERSAL_IDS:
            status, body = http(
                world.server.url,
                method,
                pattern.format(bad),
                b"{}",
                {**auth, "Content-Type": "application/json"},
            )
            assert status in (400, 404, 405), (method, pattern, bad, status, body[:200])
            assert secret not in body
    files_after = sorted(p for p in world.store.data.rglob("*") if "staging" not in str(p))
    assert files_after == files_before


def test_traversal_ids_in_command_arguments(world: World, tmp_path: Path) -> None:
    """An id typed (or pasted from a hostile listing) with path segments is refused by the
    client, never sent as another path: ``share revoke ../devices/ID`` must not revoke a
    device, ``share revoke ../inbox/ID`` must not delete a deposit."""
    b_id = world.facts["device_b"]
    dep = world.facts["deposit_jean"]
    attempts = [
        ("share", "revoke", f"../devices/{b_id}"),
        ("share", "revoke", f"../inbox/{dep}"),
        ("share", "log", "../../log"),
        ("inbox", "accept", f"../devices/{b_id}"),
        ("requests", "answer", f"../../devices/{b_id}", "papiers/acte.txt"),
    ]
    for args in attempts:
        res = world.a.run(*args)
        assert res.returncode != 0, f"vault {' '.join(args)} succeeded"
        assert_no_traceback(res)
    res = world.c.run("redeem", f"../../devices/{b_id}", "--out", str(tmp_path / "o"))
    assert res.returncode != 0
    sent = [r.path for r in world.proxy.log if ".." in r.path or "devices" in r.path]
    assert sent == [], f"the client sent {sent}"
    assert world.store.query("SELECT revoked_at FROM devices WHERE id=?", b_id) == [(None,)]
    assert dep in world.store.deposits("jean")


def test_traversal_ids_listed_by_server(world: World) -> None:
    """A hostile server lists inbox items, requests and shares whose ids are paths: the client
    does not follow them (no request leaves for another route) and says what is wrong."""
    b_id = world.facts["device_b"]
    bad = f"../devices/{b_id}"
    world.proxy.on(
        "GET",
        r"/v1/inbox",
        door="a",
        reply=lambda ex: ex.set_json([{"id": bad, "from": "mairie", "received_at": 1, "size": 3}]),
    )
    res = world.a.run("inbox", "--json")
    assert_no_traceback(res)
    followed = [
        r.path for r in world.proxy.log if r.path not in ("/v1/inbox", "/v1/log/head", "/v1/log")
    ]
    assert followed == [], f"the client followed server-chosen ids: {followed}"
    if res.returncode != 0:
        assert_refused(res, EXIT_INTEGRITY, names=("inbox", "id"))
    else:
        items = json.loads(res.stdout)
        assert all(i.get("valid") is False for i in items if i.get("id") == bad)
