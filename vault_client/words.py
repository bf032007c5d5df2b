"""An authority's fingerprint as six French words (SPEC §Trust invitations).

The indices come from :func:`vault_core.trust.fingerprint_indices`; the words from BIP-39's
French list of 2048 words, as shipped by the ``mnemonic`` package. The list is checked against
the SHA-256 the SPEC gives before it is used: a changed list would show other words for the
same key, and a paper letter would then disagree with every screen.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from vault_core.errors import VaultError
from vault_core.trust import fingerprint_indices

FRENCH_LIST_SHA256 = "ebc3959ab7801a1df6bac4fa7d970652f1df76b683cd2f4003c941c63d517e59"


@cache
def french_list() -> tuple[str, ...]:
    data = (resources.files("mnemonic") / "wordlist" / "french.txt").read_bytes()
    if hashlib.sha256(data).hexdigest() != FRENCH_LIST_SHA256:
        raise VaultError("the French word list of the mnemonic package is not BIP-39's")
    words = tuple(data.decode("utf-8").split())
    if len(words) != 2048:
        raise VaultError("the French word list does not hold 2048 words")
    return words


def authority_words(authority_pk: bytes) -> str:
    """Six words, separated by spaces: what the paper letter and every screen show."""
    wl = french_list()
    return " ".join(wl[i] for i in fingerprint_indices(authority_pk))
