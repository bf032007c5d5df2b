"""The export service called directly (as the app's ``Exporter tout mon coffre`` will): a
report dataclass, progress on the bus, an incremental second run, a zip, explicit
cancellation, the offline check's errors, and nothing printed."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from vault_client.service import Cancellation, Context, Event, account, documents, syncing
from vault_client.service import export as service
from vault_client.service.events import PROGRESS_ADVANCE, PROGRESS_START, PROGRESS_STOP
from vault_client.service.results import to_json
from vault_core.errors import Cancelled, LocalError, UsageError

from .conftest import PASS


def _write(folder: Path, rel: str, data: bytes) -> None:
    p = folder / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


async def _owner(server, new_context) -> Context:
    ctx = new_context("A")
    await account.init(ctx, server.url, "jean", ctx.home.parent / "f-A", PASS)
    return ctx


async def test_export_report_events_incremental_zip(server, new_context, tmp_path, capfd):
    ctx = await _owner(server, new_context)
    folder = ctx.profile.folder
    for i in range(6):
        _write(folder, f"papiers/doc{i}.txt", f"document {i}".encode())
    _write(folder, "avis.txt", b"avis v1")
    await syncing.sync(ctx)
    _write(folder, "avis.txt", b"avis v2")
    (folder / "papiers/doc5.txt").unlink()
    await syncing.sync(ctx)

    seen: list[Event] = []
    ctx.bus.subscribe(seen.append, [PROGRESS_START, PROGRESS_ADVANCE, PROGRESS_STOP])
    out = tmp_path / "export"
    report = await service.export(ctx, out, include_history=True)
    assert isinstance(report, service.ExportReport)
    # 6 live documents, avis.txt v1 and the deleted doc5.txt v1 as history
    assert (report.files, report.written, report.unchanged) == (8, 8, 0)
    assert report.manifest_written and report.archive == "directory"
    assert seen[0].kind == PROGRESS_START and seen[-1].kind == PROGRESS_STOP
    assert seen[-1].data == {"done": 8, "total": 8}
    assert (out / "documents/avis.txt").read_bytes() == b"avis v2"
    assert (out / "history/avis.txt/v1").read_bytes() == b"avis v1"
    assert (out / "history/papiers/doc5.txt/v1").read_bytes() == b"document 5"
    assert not (out / "documents/papiers/doc5.txt").exists()
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["format"] == service.FORMAT and manifest["owner"] == "jean"
    by_file = {e["file"]: e for e in manifest["files"]}
    assert by_file["history/papiers/doc5.txt/v1"]["deleted"] is True
    for rel, e in by_file.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == e["sha256"]
        assert e["certification"] == "none" and e["certificate"] is None
    assert not (out / service.JOURNAL).exists() and not (out / service.STAGING).exists()
    json.dumps(to_json(report))  # what the app's API sends

    # the same again: nothing written, not even the manifests
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = await service.export(ctx, out, include_history=True)
    assert (again.written, again.unchanged, again.manifest_written) == (0, 8, False)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamp

    # without the history: the versions a previous export wrote go
    slim = await service.export(ctx, out)
    assert (slim.files, slim.written, slim.removed) == (6, 0, 2)
    assert not (out / "history").exists()

    # the app's "Exporter tout mon coffre": one zip, history included
    archive = await service.export_archive(ctx, tmp_path / "downloads")
    assert archive.archive == "zip" and Path(archive.out).parent == tmp_path / "downloads"
    with zipfile.ZipFile(archive.out) as zf:
        names = set(zf.namelist())
        assert zf.read("history/avis.txt/v1") == b"avis v1"
    assert {"manifest.json", "manifest.csv", "documents/avis.txt"} <= names
    assert [p.name for p in (tmp_path / "downloads").iterdir()] == [Path(archive.out).name]

    # nothing printed by the service
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


async def test_export_refusals_and_cancellation(server, new_context, tmp_path):
    ctx = await _owner(server, new_context)
    _write(ctx.profile.folder, "a.txt", b"a")
    await syncing.sync(ctx)
    # never into the synced folder, never over a directory that is not an export
    with pytest.raises(UsageError):
        await service.export(ctx, ctx.profile.folder / "export")
    other = tmp_path / "photos"
    _write(other, "vacances.jpg", b"jpeg")
    with pytest.raises(UsageError):
        await service.export(ctx, other)
    assert [p.name for p in other.iterdir()] == ["vacances.jpg"]

    stop = Cancellation()
    stop.cancel()
    with pytest.raises(Cancelled):
        await service.export(ctx, tmp_path / "cancelled", cancellation=stop)
    assert not (tmp_path / "cancelled").exists()

    # offline: a file without a certificate is not certified (exit 1); no key, a usage error
    out = tmp_path / "export"
    await service.export(ctx, out)
    offline = Context(tmp_path / "empty-profile")
    key = "A" * 43
    with pytest.raises(LocalError) as info:
        service.verify_offline(offline, out / "documents/a.txt", None, [key])
    assert info.value.exit_code == 1
    with pytest.raises(UsageError):
        service.verify_offline(offline, out / "documents/a.txt", None, [])
    assert documents.history(ctx, "a.txt")  # (the vault is untouched)
