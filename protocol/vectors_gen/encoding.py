"""Vectors for SPEC.md "Conventions": base64url without padding, canonical JSON.

Writes ``encoding.json``.
"""

from __future__ import annotations

import json

from vault_core.encoding import b64u, canonical_json

from .common import (
    JSON,
    det,
    hx,
    neg,
    vector_file,
)

# -- encoding ------------------------------------------------------------------------------


def build_encoding() -> JSON:
    b64 = []
    for data in (b"", b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", bytes([0xFB, 0xFF, 0xBF])):
        b64.append({"op": "b64u", "bytes": hx(data), "text": b64u(data)})
    b64.append({"op": "b64u", "bytes": hx(det("encoding/32")), "text": b64u(det("encoding/32"))})
    canon = [
        ('{ "b": 1, "a": [true, false, null] }', '{"a":[true,false,null],"b":1}'),
        ('{"z": {"y": 2, "x": -3}, "é": "\\u00e9\\n\\u0001\\"\\\\/"}', None),
        ('{"\\uffff": 1, "\\ud83d\\ude00": 2, "~": 3, "A": 4}', None),
        ('"\\u2028 \\u007f"', None),
        ("[9007199254740991, -9007199254740991, 0]", None),
        ('{"": ""}', None),
    ]
    canon_cases = []
    for src, expected in canon:
        text = canonical_json(json.loads(src)).decode("utf-8")
        if expected is not None:
            assert text == expected
        canon_cases.append({"op": "canonical_json", "input_text": src, "canonical_text": text})
    negative = [
        neg("padding", "unb64u", "FormatError", text="Zm9vYg=="),
        neg("standard alphabet +", "unb64u", "FormatError", text="-+8"),
        neg("standard alphabet /", "unb64u", "FormatError", text="-_/"),
        neg("non-canonical trailing bits (2 chars)", "unb64u", "FormatError", text="Zn"),
        neg("non-canonical trailing bits (3 chars)", "unb64u", "FormatError", text="Zm9"),
        neg("impossible length 4n+1", "unb64u", "FormatError", text="Zm9vY"),
        neg("embedded whitespace", "unb64u", "FormatError", text="Zm9v Yg"),
        neg("trailing newline", "unb64u", "FormatError", text="Zm9vYg\n"),
        neg(
            "wrong size for a 32-byte field", "unb64u", "FormatError", text=b64u(bytes(31)), size=32
        ),
    ]
    bad_json = [
        ("whitespace", '{"a": 1}'),
        ("unsorted keys", '{"b":1,"a":2}'),
        ("duplicate key", '{"a":1,"a":1}'),
        ("float", '{"a":1.0}'),
        ("exponent", '{"a":1e2}'),
        ("negative zero", '{"a":-0}'),
        ("leading zero", '{"a":01}'),
        ("integer above 2^53-1", '{"a":9007199254740992}'),
        ("integer below -(2^53-1)", '{"a":-9007199254740992}'),
        ("huge integer (5000 digits)", '{"a":1' + "0" * 5000 + "}"),
        ("unneeded escape \\u0041", '"\\u0041"'),
        ("escaped solidus", '"\\/"'),
        ("upper-case hex escape", '"\\u001F"'),
        ("escaped non-ASCII", '"\\u00e9"'),
        ("lone surrogate escape", '"\\ud800"'),
        ("NaN", '{"a":NaN}'),
        ("Infinity", '{"a":Infinity}'),
        ("trailing newline", '{"a":1}\n'),
        ("trailing garbage", '{"a":1}x'),
        ("raw control character in a string", '"a\tb"'),
        ("single quotes", "{'a':1}"),
        ("empty document", ""),
    ]
    for name, text in bad_json:
        negative.append(neg(name, "parse_canonical_json", "FormatError", text=text))
    negative.append(
        neg(
            "UTF-8 byte order mark",
            "parse_canonical_json",
            "FormatError",
            bytes=hx(b'\xef\xbb\xbf{"a":1}'),
        )
    )
    negative.append(
        neg("invalid UTF-8", "parse_canonical_json", "FormatError", bytes=hx(b'"\xc3\x28"'))
    )
    negative.append(
        neg(
            "overlong UTF-8 for '/'", "parse_canonical_json", "FormatError", bytes=hx(b'"\xc0\xaf"')
        )
    )
    return vector_file(
        "encoding",
        "Conventions",
        "base64url without padding and canonical JSON",
        positive=b64 + canon_cases,
        negative=negative,
    )
