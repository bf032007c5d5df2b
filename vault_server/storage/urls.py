"""Storage URLs: the only form of them that may be logged or shown."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable url>"
    if password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def redact_text(text: str) -> str:
    """Any ``scheme://user:password@`` inside ``text`` with the password replaced."""
    return _USERINFO.sub(r"\1***@", text)


class StorageError(Exception):
    """A storage problem whose message is safe to show (no secrets)."""
