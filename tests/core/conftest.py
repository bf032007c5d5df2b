from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` run without `python -m`
    sys.path.insert(0, str(ROOT))

from vault_core import keys  # noqa: E402


@pytest.fixture(scope="session")
def floor_params() -> keys.KdfParams:
    """The Argon2id floor itself (64 MiB, 3 passes): the cheapest parameters the core accepts."""
    return keys.KdfParams(salt=bytes(range(1, 17)), m_kib=64 * 1024, t=3, p=1)


@pytest.fixture(scope="session")
def passphrase_keys(floor_params: keys.KdfParams) -> keys.PassphraseKeys:
    """Derived once per session: every Argon2id call at the floor costs ~0.2 s."""
    return keys.derive_passphrase_keys("correct horse battery staple", floor_params)
