"""`vault issuer deposit-batch` over POST /v1/inbox-batch, against a server whose limits per
request are smaller than the client's defaults (4 deposits a request): the client learns them
from the 413 and posts the rows in many requests, never one row per request; a run killed
(SIGKILL) between two requests and run again deposits each row exactly once, counted in the
owners' inboxes; the report per row is the one-row path's; an older server without the route
gets the same rows one by one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server
from .test_deposits import admin  # noqa: F401 (the fixture: authority, issuer, owner)

PER_REQUEST = 4


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    config = tmp_path / "server.toml"
    config.write_text(f"[limits]\ndeposit_batch_items = {PER_REQUEST}\n", encoding="utf-8")
    monkeypatch.setenv("VAULT_CONFIG", str(config))
    srv = Server(tmp_path / "server-data")
    srv.start()
    yield srv
    srv.stop()


def _inbox(dev) -> list[dict]:
    return json.loads(dev.run("inbox", "--json").stdout)


def _requests(server: Server) -> list[dict]:
    """The server's access log: every deposit request it answered."""
    lines = (server.data.parent / "server.log").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("method") == "POST" and str(entry.get("path", "")).startswith("/v1/inbox"):
            out.append(entry)
    return out


def test_a_batch_killed_between_two_requests_and_run_again_deposits_each_row_once(
    admin,  # noqa: F811
    account,
    server,
    tmp_path,
):
    mairie, jean = admin["mairie"], admin["jean"]
    alice, _ = account("alice", name="B")
    n = 40
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(n):
        (docs / f"bulletin-{i}.pdf").write_bytes(b"%PDF-1.4 " + os.urandom(150_000))
    batch = tmp_path / "lot.csv"
    lines = ["handle;type;title;path"] + [
        f"{'jean' if i % 2 else 'alice'};payslip;Bulletin {i};docs/bulletin-{i}.pdf"
        for i in range(n)
    ]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "VAULT_PASSPHRASE": mairie.passphrase}
    env.pop("VAULT_HOME", None)
    cli = [sys.executable, "-m", "vault_client.cli", "--home", str(mairie.home)]
    proc = subprocess.Popen(
        [*cli, "issuer", "deposit-batch", str(batch)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = mairie.home / "deposited-ids"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= PER_REQUEST:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(_inbox(jean)) + len(_inbox(alice))
    assert PER_REQUEST <= before < n  # killed half-way: some requests went in, not all
    res = mairie.run("issuer", "deposit-batch", str(batch), "--json")
    (summary,) = json.loads(res.stdout)
    assert summary["failed"] == 0 and summary["sent"] + summary["already"] == n
    assert summary["already"] >= before  # the killed run's deposits, recorded or not
    titles = sorted(i["title"] for i in _inbox(jean) + _inbox(alice))
    assert titles == sorted(f"Bulletin {i}" for i in range(n))  # each row exactly once
    assert all(i["certified"] for i in _inbox(jean))
    # the rows went by requests of many deposits, none by the one-deposit route, and no
    # request took more than the server's limit (the 413s taught the client the size)
    posted = _requests(server)
    assert posted and all(p["route"] == "/v1/inbox-batch" for p in posted)
    ok = [p for p in posted if p["status"] == 200]
    assert {p["status"] for p in posted} <= {200, 413}
    assert n / PER_REQUEST <= len(ok) < n  # many requests, fewer than one per row
    # a third run posts nothing: every id is in the issuer's journal
    res = mairie.run("issuer", "deposit-batch", str(batch), "--json")
    (summary,) = json.loads(res.stdout)
    assert (summary["sent"], summary["already"], summary["failed"]) == (0, n, 0)
    assert len(_requests(server)) == len(posted)


def test_row_failures_in_a_request_are_reported_by_line_and_the_others_go_in(
    admin,  # noqa: F811
    account,
    tmp_path,
):
    mairie, jean = admin["mairie"], admin["jean"]
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"avis-{i}.pdf").write_bytes(b"%PDF-1.4 avis " + os.urandom(500))
    batch = tmp_path / "campagne.csv"
    batch.write_text(
        "handle,type,title,path\n"
        "jean,tax-notice,Avis 0,docs/avis-0.pdf\n"
        "personne,tax-notice,Avis 1,docs/avis-1.pdf\n"  # line 3: no such account
        "jean,tax-notice,Avis 2,docs/avis-2.pdf\n"
        "jean,tax-notice," + "T" * 300 + ",docs/avis-3.pdf\n"  # line 5: title over 200
        "jean,tax-notice,Avis 4,docs/avis-4.pdf\n"
        "jean,tax-notice,Avis 5,docs/avis-5.pdf\n",
        encoding="utf-8",
    )
    report = tmp_path / "rapport.csv"
    res = mairie.run("issuer", "deposit-batch", str(batch), "--report", str(report), check=False)
    assert res.returncode == 1
    assert "4 deposited, 0 already there, 2 failed" in res.stdout
    assert "line 3: no account 'personne'" in res.stderr and "line 5: cannot deposit" in res.stderr
    rows = report.read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["2", "3", "4", "5", "6", "7"]
    assert sorted(i["title"] for i in _inbox(jean)) == ["Avis 0", "Avis 2", "Avis 4", "Avis 5"]


def test_a_server_without_the_batch_route_gets_the_rows_one_by_one(
    admin,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """An older server (404 on POST /v1/inbox-batch): the same rows go by the one-deposit
    route, each once, reported as before; a second run posts nothing."""
    import asyncio

    from vault_client.api import Api
    from vault_client.service import Context
    from vault_client.service.batches import deposit_batch
    from vault_core.errors import NotFound

    mairie, jean = admin["mairie"], admin["jean"]
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(5):
        (docs / f"avis-{i}.pdf").write_bytes(b"%PDF-1.4 avis " + os.urandom(500))
    batch = tmp_path / "lot.csv"
    batch.write_text(
        "handle,type,title,path\n"
        + "".join(f"jean,tax-notice,Avis {i},docs/avis-{i}.pdf\n" for i in range(5)),
        encoding="utf-8",
    )
    paths: list[str] = []
    real = Api.request

    async def older_server(self, method, path, **kw):
        if method == "POST":
            paths.append(path)
        if path == "/v1/inbox-batch":
            raise NotFound("not found")
        return await real(self, method, path, **kw)

    monkeypatch.setattr(Api, "request", older_server)
    ctx = Context(mairie.home)
    ctx.unlock(mairie.passphrase)
    got = asyncio.run(deposit_batch(ctx, batch))
    assert (got.sent, got.already, got.failed) == (5, 0, 0)
    assert [r.status for r in got.rows] == ["sent"] * 5
    assert paths == ["/v1/inbox-batch"] + ["/v1/inbox/jean"] * 5  # asked once, then one by one
    assert sorted(i["title"] for i in _inbox(jean)) == [f"Avis {i}" for i in range(5)]
    assert all(i["certified"] for i in _inbox(jean))
    paths.clear()
    again = asyncio.run(
        deposit_batch(Context(mairie.home, passphrase=lambda: mairie.passphrase), batch)
    )
    assert (again.sent, again.already, again.failed) == (0, 5, 0) and paths == []
