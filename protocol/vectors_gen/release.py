"""Vectors for SPEC.md "Release manifest (web access)": the signed manifest of the web access
page, the path of each file, and what a checker MUST reject.

Writes ``release.json``. The signed message and the file are re-derived here from the SPEC's
formulas (hashlib, plain JSON): a drift between this and ``vault_core.release`` stops the
build. Negative cases are signed validly where the point is the form (a bad name, a missing
page), so that only the rule under test can refuse them; each lists the keys the checker
trusts (``trusted``, hex).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vault_core import _crypto, release
from vault_core.encoding import b64u, canonical_json

from .common import JSON, T0, det, hx, neg, vector_file

PAGES = ("index.html", "securite.html")
BUILD = (*PAGES, "app.css", "app.js", "engine.js", "icon.svg", "pdf.js", "pdf.worker.js")


def _files(names: tuple[str, ...]) -> dict[str, str]:
    return {n: hashlib.sha256(det(f"release/file/{n}", 200)).hexdigest() for n in names}


def _signed(sk: bytes, body: dict[str, Any], **extra: Any) -> str:
    sig = _crypto.sign(sk, b"vault.v1/release\x00" + canonical_json(body))
    return canonical_json({**body, "sig": b64u(sig), **extra}).decode()


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def _body(pk: bytes, files: Any, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created": T0,
        "files": files,
        "key": b64u(pk),
        "release": "0.1.0",
        "v": 1,
    }
    body.update(over)
    return body


def build_release() -> JSON:
    pk, sk = release.release_keypair(det("release/key"))
    other_pk, other_sk = release.release_keypair(det("release/other-key"))
    positive = []
    for label, names, rel_name, created in (
        ("the two pages only", PAGES, "0.1.0", T0),
        ("a full build", BUILD, "2026.12.1+web", T0 + 86400),
    ):
        files = _files(names)
        made = release.Release.issue(sk, pk, rel_name, created, files)
        body = json.dumps(
            {"created": created, "files": files, "key": b64u(pk), "release": rel_name, "v": 1},
            separators=(",", ":"),
            sort_keys=True,
            ensure_ascii=False,
        ).encode()
        assert body == canonical_json(made.body())
        msg = b"vault.v1/release\x00" + body
        assert msg == made.message()
        file_text = json.dumps(
            {**json.loads(body), "sig": b64u(made.sig)}, separators=(",", ":"), sort_keys=True
        )
        assert file_text.encode() == made.encode()
        assert release.verify(file_text.encode() + b"\n", [other_pk, pk]) == made
        paths = [[n, release.path_of(n)] for n in sorted(files)] + [["index.html", "/app/"]]
        assert [list(t) for t in release.targets(made)] == paths
        positive.append(
            {
                "op": "release",
                "name": label,
                "release_seed": hx(det("release/key")),
                "release_pk": hx(pk),
                "trusted": [hx(other_pk), hx(pk)],
                "body_text": body.decode(),
                "message": hx(msg),
                "sig": hx(made.sig),
                "file_text": file_text,
                "targets": paths,
            }
        )
    html = (
        '<!doctype html><link rel="icon" href="/assets/icon.svg">'
        '<link rel="stylesheet" href="/assets/app.css" integrity="sha384-x">'
        '<script src="/assets/app.js?v=1" defer></script>'
        '<img src="/assets/icon.svg" alt=""><a href="/securite-acces-web">Sécurité</a>'
        '<a href="https://example.org/assets/other.js">x</a>'
    )
    refs = release.asset_refs(html)
    assert refs == ["icon.svg", "app.css", "app.js", "other.js"]
    positive.append({"op": "asset_refs", "name": "the /assets/ files a page refers to",
                     "html_text": html, "refs": refs})  # fmt: skip

    full = _files(BUILD)
    good = _signed(sk, _body(pk, full))
    trusted = [hx(pk)]

    def case(name: str, text: str, keys: list[str] = trusted) -> JSON:
        return neg(name, "release", "IntegrityError", file_text=text, trusted=keys)

    tampered = dict(full, **{"engine.js": hashlib.sha256(b"tampered").hexdigest()})
    valid_other = _signed(other_sk, _body(other_pk, full))
    negative = [
        case(
            "a hash changed after signing",
            canonical_json({**json.loads(good), "files": tampered}).decode(),
        ),
        case("signed by a key the checker does not trust", valid_other),
        case(
            "the trusted key named, another key's signature",
            canonical_json({**json.loads(valid_other), "key": b64u(pk)}).decode(),
        ),
        case("no trusted key at all", good, []),
        case("not canonical (a space)", good.replace(',"key"', ', "key"')),
        case("two trailing newlines", good + "\n\n"),
        case("an extra field", _signed(sk, _body(pk, full), url="https://x")),
        case("an extra field, signed", _signed(sk, _body(pk, full, note="x"))),
        case("no created", _signed(sk, _without(_body(pk, full), "created"))),
        case("version 2", _signed(sk, _body(pk, full, v=2))),
        case("version true", _signed(sk, _body(pk, full, v=True))),
        case("created is a string", _signed(sk, _body(pk, full, created=str(T0)))),
        case("created negative", _signed(sk, _body(pk, full, created=-1))),
        case("no securite.html", _signed(sk, _body(pk, _without(full, "securite.html")))),
        case("no index.html", _signed(sk, _body(pk, _without(full, "index.html")))),
        case("no files", _signed(sk, _body(pk, {}))),
        case("a path as a name", _signed(sk, _body(pk, {**full, "../app.py": "0" * 64}))),
        case("an upper-case name", _signed(sk, _body(pk, {**full, "App.js": "0" * 64}))),
        case("a hidden name", _signed(sk, _body(pk, {**full, ".htaccess": "0" * 64}))),
        case("an upper-case hash", _signed(sk, _body(pk, {**full, "app.js": "A" * 64}))),
        case("a hash of 63 digits", _signed(sk, _body(pk, {**full, "app.js": "0" * 63}))),
        case("a hash as a number", _signed(sk, _body(pk, {**full, "app.js": 0}))),
        case("files as a list", _signed(sk, _body(pk, sorted(full)))),
        case("an empty release name", _signed(sk, _body(pk, full, release=""))),
        case("a release name with a space", _signed(sk, _body(pk, full, release="0.1 beta"))),
        case(
            "a small-order key",
            _signed(sk, _body(pk, full, key=b64u(bytes([1]) + bytes(31)))),
            [hx(bytes([1]) + bytes(31))],
        ),
        case(
            "a signature of 63 bytes",
            canonical_json({**json.loads(good), "sig": b64u(bytes(63))}).decode(),
        ),
        case("over 64 KiB", good + " " * (64 * 1024)),
        case(
            "more than 256 files",
            _signed(sk, _body(pk, {**full, **{f"f{i}.js": "0" * 64 for i in range(250)}})),
        ),
    ]
    return vector_file(
        "release",
        "Release manifest (web access)",
        "The signed release manifest of the web access page (SHA-256 of every file, signed "
        "by a release key the client trusts), the path of each file, and the /assets/ files a "
        "page refers to.",
        positive=positive,
        negative=negative,
    )
