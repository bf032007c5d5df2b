"""Batches from a CSV file: deposits (``vault issuer deposit-batch``) and requests
(``vault issuer request-batch``).

Theory of operation: the whole file is read and checked first (UTF-8, a header naming the
batch's columns in any order, ``;`` or ``,`` as the separator, at most ``MAX_ROWS`` rows); a
file that fails that sends nothing. Then each row goes on its own: a row that fails (unknown
handle, missing file, bad type, unknown template, a date in the past, a key that changed) is
reported with its line number and the batch goes on. Each row's id is a keyed hash of what it
sends (:func:`vault_core.deposits.batch_deposit_id`, ``batch_request_id``), so a second run of
the same file posts the same ids; the server answers that it holds them (409 to a request,
``exists`` to a deposit of a batch), and the issuer's journal of posted ids (in its profile)
covers those the recipient has already taken away: after Ctrl-C, kill -9 or a network cut,
running the batch again sends each row exactly once. Deposits go by requests of many
(``POST /v1/inbox-batch``, :class:`_DepositSender`: grouped in row order up to the server's
limits per request, sealed on a worker thread while two requests are on the wire, the journal
appended once per request after the server's answer); requests one by one. A report (CSV,
the same separator) gives each row's line, its values, status (``sent``, ``already``,
``failed``; ``pending`` for rows not reached), id and error. Progress goes on the
event bus (a bar on a terminal). The server's pace (429) is waited out, never a failed row; an
unreachable server stops the batch (run it again to resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vault_core import deposits as dep
from vault_core.encoding import b64u
from vault_core.errors import (
    AlreadyExists,
    IntegrityError,
    NotFound,
    RateLimited,
    ServerUnavailable,
    TooLarge,
    UsageError,
    VaultError,
)
from vault_core.keys import PublicIdentity

from ..identity import contacts
from .context import Context
from .events import PROGRESS_ADVANCE, BusProgress
from .issuer import issuer_material, post_request, read_document, seal_deposit, template
from .values import parse_due

if TYPE_CHECKING:
    from ..api import Api

DEPOSIT_COLUMNS = ("handle", "type", "title", "path")
REQUEST_COLUMNS = ("handle", "template", "due", "message")
MAX_ROWS = 50_000
MAX_FILE = 32 * 1024 * 1024
RATE_WAIT = (1.0, 60.0)  # first and longest wait when the server says "too many" (429)


@dataclass(frozen=True)
class BatchRow:
    line: int
    values: dict[str, str]
    status: str = "pending"  # sent | already | failed | pending
    id: str | None = None
    error: str | None = None

    @property
    def handle(self) -> str:
        return self.values.get("handle", "")


@dataclass(frozen=True)
class BatchReport:
    rows: list[BatchRow] = field(default_factory=list)
    sent: int = 0
    already: int = 0
    failed: int = 0
    report: str | None = None


def read_rows(path: Path, columns: tuple[str, ...]) -> tuple[list[BatchRow], str]:
    """The rows of a batch file and its separator; UsageError (nothing sent) when the file
    as a whole is unusable."""
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
        if sorted(header) != sorted(columns):
            raise UsageError(
                f"{path}: the first line must name the columns {','.join(columns)} "
                f"(found: {','.join(header)[:80]})"
            )
        where = {name: header.index(name) for name in columns}
        rows: list[BatchRow] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # a blank line
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                raise UsageError(f"{path}: more than {MAX_ROWS:,} rows; split the file")
            if len(values) != len(columns):
                error = f"{len(values)} columns instead of {len(columns)}"
                rows.append(BatchRow(line, {}, "failed", error=error))
                continue
            rows.append(BatchRow(line, {c: values[where[c]].strip() for c in columns}))
    except csv.Error as exc:
        raise UsageError(f"{path}: line {reader.line_num}: {exc}") from None
    if not rows:
        raise UsageError(f"{path}: no rows after the header")
    return rows, delimiter


Post = Callable[[], Awaitable[object]]


async def _send(row: BatchRow, item_id: str, journal: set[str], post: Post) -> BatchRow:
    """Post one row (its id fixed), waiting out the server's pace."""
    if item_id in journal:
        return replace(row, status="already", id=item_id)
    wait = RATE_WAIT[0]
    while True:
        try:
            await post()
            return replace(row, status="sent", id=item_id)
        except AlreadyExists:
            return replace(row, status="already", id=item_id)
        except RateLimited:
            await asyncio.sleep(wait)  # the server's pace, not a failure of the row
            wait = min(wait * 2, RATE_WAIT[1])
        except NotFound:
            return replace(row, status="failed", error=f"no account {row.handle!r}")
        except ServerUnavailable:
            raise  # the whole batch stops; running it again resumes it
        except VaultError as exc:
            return replace(row, status="failed", error=exc.message or type(exc).__name__)


Row = Callable[["Api", BatchRow, Counter[tuple[str, ...]], set[str]], Awaitable[BatchRow]]


async def _run(
    ctx: Context,
    batch: Path,
    columns: tuple[str, ...],
    report: Path | None,
    id_column: str,
    one: Row,
) -> BatchReport:
    rows, delimiter = read_rows(batch, columns)
    profile = ctx.profile
    seen: Counter[tuple[str, ...]] = Counter()
    progress = BusProgress(ctx.bus) if ctx.bus.listening(PROGRESS_ADVANCE) else None
    done: dict[int, BatchRow] = {}
    if progress is not None:
        progress.start(len(rows))
    try:
        async with ctx.api() as api:
            journal = profile.posted_batch_ids()
            for row in rows:
                result = row if row.status == "failed" else await one(api, row, seen, journal)
                if result.status == "sent" and result.id:
                    profile.record_batch_id(result.id)
                done[row.line] = result
                if progress is not None:
                    progress.advance(f"{row.line}: {row.handle}")
    finally:
        if progress is not None:
            progress.stop()
        result_report = _summary(rows, done, report, columns, id_column, delimiter)
    return result_report


# One POST /v1/inbox-batch: the server's default limits (deposit_batch_items and, less room
# for the JSON around the envelopes, deposit_batch_body). A server with smaller ones answers
# 413: the request is split in two and each half posted again.
BATCH_ITEMS = 500
BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024
IN_FLIGHT = 2
_ITEM_OVERHEAD = 4096  # an envelope's bytes beyond the document (proof, certificate, sealing)
_BATCH_ERRORS = {
    "unknown_recipient": None,  # the row's "no account" line, as the one-row path says it
    "inbox_full": "inbox full",
    "too_large": "request too large",
}


_JSON = {"Content-Type": "application/json"}


def _b64_chars(n: int) -> int:
    return (4 * n + 2) // 3


@dataclass
class _Item:
    """A row ready to go: its id fixed, its document read (then its envelope sealed)."""

    row: BatchRow
    id: str
    doc_type: str
    title: str
    filename: str
    document: bytes = field(repr=False)
    digest: bytes = field(repr=False)
    wire: bytes = field(default=b"", repr=False)  # sealed: its JSON object, to, id, envelope

    @property
    def size(self) -> int:
        """Bytes of its part of the request body (estimated before sealing)."""
        return _b64_chars(len(self.document) + _ITEM_OVERHEAD) + 128


class _DepositSender:
    """Posts sealed rows in requests of many deposits, ``IN_FLIGHT`` requests on the wire while
    the next is sealed (the server reads one while it stores the other); calls ``finish`` with
    each row's result once the server has answered it."""

    def __init__(
        self,
        ctx: Context,
        api: Api,
        sk: bytes,
        cert: dep.IssuerCert,
        finish: Callable[[BatchRow], None],
    ) -> None:
        self.ctx, self.api, self.sk, self.cert, self.finish = ctx, api, sk, cert, finish
        self.group: list[_Item] = []
        self.bytes = 0
        self.inflight: list[asyncio.Task[None]] = []
        self.identities: dict[str, PublicIdentity | VaultError] = {}
        self.one_by_one = False  # a server without POST /v1/inbox-batch
        self.most = BATCH_ITEMS  # lowered when the server's limits turn out smaller (413)

    async def add(self, item: _Item) -> None:
        if self.group and (len(self.group) >= self.most or self.bytes + item.size > BATCH_BYTES):
            await self._flush()
        self.group.append(item)
        self.bytes += item.size

    async def close(self) -> None:
        if self.group:
            await self._flush()
        await self._settle()

    async def _settle(self, keep: int = 0) -> None:
        """Wait for the oldest requests until ``keep`` are left on the wire."""
        while len(self.inflight) > keep:
            await self.inflight[0]
            self.inflight.pop(0)

    async def abandon(self) -> None:
        """Stopped with requests out: the next run finds what the server took of them."""
        for task in self.inflight:
            task.cancel()
        for task in self.inflight:
            with contextlib.suppress(BaseException):
                await task
        self.inflight = []

    async def _flush(self) -> None:
        group, self.group, self.bytes = self.group, [], 0
        new = sorted({i.row.handle for i in group} - set(self.identities))
        if new:
            self.identities.update(await contacts(self.ctx.profile, self.api, new, self.ctx.warn))
        ready: list[_Item] = []
        for item in group:
            who = self.identities[item.row.handle]
            if isinstance(who, NotFound):
                self.finish(_no_account(item.row))
            elif isinstance(who, VaultError):
                self.finish(replace(item.row, status="failed", error=who.message))
            else:
                ready.append(item)
        # sealing is CPU in C (the GIL let go): on a thread, beside the request on the wire
        sealed, failed = await asyncio.to_thread(self._seal, ready)
        for row in failed:
            self.finish(row)
        await self._settle(IN_FLIGHT - 1)
        if sealed:
            self.inflight.append(asyncio.create_task(self._post(sealed)))

    def _seal(self, items: list[_Item]) -> tuple[list[_Item], list[BatchRow]]:
        """The items sealed, and the rows that could not be (on a worker thread)."""
        out: list[_Item] = []
        failed: list[BatchRow] = []
        for item in items:
            who = self.identities[item.row.handle]
            assert isinstance(who, PublicIdentity)
            try:
                envelope = seal_deposit(
                    self.sk, self.cert, item.row.handle, who, item.doc_type, item.document,
                    item.title, item.filename, item.id, item.digest,
                )  # fmt: skip
            except UsageError as exc:
                failed.append(replace(item.row, status="failed", error=exc.message))
                continue
            text = b64u(envelope).encode("ascii")
            # base64url and hex need no JSON escaping: only the handle goes through json
            item.wire = b"".join(
                (b'{"to":', json.dumps(item.row.handle).encode(), b',"id":"',
                 item.id.encode("ascii"), b'","envelope":"', text,
                 b'"}')
            )  # fmt: skip
            item.document = b""  # sealed: the bytes are no longer needed
            out.append(item)
        return out, failed

    async def _post(self, items: list[_Item]) -> None:
        if self.one_by_one:
            return await self._post_each(items)
        body = b'{"deposits":[' + b",".join(i.wire for i in items) + b"]}"
        wait = RATE_WAIT[0]
        while True:
            try:
                answer = await self.api.request("POST", "/v1/inbox-batch", data=body, headers=_JSON)
                break
            except RateLimited as exc:
                # the server's pace, not a failure of the rows: all of them fit after the wait
                await asyncio.sleep(getattr(exc, "retry_after", None) or wait)
                wait = min(wait * 2, RATE_WAIT[1])
            except TooLarge:
                if len(items) == 1:
                    return self.finish(_failed(items[0].row, "request too large"))
                half = len(items) // 2
                self.most = min(self.most, half)  # the next requests start at that size
                await self._post(items[:half])
                return await self._post(items[half:])
            except NotFound:
                self.one_by_one = True  # an older server: the one-deposit route, row by row
                return await self._post_each(items)
            except ServerUnavailable:
                raise  # the whole batch stops; running it again resumes it
            except VaultError as exc:
                for i in items:
                    self.finish(_failed(i.row, exc.message or type(exc).__name__))
                return None
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise IntegrityError("the server's answer to a deposit batch does not match it")
        sent: list[str] = []
        done: list[BatchRow] = []
        for item, res in zip(items, results, strict=True):
            status = res.get("status") if isinstance(res, dict) else None
            if not isinstance(res, dict) or res.get("id") != item.id:
                raise IntegrityError("the server's answer to a deposit batch does not match it")
            if status == "created":
                sent.append(item.id)
                done.append(replace(item.row, status="sent", id=item.id))
            elif status == "exists":
                done.append(replace(item.row, status="already", id=item.id))
            elif status == "unknown_recipient":
                done.append(_no_account(item.row))
            else:
                error = _BATCH_ERRORS.get(str(status)) or f"server answered {status!r}"
                done.append(_failed(item.row, error))
        self.ctx.profile.record_batch_ids(sent)  # once the server holds them, before the report
        for row in done:
            self.finish(row)
        return None

    async def _post_each(self, items: list[_Item]) -> None:
        for item in items:
            row = await _send(item.row, item.id, set(), self._one(item))
            if row.status == "sent":
                self.ctx.profile.record_batch_id(item.id)
            self.finish(row)

    def _one(self, item: _Item) -> Post:
        def post() -> Awaitable[object]:
            # the batch's object: "to" is one more field, which the one-deposit route ignores
            path = f"/v1/inbox/{item.row.handle}"
            return self.api.request("POST", path, data=item.wire, headers=_JSON)

        return post


def _no_account(row: BatchRow) -> BatchRow:
    return replace(row, status="failed", error=f"no account {row.handle!r}")


def _failed(row: BatchRow, error: str) -> BatchRow:
    return replace(row, status="failed", error=error)


async def deposit_batch(ctx: Context, batch: Path, report: Path | None = None) -> BatchReport:
    """Deposit every row of ``batch`` (columns handle,type,title,path; paths relative to the
    file's folder); the report, also written to ``report`` when given. The rows go in
    requests of many deposits (POST /v1/inbox-batch), in order."""
    profile, sk, cert = issuer_material(ctx)
    seed = ctx.account().secrets.issuer_seed
    base = batch.resolve().parent
    rows, delimiter = read_rows(batch, DEPOSIT_COLUMNS)
    seen: Counter[tuple[str, ...]] = Counter()
    progress = BusProgress(ctx.bus) if ctx.bus.listening(PROGRESS_ADVANCE) else None
    done: dict[int, BatchRow] = {}

    def finish(row: BatchRow) -> None:
        done[row.line] = row
        if progress is not None:
            progress.advance(f"{row.line}: {row.handle}")

    def prepare(row: BatchRow, journal: set[str]) -> _Item | BatchRow:
        v = row.values
        if not v["handle"] or not dep.check_doc_type(v["type"]):
            why = "no handle" if not v["handle"] else f"bad type {v['type']!r} (like tax-notice)"
            return replace(row, status="failed", error=why)
        file = Path(os.path.expanduser(v["path"]))
        if not file.is_absolute():
            file = base / file
        try:
            document = read_document(file)
        except UsageError as exc:
            return replace(row, status="failed", error=exc.message)
        title = v["title"] or file.stem
        digest = hashlib.sha256(document).digest()
        key = (v["handle"], v["type"], title, digest.hex())
        item_id = dep.batch_deposit_id(seed, v["handle"], v["type"], title, digest, seen[key])
        seen[key] += 1
        if item_id in journal:
            return replace(row, status="already", id=item_id)
        return _Item(row, item_id, v["type"], title, file.name, document, digest)

    if progress is not None:
        progress.start(len(rows))
    try:
        async with ctx.api() as api:
            journal = profile.posted_batch_ids()
            sender = _DepositSender(ctx, api, sk, cert, finish)
            try:
                for row in rows:
                    got = row if row.status == "failed" else prepare(row, journal)
                    if isinstance(got, BatchRow):
                        finish(got)
                    else:
                        await sender.add(got)
                await sender.close()
            finally:
                await sender.abandon()
    finally:
        if progress is not None:
            progress.stop()
        result_report = _summary(rows, done, report, DEPOSIT_COLUMNS, "deposit_id", delimiter)
    return result_report


async def request_batch(ctx: Context, batch: Path, report: Path | None = None) -> BatchReport:
    """Send a request from a template to every row of ``batch`` (columns
    handle,template,due,message; an empty due or message takes the template's)."""
    profile, sk, cert = issuer_material(ctx)
    seed = ctx.account().secrets.issuer_seed
    now = int(time.time())

    async def one(
        api: Api, row: BatchRow, seen: Counter[tuple[str, ...]], journal: set[str]
    ) -> BatchRow:
        v = row.values
        try:
            t = template(ctx, v["template"])
            due = parse_due(v["due"]) if v["due"] else now + t.due_in
            if due <= now:
                raise UsageError(f"the due date {v['due']} is in the past")
        except UsageError as exc:
            return replace(row, status="failed", error=exc.message)
        if not v["handle"]:
            return replace(row, status="failed", error="no handle")
        message = v["message"] or t.message
        # the id names the due date as the row gives it: an empty one is "the template's delay"
        # (minus its seconds), not the date it makes today, or a run tomorrow would send again
        due_as_given = due if v["due"] else -t.due_in
        key = (v["handle"], t.name, str(due_as_given), message)
        item_id = dep.batch_request_id(
            seed, v["handle"], list(t.needs), due_as_given, message, seen[key]
        )
        seen[key] += 1

        def post() -> Awaitable[str]:
            return post_request(
                ctx, api, profile, sk, cert, v["handle"], list(t.needs), due, message, item_id
            )

        return await _send(row, item_id, journal, post)

    return await _run(ctx, batch, REQUEST_COLUMNS, report, "request_id", one)


def _summary(
    rows: list[BatchRow],
    done: dict[int, BatchRow],
    report: Path | None,
    columns: tuple[str, ...],
    id_column: str,
    delimiter: str,
) -> BatchReport:
    """The batch's outcome, every row in file order (a row not reached: ``pending``), and its
    report written when one was asked for (also after Ctrl-C or a lost server)."""
    final = [done.get(r.line, r) for r in rows]
    count = Counter(r.status for r in final)
    if report is not None:
        _write_report(report, final, columns, id_column, delimiter)
    return BatchReport(
        final,
        sent=count["sent"],
        already=count["already"],
        failed=count["failed"] + count["pending"],
        report=str(report) if report is not None else None,
    )


def _write_report(
    out: Path, rows: list[BatchRow], columns: tuple[str, ...], id_column: str, delimiter: str
) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(["line", *columns, "status", id_column, "error"])
    for r in rows:
        cells = [r.values.get(c, "") for c in columns]
        w.writerow([r.line, *cells, r.status, r.id or "", r.error or ""])
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UsageError(f"cannot write the report {out}: {exc.strerror or exc}") from None
