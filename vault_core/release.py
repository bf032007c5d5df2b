"""The signed release manifest of the owner's web access page (SPEC §Release manifest).

Theory of operation: the web access page is code the server sends at every visit, so a server
could send a page that steals the passphrase. The project narrows this by signing each release
of the page: a manifest lists every file of the built page with its SHA-256 and is signed by a
release key the maintainers keep off every server. A client ships the public release keys it
trusts (never learned from a server) and ``vault web check URL`` compares what a server serves
with a manifest signed by one of them.

This module is pure: it builds the statement and the message to sign (:meth:`Release.issue`),
parses and verifies a served manifest (:func:`verify`: canonical, exact fields, a good
signature, a trusted key), says which path serves each file (:func:`targets`), finds the
``/assets/`` files an HTML page refers to (:func:`asset_refs`), and compares what was fetched
with the manifest (:func:`compare`). Fetching is the caller's (vault_client.service.web); the
server uses :meth:`Release.decode` to refuse serving a manifest that does not match its build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from . import _crypto
from .encoding import b64u, canonical_json, parse_canonical_json, unb64u, want
from .errors import FormatError, IntegrityError

LABEL = b"vault.v1/release\x00"
MAX_FILE = 64 * 1024  # bytes of the served manifest
MAX_FILES = 256
NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
RELEASE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
FIELDS = frozenset({"created", "files", "key", "release", "sig", "v"})

WELL_KNOWN = "/.well-known/vault-release.json"
# the pages served at their own paths; every other file at /assets/NAME
PAGE_PATHS = {"index.html": "/", "securite.html": "/securite-acces-web"}
APP_PATH = "/app/"  # index.html again
ASSETS = "/assets/"


def release_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """The release key pair (public, secret) from its 32-byte seed."""
    if len(seed) != 32:
        raise FormatError("release key: a 32-byte seed")
    return _crypto.sign_keypair(seed)


def path_of(name: str) -> str:
    """The URL path that serves the file ``name``."""
    return PAGE_PATHS.get(name, ASSETS + name)


def _check_files(files: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    if not 1 <= len(files) <= MAX_FILES:
        raise FormatError(f"release: 1 to {MAX_FILES} files")
    out = []
    for name, digest in sorted(files.items()):
        if type(name) is not str or not NAME.fullmatch(name):
            raise FormatError("release: a bad file name")
        if type(digest) is not str or not SHA256_HEX.fullmatch(digest):
            raise FormatError("release: a hash is not 64 lower-case hex digits")
        out.append((name, digest))
    if not set(PAGE_PATHS) <= {n for n, _ in out}:
        raise FormatError("release: index.html or securite.html missing")
    return tuple(out)


def _check_meta(release: str, created: int) -> None:
    if type(release) is not str or not RELEASE_NAME.fullmatch(release):
        raise FormatError("release: a bad release name")
    if type(created) is not int or not 0 <= created < 2**53:
        raise FormatError("release: created out of range")


@dataclass(frozen=True)
class Release:
    release: str
    created: int
    files: tuple[tuple[str, str], ...]  # (name, sha256 hex), sorted by name
    key: bytes
    sig: bytes

    def body(self) -> dict[str, Any]:
        """The signed statement: the manifest without ``sig``."""
        return {
            "created": self.created,
            "files": dict(self.files),
            "key": b64u(self.key),
            "release": self.release,
            "v": 1,
        }

    def message(self) -> bytes:
        return LABEL + canonical_json(self.body())

    def encode(self) -> bytes:
        """The served file (canonical JSON; the writer adds one newline)."""
        return canonical_json({**self.body(), "sig": b64u(self.sig)})

    def hashes(self) -> dict[str, str]:
        return dict(self.files)

    @classmethod
    def issue(
        cls, sk: bytes, pk: bytes, release: str, created: int, files: Mapping[str, str]
    ) -> Release:
        """Sign a release of ``files`` (name -> SHA-256 hex) with the release key."""
        _crypto.check_sign_pk(pk)
        _check_meta(release, created)
        unsigned = cls(release, created, _check_files(files), pk, b"")
        return cls(release, created, unsigned.files, pk, _crypto.sign(sk, unsigned.message()))

    @classmethod
    def decode(cls, data: bytes) -> Release:
        """Parse a served manifest and verify its signature under its own ``key``
        (IntegrityError for any failure). Whether that key is trusted is :func:`verify`'s."""
        if len(data) > MAX_FILE:
            raise IntegrityError()
        if data.endswith(b"\n"):  # one trailing newline, as a text file has
            data = data[:-1]
        try:
            obj = parse_canonical_json(data)
            if not isinstance(obj, dict) or set(obj) != FIELDS:
                raise FormatError("release: fields")
            if want(obj["v"], int) != 1:
                raise FormatError("release: version")
            files = want(obj["files"], dict)
            _check_meta(obj["release"], obj["created"])
            out = cls(
                release=obj["release"],
                created=obj["created"],
                files=_check_files(files),
                key=unb64u(want(obj["key"], str), 32),
                sig=unb64u(want(obj["sig"], str), 64),
            )
        except (FormatError, KeyError, TypeError, ValueError):
            raise IntegrityError() from None
        _crypto.check_sign_pk(out.key)
        _crypto.verify(out.key, out.message(), out.sig)
        return out


def verify(data: bytes, trusted: Iterable[bytes]) -> Release:
    """A served manifest, signed by one of the ``trusted`` release keys (IntegrityError
    otherwise: malformed, a bad signature, or a key this client does not trust)."""
    release = Release.decode(data)
    if not any(_crypto.equal(release.key, k) for k in trusted):
        raise IntegrityError("release manifest: signed by a key this client does not trust")
    return release


def targets(release: Release) -> list[tuple[str, str]]:
    """What a checker fetches: (name, path) for every listed file, and ``/app/`` too."""
    out = [(name, path_of(name)) for name, _ in release.files]
    out.append(("index.html", APP_PATH))
    return out


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for attr, value in attrs:
            if attr in ("src", "href") and value is not None:
                path = urlsplit(value.strip()).path
                if path.startswith(ASSETS):
                    self.refs.append(path[len(ASSETS) :])


def asset_refs(html: str) -> list[str]:
    """The names under ``/assets/`` that an HTML page's ``src`` and ``href`` attributes refer
    to, in order, each once."""
    parser = _Refs()
    parser.feed(html)
    parser.close()
    return list(dict.fromkeys(parser.refs))


OK = "ok"
DIFFERS = "differs"
MISSING = "missing"  # not served (no 200 answer)
UNLISTED = "unlisted"  # a page refers to it, the manifest does not list it


@dataclass(frozen=True)
class FileCheck:
    name: str
    path: str
    state: str  # ok | differs | missing | unlisted
    sha256: str | None  # of the bytes served (None when nothing was served or fetched)
    expected: str | None  # the manifest's (None for an unlisted file)


def compare(release: Release, served: Mapping[str, bytes | None]) -> list[FileCheck]:
    """Each target of :func:`targets` against what was served at its path (``served``: path
    -> bytes, None or absent when not served), then every ``/assets/`` file a served page
    refers to that the manifest does not list."""
    expected = release.hashes()
    out = []
    for name, path in targets(release):
        body = served.get(path)
        got = _crypto.sha256(body).hex() if body is not None else None
        if got is None:
            state = MISSING
        elif _crypto.equal(got.encode(), expected[name].encode()):
            state = OK
        else:
            state = DIFFERS
        out.append(FileCheck(name, path, state, got, expected[name]))
    seen = set(expected)
    for path in (*PAGE_PATHS.values(), APP_PATH):
        body = served.get(path)
        if body is None:
            continue
        for ref in asset_refs(body.decode("utf-8", errors="replace")):
            if ref not in seen:
                seen.add(ref)
                out.append(FileCheck(ref, ASSETS + ref, UNLISTED, None, None))
    return out


def differing(checks: Iterable[FileCheck]) -> list[str]:
    """The names of the files that are not genuine, in order, each once."""
    return list(dict.fromkeys(c.name for c in checks if c.state != OK))
