"""Vault paths (SPEC §File records, paths): the one grammar of a name inside the vault.

A path from a decrypted record, a grant, a deposit, a mandate's scope or the command line is
checked here before it ever reaches a file system.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import FormatError

MAX_PATH_BYTES = 4096
_FORBIDDEN_NAMES = {"", ".", ".."}
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}
MAX_NAME_BYTES = 255
# ASCII characters refused anywhere in a path: C0 controls and DEL (category Cc; ASCII has no
# Cf character), backslash and colon
_ASCII_BAD = re.compile(r"[\x00-\x1f\x7f\\:]")


def check_path(path: Any) -> str:
    """A vault path: '/'-separated, relative, every component a name any platform can hold.

    Refused: empty, '.', '..' components; absolute paths; backslash, colon (drive letters,
    alternate data streams), NUL and other control or format characters (bidi overrides);
    components ending in a dot or a space (Windows strips them, so '.. ' would become '..');
    reserved device names (CON, NUL.txt, ...); names over 255 bytes. Everything that could
    escape the synced folder on any platform is refused here, before a decrypted name ever
    reaches a file system.
    """
    if not isinstance(path, str) or not path:
        raise FormatError("bad path")
    ascii_only = path.isascii()
    if ascii_only:
        # fast path (most names): no character to look up in the Unicode database
        if len(path) > MAX_PATH_BYTES or _ASCII_BAD.search(path) or path[0] == "/":
            raise FormatError("bad path")
    else:
        try:
            size = len(path.encode("utf-8"))
        except UnicodeEncodeError:
            raise FormatError("bad path") from None
        if size > MAX_PATH_BYTES or path[0] == "/" or any(c in path for c in "\\:\x00"):
            raise FormatError("bad path")
    for part in path.split("/"):
        if part in _FORBIDDEN_NAMES or part[-1] in ". ":
            raise FormatError("bad path")
        if not ascii_only:
            if len(part.encode()) > MAX_NAME_BYTES:
                raise FormatError("bad path")
            if any(ord(ch) < 32 or unicodedata.category(ch) in ("Cc", "Cf") for ch in part):
                raise FormatError("bad path")
        elif len(part) > MAX_NAME_BYTES:
            raise FormatError("bad path")
        if part.split(".")[0].upper().rstrip() in _RESERVED:
            raise FormatError("bad path")
    return path
