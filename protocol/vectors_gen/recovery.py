"""Vectors for SPEC.md "Recovery key": the printable recovery key.

Writes ``recovery.json``.
"""

from __future__ import annotations

import hashlib

from vault_core import keys

from .common import (
    JSON,
    World,
    hx,
    neg,
    vector_file,
)

# -- recovery key text ---------------------------------------------------------------------


def build_recovery(w: World) -> JSON:
    rk = w.recovery_key
    text = keys.format_recovery_key(rk)
    check = hashlib.sha256(b"vault.v1/recovery-check" + rk).digest()[:2]
    compact = text.replace("-", "")
    positive = [
        {"op": "recovery_text", "recovery_key": hx(rk), "check": hx(check), "text": text},
        {"op": "parse_recovery", "text": text.lower(), "recovery_key": hx(rk)},
        {"op": "parse_recovery", "text": compact, "recovery_key": hx(rk)},
        {"op": "parse_recovery", "text": " ".join(text.split("-")) + "\n", "recovery_key": hx(rk)},
    ]
    typo = compact[:10] + ("A" if compact[10] != "A" else "B") + compact[11:]
    negative = [
        neg("one character changed (checksum)", "parse_recovery", "FormatError", text=typo),
        neg("digit 0 instead of O", "parse_recovery", "FormatError", text=compact[:-1] + "0"),
        neg("digit 1", "parse_recovery", "FormatError", text="1" + compact[1:]),
        neg("one group missing", "parse_recovery", "FormatError", text=compact[4:]),
        neg("one character too many", "parse_recovery", "FormatError", text=compact + "A"),
        neg("empty", "parse_recovery", "FormatError", text=""),
        neg("punctuation", "parse_recovery", "FormatError", text=text.replace("-", ".")),
    ]
    return vector_file(
        "recovery",
        "Recovery key",
        "printable recovery key: base32 of key || 2-byte checksum, groups of 4",
        positive=positive,
        negative=negative,
    )
