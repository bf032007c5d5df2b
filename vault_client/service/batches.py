"""Batches of deposits from a CSV file (``vault issuer deposit-batch``).

Theory of operation: the whole file is read and checked first (UTF-8, a header naming the
columns ``handle,type,title,path`` in any order, ``;`` or ``,`` as the separator, at most
``MAX_ROWS`` rows); a file that fails that deposits nothing. Then each row is deposited on its
own: a row that fails (unknown handle, missing file, bad type, a key that changed) is reported
with its line number and the batch goes on. Each row's deposit id is a keyed hash of what it
deposits (:func:`vault_core.deposits.batch_deposit_id`), so a second run of the same file posts
the same ids and the server answers 409 for those it already holds: after Ctrl-C, kill -9 or a
network cut, running the batch again deposits each row exactly once. A report (CSV, the same
separator) gives each row's line, status (``deposited``, ``already``, ``failed``), deposit id
and error. Progress goes on the event bus (a bar on a terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vault_core import deposits as dep
from vault_core.errors import (
    AlreadyExists,
    NotFound,
    RateLimited,
    ServerUnavailable,
    UsageError,
    VaultError,
)

from .context import Context
from .events import PROGRESS_ADVANCE, BusProgress
from .issuer import deposit_bytes, issuer_material, read_document

if TYPE_CHECKING:
    from ..api import Api
    from ..profile import Profile

COLUMNS = ("handle", "type", "title", "path")
MAX_ROWS = 50_000
MAX_FILE = 32 * 1024 * 1024
RATE_WAIT = (1.0, 60.0)  # first and longest wait when the server says "too many" (429)


@dataclass(frozen=True)
class BatchRow:
    line: int
    handle: str
    type: str
    title: str
    path: str
    status: str = "pending"  # deposited | already | failed
    deposit_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchReport:
    rows: list[BatchRow] = field(default_factory=list)
    deposited: int = 0
    already: int = 0
    failed: int = 0
    report: str | None = None


def read_rows(path: Path) -> tuple[list[BatchRow], str]:
    """The rows of a batch file and its separator; UsageError (nothing deposited) when the
    file as a whole is unusable."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise UsageError(f"{path}: larger than {MAX_FILE // (1024 * 1024)} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(f"{path}: not UTF-8 text (line {line})") from None
    if not text.strip():
        raise UsageError(f"{path}: empty file")
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
        if sorted(header) != sorted(COLUMNS):
            raise UsageError(
                f"{path}: the first line must name the columns {','.join(COLUMNS)} "
                f"(found: {','.join(header)[:80]})"
            )
        where = {name: header.index(name) for name in COLUMNS}
        rows: list[BatchRow] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # a blank line
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                raise UsageError(f"{path}: more than {MAX_ROWS:,} rows; split the file")
            if len(values) != len(COLUMNS):
                rows.append(
                    BatchRow(
                        line,
                        "",
                        "",
                        "",
                        "",
                        "failed",
                        error=f"{len(values)} columns instead of {len(COLUMNS)}",
                    )
                )
                continue
            h, t, ti, p = (values[where[c]].strip() for c in COLUMNS)
            rows.append(BatchRow(line, h, t, ti, p))
    except csv.Error as exc:
        raise UsageError(f"{path}: line {reader.line_num}: {exc}") from None
    if not rows:
        raise UsageError(f"{path}: no rows after the header")
    return rows, delimiter


async def deposit_batch(ctx: Context, batch: Path, report: Path | None = None) -> BatchReport:
    """Deposit every row of ``batch``; the report (also written to ``report`` when given)."""
    rows, delimiter = read_rows(batch)
    profile, sk, cert = issuer_material(ctx)
    seed = ctx.account().secrets.issuer_seed
    base = batch.resolve().parent
    seen: Counter[tuple[str, str, str, str]] = Counter()
    progress = BusProgress(ctx.bus) if ctx.bus.listening(PROGRESS_ADVANCE) else None
    done: list[BatchRow] = []
    if progress is not None:
        progress.start(len(rows))
    try:
        async with ctx.api() as api:
            journal = profile.deposited_ids()
            for row in rows:
                one = await _one(ctx, api, profile, sk, cert, seed, base, row, seen, journal)
                if one.status == "deposited" and one.deposit_id:
                    profile.record_deposited(one.deposit_id)
                done.append(one)
                if progress is not None:
                    progress.advance(f"{row.line}: {row.handle}")
    finally:
        if progress is not None:
            progress.stop()
        result = _report(done, rows, report)
        if report is not None:
            _write_report(report, result.rows, delimiter)
    return result


async def _one(
    ctx: Context,
    api: Api,
    profile: Profile,
    sk: bytes,
    cert: dep.IssuerCert,
    seed: bytes,
    base: Path,
    row: BatchRow,
    seen: Counter[tuple[str, str, str, str]],
    journal: set[str],
) -> BatchRow:
    if row.status == "failed":
        return row
    if not row.handle or not dep.check_doc_type(row.type):
        why = "no handle" if not row.handle else f"bad type {row.type!r} (like birth-certificate)"
        return replace(row, status="failed", error=why)
    file = Path(os.path.expanduser(row.path))
    if not file.is_absolute():
        file = base / file
    try:
        document = read_document(file)
    except UsageError as exc:
        return replace(row, status="failed", error=exc.message)
    title = row.title or file.stem
    digest = hashlib.sha256(document).digest()
    key = (row.handle, row.type, title, digest.hex())
    deposit_id = dep.batch_deposit_id(seed, row.handle, row.type, title, digest, seen[key])
    seen[key] += 1
    if deposit_id in journal:
        return replace(row, status="already", deposit_id=deposit_id)
    wait = RATE_WAIT[0]
    while True:
        try:
            await deposit_bytes(
                ctx, api, profile, sk, cert, row.handle, row.type, document, title, file.name,
                deposit_id,
            )  # fmt: skip
            return replace(row, status="deposited", deposit_id=deposit_id)
        except AlreadyExists:
            return replace(row, status="already", deposit_id=deposit_id)
        except RateLimited:
            await asyncio.sleep(wait)  # the server's pace, not a failure of the row
            wait = min(wait * 2, RATE_WAIT[1])
        except NotFound:
            return replace(row, status="failed", error=f"no account {row.handle!r}")
        except ServerUnavailable:
            raise  # the whole batch stops; running it again resumes it
        except VaultError as exc:
            return replace(row, status="failed", error=exc.message or type(exc).__name__)


def _report(done: list[BatchRow], rows: list[BatchRow], out: Path | None) -> BatchReport:
    by_line = {r.line: r for r in done}
    final = [by_line.get(r.line, r) for r in rows]
    count = Counter(r.status for r in final)
    return BatchReport(
        final,
        deposited=count["deposited"],
        already=count["already"],
        failed=count["failed"] + count["pending"],
        report=str(out) if out is not None else None,
    )


def _write_report(out: Path, rows: list[BatchRow], delimiter: str) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(["line", *COLUMNS, "status", "deposit_id", "error"])
    for r in rows:
        w.writerow(
            [r.line, r.handle, r.type, r.title, r.path, r.status, r.deposit_id or "", r.error or ""]
        )
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UsageError(f"cannot write the report {out}: {exc.strerror or exc}") from None
