"""The junk corpus (issue 24): a real ``vault-server serve`` process gets malformed HTTP on
raw sockets (NUL bytes and bare CRs in header values and names, oversized header values and
request lines, too many headers, bad methods and versions, bad and smuggling chunked framing,
invalid UTF-8 and encoded junk in paths, absurd Content-Lengths, truncated bodies, broken
upgrades, binary garbage, pipelined junk). Every answer is a clean JSON 4xx, or the connection
is closed; never a 5xx. Afterwards the server still answers, and its log (stderr) holds one
JSON object per line, no traceback, no "Error handling request", and none of the secrets the
junk carried."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from srv_helpers import blob, new_user, start_process

# A marker standing for a credential inside junk headers: it must never reach the log.
SECRET = "s3cretTOKEN" + os.urandom(6).hex()


@dataclass(frozen=True)
class Junk:
    name: str
    raw: bytes
    # "answer": a status line is expected; "any": an answer or a closed connection
    expect: str = "answer"
    # close the socket right after sending (a truncated request), without reading
    abort: bool = False


def req(head: str | bytes, *headers: str | bytes, body: bytes = b"") -> bytes:
    def b(x: str | bytes) -> bytes:
        return x if isinstance(x, bytes) else x.encode("latin-1")

    lines = [b(head), *(b(h) for h in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


H = "Host: 127.0.0.1"
GET = "GET /v1/health HTTP/1.1"
POST_JSON = "POST /v1/login/start HTTP/1.1"


def corpus(token: str) -> list[Junk]:
    auth = f"Authorization: Bearer {token}"
    bid = blob(b"junk")
    put = f"PUT /v1/blobs/{bid} HTTP/1.1"
    j = [
        # NUL, CR, LF and other control bytes in header values and names
        Junk("nul-in-value", req(GET, H, b"X-Junk: a\x00b")),
        Junk("nul-in-authorization", req("GET /v1/log/head HTTP/1.1", H, f"{auth}\x00{SECRET}")),
        Junk("nul-in-host", req(GET, b"Host: 127.0.0.1\x00evil")),
        Junk("nul-in-content-type", req(POST_JSON, H, b"Content-Type: app\x00/json")),
        Junk("nul-in-cookie", req(GET, H, f"Cookie: session={SECRET}\x00")),
        Junk("nul-in-name", req(GET, H, b"X-Ju\x00nk: a")),
        Junk("bare-cr-in-value", req(GET, H, b"X-Junk: a\rb")),
        Junk("bare-lf-in-value", req(GET, H, b"X-Junk: a\nb")),
        Junk("control-bytes-in-value", req(GET, H, b"X-Junk: \x01\x02\x1b[31m\x7f")),
        Junk("high-bytes-in-authorization", req(GET, H, b"Authorization: Bearer \xff\xfe\xfd")),
        Junk("space-in-name", req(GET, H, b"X Junk: a")),
        Junk("space-before-colon", req(GET, H, b"X-Junk : a")),
        Junk("no-colon", req(GET, H, b"X-Junk-without-colon")),
        Junk("empty-name", req(GET, H, b": value")),
        Junk("obs-fold", req(GET, H, b"X-Junk: a", b" folded continuation")),
        # oversized values, lines and header sections
        Junk("value-9k", req(GET, H, "X-Junk: " + "a" * 9000)),
        Junk("value-100k", req(GET, H, "X-Junk: " + "a" * 100_000), "any"),
        Junk("authorization-64k", req(GET, H, f"Authorization: Bearer {SECRET}" + "A" * 65536)),
        Junk("request-line-9k", req("GET /" + "a" * 9000 + " HTTP/1.1", H)),
        Junk("request-line-1m", req("GET /" + "a" * 1_000_000 + " HTTP/1.1", H), "any"),
        Junk("query-100k", req("GET /v1/health?" + "a=b&" * 25_000 + " HTTP/1.1", H), "any"),
        Junk("headers-500", req(GET, H, *(f"X-{i}: v" for i in range(500)))),
        Junk("headers-20000", req(GET, H, *(f"X-{i}: v" for i in range(20_000))), "any"),
        Junk(
            "many-small-values-total-1m",
            req(GET, H, *(f"X-{i}: " + "v" * 8000 for i in range(125))),
            "any",
        ),
        # methods and versions
        Junk("control-in-method", req("G\x01T /v1/health HTTP/1.1", H)),
        Junk("nul-in-method", req("GET\x00 /v1/health HTTP/1.1", H)),
        Junk("long-method", req("X" * 5000 + " /v1/health HTTP/1.1", H)),
        Junk("unknown-method", req("BREW /v1/health HTTP/1.1", H)),
        Junk("lowercase-method", req("get /v1/health HTTP/1.1", H)),
        Junk("connect", req("CONNECT 127.0.0.1:443 HTTP/1.1", H)),
        Junk("trace", req("TRACE /v1/health HTTP/1.1", H)),
        Junk("options-star", req("OPTIONS * HTTP/1.1", H)),
        Junk(
            "delete-with-body",
            req("DELETE /v1/devices/00 HTTP/1.1", H, "Content-Length: 3", body=b"abc"),
        ),
        Junk("version-9", req("GET /v1/health HTTP/9.9", H)),
        Junk("version-junk", req("GET /v1/health HTTP/1.x", H)),
        Junk("not-http", req("GET /v1/health HTTX/1.1", H)),
        Junk("http-0.9", b"GET /v1/health\r\n\r\n", "any"),
        Junk("no-path", req("GET HTTP/1.1", H)),
        Junk("three-spaces", req("GET  /v1/health  HTTP/1.1", H)),
        Junk("no-host-1.1", req(GET)),
        Junk("two-hosts", req(GET, H, "Host: evil.example")),
        # chunked framing, and framing conflicts (request smuggling)
        Junk(
            "chunk-size-not-hex",
            req(POST_JSON, H, "Transfer-Encoding: chunked", body=b"zz\r\nabc\r\n0\r\n\r\n"),
        ),
        Junk(
            "chunk-size-overflow",
            req(
                POST_JSON, H, "Transfer-Encoding: chunked", body=b"f" * 40 + b"\r\nabc\r\n0\r\n\r\n"
            ),
            "any",
        ),
        Junk(
            "chunk-size-negative",
            req(POST_JSON, H, "Transfer-Encoding: chunked", body=b"-5\r\nabc\r\n0\r\n\r\n"),
        ),
        Junk(
            "chunk-missing-crlf",
            req(POST_JSON, H, "Transfer-Encoding: chunked", body=b"3\r\nabcdef0\r\n\r\n"),
        ),
        Junk(
            "chunk-extension-junk",
            req(
                POST_JSON,
                H,
                "Transfer-Encoding: chunked",
                body=b"3;\x00\x01=\xff\r\nabc\r\n0\r\n\r\n",
            ),
        ),
        Junk(
            "chunk-bare-lf", req(POST_JSON, H, "Transfer-Encoding: chunked", body=b"3\nabc\n0\n\n")
        ),
        Junk(
            "chunk-trailer-nul",
            req(
                POST_JSON, H, "Transfer-Encoding: chunked", body=b"2\r\n{}\r\n0\r\nX: \x00\r\n\r\n"
            ),
        ),
        Junk(
            "chunk-truncated",
            req(POST_JSON, H, "Transfer-Encoding: chunked", body=b"100\r\nabc"),
            abort=True,
        ),
        Junk(
            "chunked-and-length",
            req(POST_JSON, H, "Transfer-Encoding: chunked", "Content-Length: 5", body=b"0\r\n\r\n"),
        ),
        Junk(
            "te-gzip-chunked",
            req(POST_JSON, H, "Transfer-Encoding: gzip, chunked", body=b"2\r\nxx\r\n0\r\n\r\n"),
        ),
        Junk(
            "te-chunked-twice",
            req(POST_JSON, H, "Transfer-Encoding: chunked, chunked", body=b"0\r\n\r\n"),
        ),
        Junk("te-xchunked", req(POST_JSON, H, "Transfer-Encoding: xchunked", body=b"0\r\n\r\n")),
        Junk("te-nul", req(POST_JSON, H, b"Transfer-Encoding: chunked\x00", body=b"0\r\n\r\n")),
        Junk(
            "te-on-1.0",
            req(
                "POST /v1/login/start HTTP/1.0", H, "Transfer-Encoding: chunked", body=b"0\r\n\r\n"
            ),
        ),
        # paths: invalid UTF-8, encoded junk, traversal, absolute form
        Junk("raw-invalid-utf8", req(b"GET /v1/users/\xff\xfe/keys HTTP/1.1", H)),
        Junk("raw-invalid-utf8-blob", req(b"GET /v1/blobs/\xc0\xaf HTTP/1.1", H, auth)),
        Junk("encoded-invalid-utf8", req("GET /v1/users/%ff%fe/keys HTTP/1.1", H)),
        Junk("overlong-slash", req("GET /v1/users/%c0%af/keys HTTP/1.1", H)),
        Junk("encoded-nul", req("GET /v1/users/a%00b/keys HTTP/1.1", H)),
        Junk("raw-nul-in-path", req(b"GET /v1/users/a\x00b/keys HTTP/1.1", H)),
        Junk("bad-percent", req("GET /v1/users/%zz/keys HTTP/1.1", H)),
        Junk("traversal", req("GET /v1/../../../etc/passwd HTTP/1.1", H)),
        Junk(
            "encoded-traversal",
            req("GET /v1/blobs/%2e%2e%2f%2e%2e%2fserver.secret HTTP/1.1", H, auth),
        ),
        Junk("absolute-form", req("GET http://evil.example/v1/health HTTP/1.1", H)),
        Junk("no-leading-slash", req("GET v1/health HTTP/1.1", H)),
        Junk("invalid-utf8-query", req(b"GET /v1/log?after=\xff&limit=%ff HTTP/1.1", H, auth)),
        Junk(
            "huge-number-query",
            req("GET /v1/log?after=1" + "0" * 400 + "&limit=-1 HTTP/1.1", H, auth),
        ),
        Junk(
            "grant-junk",
            req("GET /v1/grants/" + "0" * 32 + " HTTP/1.1", H, b"Authorization: Grant \x80\x81"),
        ),
        # lengths
        Junk("length-huge", req(POST_JSON, H, "Content-Length: " + "9" * 30)),
        Junk("length-2^64", req(POST_JSON, H, f"Content-Length: {2**64}")),
        Junk("length-negative", req(POST_JSON, H, "Content-Length: -1")),
        Junk("length-plus", req(POST_JSON, H, "Content-Length: +2", body=b"{}")),
        Junk("length-hex", req(POST_JSON, H, "Content-Length: 0x10", body=b"{}")),
        Junk("length-words", req(POST_JSON, H, "Content-Length: abc")),
        Junk("length-list", req(POST_JSON, H, "Content-Length: 2, 2", body=b"{}")),
        Junk(
            "length-conflict",
            req(POST_JSON, H, "Content-Length: 2", "Content-Length: 7", body=b"{}"),
        ),
        Junk("length-nul", req(POST_JSON, H, b"Content-Length: 2\x00", body=b"{}")),
        Junk(
            "length-over-limit", req(POST_JSON, H, f"Content-Length: {64 * 2**20}", body=b"{" * 100)
        ),
        Junk("blob-length-over-limit", req(put, H, auth, f"Content-Length: {2**40}")),
        Junk(
            "expect-continue-huge",
            req(put, H, auth, "Expect: 100-continue", f"Content-Length: {2**40}"),
        ),
        Junk("expect-junk", req(POST_JSON, H, "Expect: 999-junk", "Content-Length: 2", body=b"{}")),
        # truncated bodies: the client goes away mid-body
        Junk(
            "truncated-json",
            req(POST_JSON, H, "Content-Length: 1000", body=b'{"handle":'),
            abort=True,
        ),
        Junk(
            "truncated-account",
            req("POST /v1/accounts HTTP/1.1", H, "Content-Length: 5000", body=b"{" * 10),
            abort=True,
        ),
        Junk(
            "truncated-blob",
            req(put, H, auth, "Content-Length: 100000", body=os.urandom(5000)),
            abort=True,
        ),
        Junk(
            "truncated-log",
            req(
                "POST /v1/log HTTP/1.1",
                H,
                auth,
                "Content-Length: 9999",
                body=b'{"expected_head":0,',
            ),
            abort=True,
        ),
        Junk("truncated-headers", f"{GET}\r\n{H}\r\nX-Junk: a".encode(), abort=True),
        Junk("truncated-request-line", b"GET /v1/hea", abort=True),
        # bodies the handlers must refuse cleanly
        Junk(
            "json-invalid-utf8",
            req(
                POST_JSON, H, "Content-Type: application/json", "Content-Length: 4", body=b'"\xff"}'
            ),
        ),
        Junk("json-nul", req(POST_JSON, H, "Content-Length: 16", body=b'{"handle":"a\x00b"}')),
        Junk(
            "json-lone-surrogate",
            req(POST_JSON, H, "Content-Length: 19", body=b'{"handle":"\\ud800"}'),
        ),
        Junk("json-deep", req(POST_JSON, H, "Content-Length: 20000", body=b"[" * 20000)),
        Junk("json-huge-number", req(POST_JSON, H, "Content-Length: 5001", body=b"1" * 5001)),
        Junk(
            "gzip-bomb-header",
            req(
                POST_JSON,
                H,
                "Content-Encoding: gzip",
                "Content-Length: 4",
                body=b"\x1f\x8b\x08\x00",
            ),
        ),
        Junk(
            "content-encoding-junk",
            req(POST_JSON, H, "Content-Encoding: br\x01", "Content-Length: 2", body=b"{}"),
        ),
        # upgrades
        Junk(
            "ws-no-key",
            req(
                "GET /v1/events HTTP/1.1",
                H,
                auth,
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
            ),
        ),
        Junk(
            "ws-bad-key",
            req(
                "GET /v1/events HTTP/1.1",
                H,
                auth,
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: \x00\x01",
            ),
        ),
        Junk(
            "ws-bad-version",
            req(
                "GET /v1/events HTTP/1.1",
                H,
                auth,
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 99",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            ),
        ),
        Junk(
            "ws-unauthenticated",
            req(
                "GET /v1/events HTTP/1.1",
                H,
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            ),
        ),
        Junk(
            "h2c-upgrade",
            req(
                GET,
                H,
                "Upgrade: h2c",
                "Connection: Upgrade, HTTP2-Settings",
                "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
            ),
            "any",
        ),
        Junk("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + os.urandom(64), "any"),
        # garbage
        Junk("tls-client-hello", bytes.fromhex("16030100a5010000a10303") + os.urandom(160), "any"),
        Junk("binary-4k", os.urandom(4096), "any"),
        Junk("only-crlf", b"\r\n" * 200, "any"),
        Junk("nul-bytes", b"\x00" * 4096, "any"),
        Junk("empty", b"", "any", abort=True),
        # junk pipelined after a good request, on the same connection
        Junk("pipelined", req(GET, H) + req(GET, H, b"X-Junk: \x00") + req(GET, H), "any"),
        # trusted-proxy headers from a client that is no proxy
        Junk("forwarded-junk", req(GET, H, b"X-Forwarded-For: \xff, 999.1.1.1, ::::")),
    ]
    return j


async def _send(port: int, junk: Junk) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(junk.raw)
        await writer.drain()
        if junk.abort:
            return b""
        out = bytearray()
        try:
            async with asyncio.timeout(5):
                while chunk := await reader.read(65536):
                    out += chunk
                    if _complete(bytes(out)):
                        break  # a whole final answer: the connection may stay open
        except TimeoutError:
            pass  # no (whole) answer and the connection stays open: what came is checked
        return bytes(out)
    except (ConnectionError, OSError):
        return b""  # the server closed or reset the connection: allowed
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def _complete(raw: bytes) -> bool:
    try:
        answers = _responses(raw)
    except (AssertionError, ValueError, IndexError):
        return False
    return bool(answers) and answers[-1][0] >= 200


def _responses(raw: bytes) -> list[tuple[int, bytes]]:
    """(status, body) of every HTTP/1.x response in ``raw`` (Content-Length framed)."""
    out = []
    while raw.startswith(b"HTTP/"):
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        assert len(rest) >= length, "a truncated answer"
        out.append((status, rest[:length]))
        raw = rest[length:]
    assert raw == b"", f"unparsed bytes after the responses: {raw[:200]!r}"
    return out


async def test_junk_requests_get_clean_4xx_and_no_traceback(tmp_path: Path) -> None:
    p = await start_process(tmp_path / "srv")
    port = int(p.url.rsplit(":", 1)[1])
    async with aiohttp.ClientSession() as s:
        _, body = new_user("junk")
        async with s.post(f"{p.url}/v1/accounts", json=body) as r:
            assert r.status == 201
            token = (await r.json())["token"]
    statuses: dict[str, list[int]] = {}
    try:
        for junk in corpus(token):
            raw = await _send(port, junk)
            answers = _responses(raw)
            statuses[junk.name] = [st for st, _ in answers]
            if junk.expect == "answer" and not junk.abort:
                assert answers, (junk.name, raw[:300])
            for st, body in answers:
                assert st < 500, (junk.name, st, body[:300])
                if st >= 400:
                    # our own error shape, never aiohttp's text echoing the request's bytes
                    obj = json.loads(body)
                    assert set(obj) == {"code", "message"}, (junk.name, obj)
                    assert SECRET not in obj["message"] and token not in obj["message"]
            # nothing left the server unusable
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(req(GET, H, "Connection: close"))
            good = _responses(await asyncio.wait_for(reader.read(), 10))
            writer.close()
            assert good and good[0][0] == 200, (junk.name, good)
        await asyncio.sleep(0.5)
    finally:
        p.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(p.proc.wait(), 30) == 0
    refused = sum(1 for v in statuses.values() for st in v if 400 <= st < 500)
    assert refused >= 80, statuses  # the corpus mostly reached the refusals it is about
    log = p.stderr_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
    assert "Error handling request" not in log, log[-5000:]
    assert SECRET not in log and token not in log
    for line in log.splitlines():
        if line.strip():
            json.loads(line)  # one JSON object per line: nothing raw from the junk
