"""Vectors for SPEC.md "File records": the vault paths a client accepts and refuses.

Writes ``paths.json``.
"""

from __future__ import annotations

from .common import (
    JSON,
    neg,
    vector_file,
)

# -- paths ---------------------------------------------------------------------------------


def build_paths() -> JSON:
    ok = [
        "a",
        "Papiers/Acte de naissance.pdf",
        "é/ü/日本語.txt",
        ".hidden",
        "a..b",
        "a b/c d",
        "x" * 255,
    ]
    bad = [
        ("empty", ""),
        ("dot", "."),
        ("dot-dot", ".."),
        ("dot-dot inside", "a/../b"),
        ("dot-dot at the end", "a/.."),
        ("dot inside", "a/./b"),
        ("absolute", "/etc/passwd"),
        ("empty part", "a//b"),
        ("trailing slash", "a/"),
        ("backslash", "a\\b"),
        ("backslash traversal", "..\\x"),
        ("NUL", "a\x00b"),
        ("control character", "a\nb"),
        ("drive letter", "C:/Windows"),
        ("drive-relative", "C:x"),
        ("longer than 4096 bytes", "a/" * 2048 + "a"),
        ("name over 255 bytes", "x" * 256),
        ("only dots", "..."),
        ("dot-dot-space (Windows strips it)", ".. /x"),
        ("trailing dot", "avis."),
        ("trailing space", "avis "),
        ("colon (alternate data stream)", "a/b:c"),
        ("reserved device name", "CON"),
        ("reserved device name with extension", "dossier/nul.txt"),
        ("bidi override", "facture\u202etxt.exe"),
    ]
    return vector_file(
        "paths",
        "File records",
        "vault paths a client accepts and refuses (before a decrypted name reaches a file system)",
        positive=[{"op": "check_path", "path": p} for p in ok],
        negative=[neg(name, "check_path", "FormatError", path=p) for name, p in bad],
    )
