"""Stateful property test on the real client and a real server: random edits, deletions and
syncs on two devices; after every sync no version ever written is lost (it is on a device or
in the server's verified history), and two quiet rounds of syncs make both trees equal."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from vault_client.profile import Profile
from vault_client.service import Context, account, syncing
from vault_client.state import State

PASS = "stateful passphrase"
PATHS = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "d"]
_counter = itertools.count()


async def _sync(ctx: Context) -> None:
    await syncing.sync(ctx, confirm=lambda q: True)


def _tree(folder: Path) -> dict[str, bytes]:
    out = {}
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and not rel.startswith(".vault"):
            out[rel] = p.read_bytes()
    return out


def _history_contents(profile: Profile) -> set[str]:
    st_ = State(profile.home / "state.db")
    try:
        return {r[0] for r in st_.db.execute("SELECT rec FROM records")}
    finally:
        st_.close()


@pytest.mark.slow
def test_two_devices_random_operations(server, tmp_path: Path) -> None:
    base_dir = tmp_path

    class TwoDevices(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            n = next(_counter)
            handle = f"prop{n}"
            self.profiles: list[Profile] = []
            self.contexts: list[Context] = []  # (unlocked by init/login)
            self.written: set[bytes] = set()
            for i, name in enumerate(("A", "B")):
                os.environ["VAULT_DEVICE_NAME"] = name
                ctx = Context(base_dir / f"h{n}{name}")
                folder = base_dir / f"f{n}{name}"
                if i == 0:
                    asyncio.run(account.init(ctx, server.url, handle, folder, PASS))
                else:
                    asyncio.run(account.login(ctx, server.url, handle, folder, PASS))
                self.contexts.append(ctx)
                self.profiles.append(ctx.profile)

        def folder(self, i: int) -> Path:
            return self.profiles[i].folder

        @rule(
            dev=st.integers(0, 1),
            path=st.sampled_from(PATHS),
            data=st.binary(min_size=0, max_size=64),
        )
        def write(self, dev: int, path: str, data: bytes) -> None:
            target = self.folder(dev) / path
            # a file and a folder cannot share a name on disk: skip such writes
            for parent in target.relative_to(self.folder(dev)).parents:
                if (self.folder(dev) / parent).is_file():
                    return
            if target.is_dir():
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            payload = data + os.urandom(4)  # every write is a distinct version
            target.write_bytes(payload)

        @rule(dev=st.integers(0, 1), path=st.sampled_from(PATHS))
        def delete(self, dev: int, path: str) -> None:
            target = self.folder(dev) / path
            if target.is_file():
                target.unlink()

        @rule(dev=st.integers(0, 1))
        def sync(self, dev: int) -> None:
            # what is on the device when it syncs must never be lost afterwards
            self.written |= set(_tree(self.folder(dev)).values())
            asyncio.run(_sync(self.contexts[dev]))
            self._check_nothing_lost()

        def _check_nothing_lost(self) -> None:
            # every written content is on a device or downloadable from verified history
            present = set(_tree(self.folder(0)).values()) | set(_tree(self.folder(1)).values())
            hashed = set()
            for prof in self.profiles:
                hashed |= _history_contents(prof)
            for payload in self.written - present:
                # not on disk: it must have been uploaded (its content hash in history)
                h = _content_hash(self.profiles[0], payload)
                assert any(h in rec for rec in hashed), "a version was lost"

        def teardown(self) -> None:
            if not getattr(self, "profiles", None):
                return
            for dev in (0, 1, 0, 1):
                self.written |= set(_tree(self.folder(dev)).values())
                asyncio.run(_sync(self.contexts[dev]))
            assert _tree(self.folder(0)) == _tree(self.folder(1))
            self._check_nothing_lost()

    TwoDevices.TestCase.settings = settings(
        max_examples=int(os.environ.get("VAULT_STATEFUL_EXAMPLES", "20")),
        stateful_step_count=12,
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    TwoDevices.TestCase().runTest()


def _content_hash(profile: Profile, payload: bytes) -> str:
    from vault_core import chunks
    from vault_core.encoding import b64u
    from vault_core.manifest import Manifest

    vk = profile.bundle.vault_keys
    chunker = chunks.new_chunker(vk.cdc_seed)
    refs = [
        chunks.chunk_ref(vk.chunk_id_key, vk.chunk_key_key, v) for v in chunks.cut(chunker, payload)
    ]
    return b64u(Manifest.build(bytes(16), 1, refs).content)
