"""Documents on their way to the page: a fixed, safe Content-Type, never the file's own claim;
``Content-Security-Policy: sandbox`` so that even a document opened directly runs no script in
the app's origin (a deposited HTML or SVG file is a download, never a page of the app)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from aiohttp import web

INLINE_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".csv": "text/plain; charset=utf-8",
}
SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def content_type(name: str) -> str:
    return INLINE_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _headers(name: str, inline: bool, ctype: str | None = None) -> dict[str, str]:
    ctype = ctype or content_type(name)
    disposition = "inline" if inline and ctype != "application/octet-stream" else "attachment"
    return {
        "Content-Type": ctype,
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
        "Content-Security-Policy": SANDBOX,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


async def send_file(
    request: web.Request, path: Path, name: str, inline: bool, ctype: str | None = None
) -> web.StreamResponse:
    """Stream a file (``ctype``: a type the daemon made itself, e.g. its own export zip)."""
    response = web.StreamResponse(headers=_headers(name, inline, ctype))
    response.content_length = path.stat().st_size
    await response.prepare(request)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            await response.write(block)
    await response.write_eof()
    return response


def send_bytes(data: bytes, name: str, inline: bool, ctype: str | None = None) -> web.Response:
    """Bytes as a download (``ctype``: a type the daemon made itself, e.g. an iCalendar file)."""
    return web.Response(body=data, headers=_headers(name, inline, ctype))
