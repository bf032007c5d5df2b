"""The attack tests test something: with the property they check switched off, they fail.

Each case below switches one check off (a monkeypatch of the client code, the command line
running in this process; or, for the server, a second server process started with a patch),
runs a representative attack test of this suite unchanged, and asserts that the test now
fails: the attack succeeds (a forged log or chunk is applied, a substituted key is used, a
weak KDF is derived, an expired grant is served...). Together with the attack tests passing
on the real code, this shows that each of these tests fails exactly when its property is off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vault_core.errors import IntegrityError

from . import (
    test_content,
    test_deposits,
    test_devices,
    test_grants,
    test_keys,
    test_log,
    test_paths,
)
from .harness import Server, World
from .mutants import (  # the same switches the on-demand mutation run uses
    _bundle_identity_off,
    _chain_off,
    _device_certs_off,
    _hwm_off,
    _issuer_signature_off,
    _kdf_floor_off,
    _path_rules_off,
    _pinning_off,
)
from .storage import Storage


@pytest.fixture
def world_here(world: World) -> Iterator[World]:
    """The world with every command running in this process (so monkeypatches apply)."""
    world.inprocess = True
    yield world


def chunk_checks_off(mp: pytest.MonkeyPatch) -> None:
    """Properties 1, 2, 7: a chunk that fails AEAD or its hash is used anyway."""
    import vault_core.chunks as chunks

    orig = chunks.open_chunk

    def open_chunk(ref: Any, blob: bytes) -> bytes:
        try:
            return orig(ref, blob)
        except IntegrityError:
            return bytes(blob[27:-16])

    mp.setattr(chunks, "open_chunk", open_chunk)


CASES: list[tuple[str, Callable[[pytest.MonkeyPatch], None], Callable[[World, Path], None]]] = [
    ("log-chain", _chain_off, lambda w, t: test_log.test_forged_log_refused(w, "dropped-entry")),
    (
        "high-water-mark",
        _hwm_off,
        lambda w, t: test_log.test_lying_log_head(w, "head-below-high-water-mark", 5, 5),
    ),
    (
        "chunk-aead-and-hash",
        chunk_checks_off,
        lambda w, t: test_content.test_tampered_chunk_refused(w, "bit-flip"),
    ),
    (
        "chunk-aead-tag",
        chunk_checks_off,
        lambda w, t: test_content.test_tampered_chunk_refused(w, "tag-flip"),
    ),
    (
        "kdf-floor",
        _kdf_floor_off,
        lambda w, t: test_keys.test_weakened_kdf_parameters_at_login(w, "tiny-memory"),
    ),
    (
        "key-pinning",
        _pinning_off,
        lambda w, t: test_keys.test_counsellor_key_substituted_after_pinning(w),
    ),
    (
        "bundle-identity",
        _bundle_identity_off,
        lambda w, t: test_keys.test_identity_substitution_at_login(w),
    ),
    (
        "device-certificates",
        _device_certs_off,
        lambda w, t: test_devices.test_entries_by_uncertified_or_forged_devices_refused(
            w, "certified-by-another-identity"
        ),
    ),
    (
        "issuer-signature",
        _issuer_signature_off,
        lambda w, t: test_deposits.test_bad_issuer_statement_not_certified(
            w, "signed-by-other-key"
        ),
    ),
    (
        "path-rules",
        _path_rules_off,
        lambda w, t: test_paths.test_traversal_name_in_log_record(w, "../escaped.txt"),
    ),
]


@pytest.mark.parametrize("name,switch_off,attack", CASES, ids=[c[0] for c in CASES])
def test_attack_succeeds_when_property_is_off(
    world_here: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    name: str,
    switch_off: Callable[[pytest.MonkeyPatch], None],
    attack: Callable[[World, Path], None],
) -> None:
    switch_off(monkeypatch)
    with pytest.raises(AssertionError):
        attack(world_here, tmp_path)


# -- a server-side property ---------------------------------------------------------------------


@contextlib.contextmanager
def mutant_server(world: World, patch: str) -> Iterator[Server]:
    """Swap in a server process running ``patch`` at start-up, on a copy of the state."""
    data = world.root / "servers" / "mutant"
    site = world.root / "servers" / "mutant-site"
    for p in (data, site):
        if p.exists():
            shutil.rmtree(p)
    site.mkdir(parents=True)
    (site / "sitecustomize.py").write_text(textwrap.dedent(patch))
    world.store.clone_to(data)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    srv = Server(data, env={"PYTHONPATH": path})
    srv.start()
    saved = (world.server, world.store)
    world.server, world.store = srv, Storage(data)
    world.proxy.set_upstream(srv.url)
    try:
        yield srv
    finally:
        world.server, world.store = saved
        world.proxy.set_upstream(saved[0].url)
        srv.stop()


def test_grant_enforcement_matters(world_here: World, tmp_path: Path) -> None:
    """Property 10 (server side): with the server's grant state check off (every grant
    "active"), the every-endpoint test of expired grants fails."""
    with (
        mutant_server(
            world_here,
            """
        import vault_server.storage.base as base
        base.Grant.state = lambda self, now, max_failed: "active"
    """,
        ),
        pytest.raises(AssertionError),
    ):
        test_grants.test_grant_unavailable_on_every_endpoint(world_here, "expired", tmp_path)
