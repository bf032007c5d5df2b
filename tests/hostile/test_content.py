"""Chunks and manifests under a hostile server: bit flips, chunk reorder / drop / duplicate /
splice from another file or another account, truncated and endless streams, swapped and
replayed manifests (the ETH Zurich survey's chunk and metadata attacks, MEGA's unauthenticated
chunks).

Device ``b`` has three files to download (``lag/big.bin`` of several chunks, ``lag/small.txt``,
``notes.txt`` v2). The server answers one blob request with other bytes; ``b`` must refuse
with exit 4 naming the file, write no byte of it, leave no partial file, and sync once the
tampering stops.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vault_core.errors import EXIT_INTEGRITY

from .harness import World, assert_no_traceback, assert_refused
from .helpers import flip, manifest_of, record_of

BIG = "lag/big.bin"


def chunk_ids(world: World, path: str = BIG) -> list[str]:
    return [c.id for c in manifest_of(world, world.a, path).chunks]


def serve_instead(world: World, blob_id: str, body: bytes | None, status: int = 200) -> None:
    """Door b gets ``body`` (or a ``status`` error) for blob ``blob_id``."""

    def reply(ex: Any) -> None:
        ex.status = status
        if status == 200:
            ex.resp_body = body
            ex.resp_headers["Content-Type"] = "application/octet-stream"
        else:
            ex.set_json({"code": "not_found", "message": "Not found."})

    world.proxy.on("GET", rf"/v1/blobs/{blob_id}", door="b", reply=reply)


def genuine_or_absent(world: World, path: str) -> None:
    """Nothing fake on b: every file is a genuine version, the attacked one unchanged."""
    b = world.b
    now = b.tree()
    for rel, data in now.items():
        assert data in (world.facts["b_tree"].get(rel), world.facts["a_tree"].get(rel)), rel
    assert now.get(path) == world.facts["b_tree"].get(path), f"{path} was written"
    assert not b.leftovers(), "a partial download was left behind"


def resumes(world: World) -> None:
    world.proxy.clear()
    world.b.ok("sync")
    assert world.b.tree() == world.facts["a_tree"]


def _chunk_cases(world: World) -> dict[str, Callable[[], str]]:
    """Each case installs its tampering and returns the attacked file's path."""
    store = world.store
    ids = chunk_ids(world)
    assert len(ids) >= 3, "lag/big.bin must have several chunks"
    body = {i: store.read_blob("jean", i) for i in ids}
    other = chunk_ids(world, "papiers/avis.pdf")[0]
    alice = store.blob_ids("alice")[0]

    def on(blob: str, data: bytes | None, status: int = 200) -> Callable[[], str]:
        def install() -> str:
            serve_instead(world, blob, data, status)
            return BIG

        return install

    def reordered() -> str:
        serve_instead(world, ids[0], body[ids[1]])
        serve_instead(world, ids[1], body[ids[0]])
        return BIG

    return {
        "bit-flip": on(ids[1], flip(body[ids[1]], 100)),
        "tag-flip": on(ids[1], flip(body[ids[1]], -1)),
        "reordered": reordered,
        "duplicated": on(ids[1], body[ids[0]]),
        "spliced-from-other-file": on(ids[1], store.read_blob("jean", other)),
        "from-another-account": on(ids[1], store.read_blob("alice", alice)),
        "dropped-empty": on(ids[1], b""),
        "truncated": on(ids[1], body[ids[1]][:-1000]),
        "last-chunk-truncated": on(ids[-1], body[ids[-1]][:-1]),
        "extended": on(ids[1], body[ids[1]] + bytes(16)),
        "other-magic": on(ids[1], b"VC0" + body[ids[1]][3:]),
    }


CHUNK_CASES = [
    "bit-flip",
    "tag-flip",
    "reordered",
    "duplicated",
    "spliced-from-other-file",
    "from-another-account",
    "dropped-empty",
    "truncated",
    "last-chunk-truncated",
    "extended",
    "other-magic",
]


def attack_chunk(world: World, case: str) -> dict[str, Any]:
    path = _chunk_cases(world)[case]()
    return {"res": world.b.run("sync"), "path": path}


def check_chunk_refused(world: World, out: dict[str, Any]) -> None:
    assert_refused(out["res"], EXIT_INTEGRITY, names=(out["path"],))
    genuine_or_absent(world, out["path"])


@pytest.mark.parametrize("case", CHUNK_CASES)
def test_tampered_chunk_refused(world: World, case: str) -> None:
    out = attack_chunk(world, case)
    check_chunk_refused(world, out)
    resumes(world)


def _manifest_cases(world: World) -> dict[str, Callable[[], str]]:
    store = world.store
    notes = record_of(world.a, "notes.txt")  # v2, not yet on b
    big = record_of(world.a, BIG)
    small = record_of(world.a, "lag/small.txt")
    from vault_client.state import State

    st = State(world.a.home / "state.db")
    try:
        notes_v1 = st.history("notes.txt")[0][1]
    finally:
        st.close()

    def on(rec: Any, data: bytes, path: str) -> Callable[[], str]:
        def install() -> str:
            serve_instead(world, rec.manifest, data)
            return path

        return install

    def swapped() -> str:
        serve_instead(world, big.manifest, store.read_blob("jean", small.manifest))
        serve_instead(world, small.manifest, store.read_blob("jean", big.manifest))
        return BIG

    return {
        "bit-flip": on(big, flip(store.read_blob("jean", big.manifest), 60), BIG),
        "swapped-between-files": swapped,
        "older-version": on(notes, store.read_blob("jean", notes_v1.manifest), "notes.txt"),
        "truncated": on(big, store.read_blob("jean", big.manifest)[:-100], BIG),
        "empty": on(big, b"", BIG),
    }


MANIFEST_CASES = ["bit-flip", "swapped-between-files", "older-version", "truncated", "empty"]


@pytest.mark.parametrize("case", MANIFEST_CASES)
def test_tampered_manifest_refused(world: World, case: str) -> None:
    path = _manifest_cases(world)[case]()
    res = world.b.run("sync")
    assert_refused(res, EXIT_INTEGRITY, names=(path,))
    genuine_or_absent(world, path)
    resumes(world)


# -- the same on the server's disk --------------------------------------------------------------


def _storage_edit(world: World, case: str) -> None:
    store = world.store
    ids = chunk_ids(world)
    other = chunk_ids(world, "papiers/avis.pdf")
    if case == "chunk-file-flipped":
        store.write_blob("jean", ids[2], flip(store.read_blob("jean", ids[2]), 500))
    elif case == "chunk-files-swapped":
        b1, b2 = store.read_blob("jean", ids[0]), store.read_blob("jean", ids[1])
        store.write_blob("jean", ids[0], b2)
        store.write_blob("jean", ids[1], b1)
    elif case == "chunk-replaced-by-other-file-chunk":
        store.write_blob("jean", ids[1], store.read_blob("jean", other[0]))
    elif case == "manifest-file-truncated":
        m = record_of(world.a, BIG).manifest
        store.write_blob("jean", m, store.read_blob("jean", m)[:200])
    else:
        raise AssertionError(case)


STORAGE_CASES = [
    "chunk-file-flipped",
    "chunk-files-swapped",
    "chunk-replaced-by-other-file-chunk",
    "manifest-file-truncated",
]


@pytest.mark.parametrize("case", STORAGE_CASES)
def test_edited_blob_files_refused(world: World, case: str) -> None:
    world.store.snapshot("genuine", world.root / "snapshots" / "genuine")
    _storage_edit(world, case)
    res = world.b.run("sync")
    assert_refused(res, EXIT_INTEGRITY, names=(BIG,))
    genuine_or_absent(world, BIG)
    world.store.restore("genuine")
    resumes(world)


# -- withheld, cut and endless streams ----------------------------------------------------------


def _withhold(world: World, what: str) -> None:
    blob = chunk_ids(world)[1] if what == "chunk" else record_of(world.a, BIG).manifest
    serve_instead(world, blob, None, status=404)


@pytest.mark.parametrize("what", ["chunk", "manifest"])
def test_withheld_blob(world: World, what: str) -> None:
    """A blob the signed record or manifest names is missing (404): the sync fails naming the
    file, nothing is written; the server cannot make it look like a smaller file."""
    _withhold(world, what)
    res = world.b.run("sync")
    assert_refused(res, (1, EXIT_INTEGRITY), names=(BIG,))
    genuine_or_absent(world, BIG)
    resumes(world)


def test_stream_cut_short(world: World) -> None:
    """The answer announces the full length and stops half-way: a failed transfer, never a
    shorter file."""
    ids = chunk_ids(world)
    world.proxy.on("GET", rf"/v1/blobs/{ids[1]}", door="b", truncate=50_000)
    res = world.b.run("sync")
    assert res.returncode in (1, EXIT_INTEGRITY), res.stderr
    assert_refused(res, res.returncode)
    genuine_or_absent(world, BIG)
    resumes(world)


def test_delayed_responses_keep_order(world: World) -> None:
    """Chunk answers arriving out of order (the first one late) still make the right file."""
    ids = chunk_ids(world)
    world.proxy.on("GET", rf"/v1/blobs/{ids[0]}", door="b", delay=1.0)
    world.b.ok("sync")
    assert world.b.tree() == world.facts["a_tree"]


def test_endless_chunk_stream(world: World) -> None:
    """A chunk answer that never ends: the client must stop reading once it has more than the
    signed size (memory stays bounded), refuse, and write nothing."""
    ids = chunk_ids(world)
    cap = 48 * 1024 * 1024

    async def endless(ex: Any) -> AsyncIterator[bytes]:
        piece = bytes(256 * 1024)
        sent = 0
        while sent < cap:
            yield piece
            sent += len(piece)
            await asyncio.sleep(0)

    hook = world.proxy.on("GET", rf"/v1/blobs/{ids[1]}", door="b", stream=endless)
    try:
        res = world.b.run("sync", timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the client kept reading an endless answer")
    assert_no_traceback(res)
    assert res.returncode in (1, EXIT_INTEGRITY), res.stderr
    genuine_or_absent(world, BIG)
    assert hook.sent < 16 * 1024 * 1024, (
        f"the client read {hook.sent} bytes of a chunk whose signed size is at most 1 MiB"
    )
    resumes(world)
