"""`vault issuer deposit-batch` with a real server: rows deposited once, failures reported by
line while the batch goes on, a run killed half-way and run again deposits each row exactly
once (counted in the owners' inboxes, also after an owner accepted one), a file unusable as a
whole deposits nothing."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vault_core.errors import EXIT_FAILURE, EXIT_USAGE

from .test_deposits import admin  # noqa: F401 (the fixture: authority, issuer, owner)


def _inbox(dev) -> list[dict]:
    return json.loads(dev.run("inbox", "--json").stdout)


def _docs(tmp_path: Path, n: int) -> Path:
    d = tmp_path / "docs"
    d.mkdir(exist_ok=True)
    for i in range(n):
        (d / f"avis-{i}.pdf").write_bytes(b"%PDF-1.4 avis " + str(i).encode() + os.urandom(300))
    return d


def _report(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def test_a_batch_with_bad_rows_goes_on_and_a_second_run_deposits_nothing_twice(
    admin,  # noqa: F811
    account,
    tmp_path,
):
    mairie, jean = admin["mairie"], admin["jean"]
    alice, _ = account("alice", name="B")
    _docs(tmp_path, 4)
    batch = tmp_path / "campagne.csv"
    batch.write_text(
        "handle;type;title;path\n"
        "jean;tax-notice;Avis d'imposition 2026;docs/avis-0.pdf\n"
        "alice;tax-notice;Avis d'imposition 2026;docs/avis-1.pdf\n"
        "personne;tax-notice;Avis;docs/avis-2.pdf\n"  # line 4: no such account
        "jean;Tax Notice;Avis;docs/avis-2.pdf\n"  # line 5: bad type
        "alice;benefit-certificate;Attestation CAF;docs/manquant.pdf\n"  # line 6: no file
        "jean;benefit-certificate;Attestation CAF;docs/avis-3.pdf\n"
        "jean;benefit-certificate;Attestation CAF;docs/avis-3.pdf\n",  # the same, twice: two
        encoding="utf-8",
    )
    report = tmp_path / "rapport.csv"
    res = mairie.run("issuer", "deposit-batch", str(batch), "--report", str(report), check=False)
    assert res.returncode == EXIT_FAILURE, res.stderr
    assert "4 deposited, 0 already there, 3 failed" in res.stdout
    assert "line 4:" in res.stderr and "line 5:" in res.stderr and "line 6:" in res.stderr
    rows = _report(report)
    assert [(r["line"], r["status"]) for r in rows] == [
        ("2", "sent"),
        ("3", "sent"),
        ("4", "failed"),
        ("5", "failed"),
        ("6", "failed"),
        ("7", "sent"),
        ("8", "sent"),
    ]
    assert "personne" in rows[2]["error"] and "type" in rows[3]["error"]
    assert len({r["deposit_id"] for r in rows if r["deposit_id"]}) == 4
    got = _inbox(jean)
    assert sorted(i["title"] for i in got) == [
        "Attestation CAF",
        "Attestation CAF",
        "Avis d'imposition 2026",
    ]
    assert all(i["certified"] and i["issuer"] == "Mairie de Lyon" for i in got)
    assert [i["title"] for i in _inbox(alice)] == ["Avis d'imposition 2026"]

    # the owner accepts one before the batch runs again: it is not deposited a second time
    accepted = next(i for i in got if i["title"] == "Avis d'imposition 2026")
    jean.run("inbox", "accept", accepted["id"])
    res = mairie.run("issuer", "deposit-batch", str(batch), "--report", str(report), check=False)
    assert res.returncode == EXIT_FAILURE
    assert "0 deposited, 4 already there, 3 failed" in res.stdout
    assert len(_inbox(jean)) == 2 and len(_inbox(alice)) == 1
    # fixed rows go in on the next run, the others stay as they were
    (tmp_path / "docs" / "manquant.pdf").write_bytes(b"%PDF-1.4 attestation")
    res = mairie.run("issuer", "deposit-batch", str(batch), "--json", check=False)
    (summary,) = json.loads(res.stdout)
    assert (summary["sent"], summary["already"], summary["failed"]) == (1, 4, 2)
    assert len(_inbox(alice)) == 2


def test_a_batch_killed_half_way_and_run_again_deposits_each_row_once(
    admin,  # noqa: F811
    account,
    tmp_path,
):
    mairie, jean = admin["mairie"], admin["jean"]
    alice, _ = account("alice", name="B")
    n = 14
    _docs(tmp_path, n)
    batch = tmp_path / "lot.csv"
    lines = ["handle,type,title,path"] + [
        f"{'jean' if i % 2 else 'alice'},payslip,Bulletin {i},docs/avis-{i}.pdf" for i in range(n)
    ]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "VAULT_PASSPHRASE": mairie.passphrase}
    env.pop("VAULT_HOME", None)
    args = ["issuer", "deposit-batch", str(batch)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault_client.cli", "--home", str(mairie.home), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = mairie.home / "deposited-ids"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(_inbox(jean)) + len(_inbox(alice))
    assert 3 <= before <= n
    res = mairie.run("issuer", "deposit-batch", str(batch), "--json")
    (summary,) = json.loads(res.stdout)
    assert summary["failed"] == 0 and summary["sent"] + summary["already"] == n
    assert summary["already"] >= before  # what the killed run posted (some maybe unrecorded)
    titles = sorted(i["title"] for i in _inbox(jean) + _inbox(alice))
    assert titles == sorted(f"Bulletin {i}" for i in range(n))  # each row exactly once


def test_a_file_unusable_as_a_whole_deposits_nothing(admin, tmp_path):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    _docs(tmp_path, 1)
    cases = {
        "empty.csv": b"",
        "header-only.csv": b"handle,type,title,path\n",
        "wrong-columns.csv": b"handle,type,file\njean,tax-notice,docs/avis-0.pdf\n",
        "latin1.csv": b"handle;type;title;path\njean;tax-notice;Avis pay\xe9;docs/avis-0.pdf\n",
        "bad-quote.csv": b'handle,type,title,path\njean,tax-notice,"Avis\n',
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        res = mairie.run("issuer", "deposit-batch", str(tmp_path / name), check=False)
        assert res.returncode == EXIT_USAGE, (name, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert (
        "line 2"
        in mairie.run("issuer", "deposit-batch", str(tmp_path / "latin1.csv"), check=False).stderr
    )
    big = tmp_path / "big.csv"
    with open(big, "w", encoding="utf-8") as fh:
        fh.write("handle,type,title,path\n")
        fh.writelines("jean,tax-notice,Avis,docs/avis-0.pdf\n" for _ in range(100_001))
    res = mairie.run("issuer", "deposit-batch", str(big), check=False)
    assert res.returncode == EXIT_USAGE and "split the file" in res.stderr
    assert _inbox(jean) == []
    # French
    res = mairie.run(
        "issuer", "deposit-batch", str(tmp_path / "empty.csv"), check=False,
        env={"LANG": "fr_FR.UTF-8"},
    )  # fmt: skip
    assert res.returncode == EXIT_USAGE and res.stderr.startswith("erreur")


def test_templates_and_a_request_batch_sent_once(admin, account, tmp_path):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    alice, _ = account("alice", name="B")
    mairie.run(
        "issuer", "template", "create", "rsa-2027", "--need", "proof-of-address",
        "--need", "id-card", "--need", "tax-notice", "--due-in", "30d",
        "--message", "Renouvellement RSA : merci de fournir ces documents.",
    )  # fmt: skip
    listed = json.loads(mairie.run("issuer", "template", "list", "--json").stdout)
    assert [(t["name"], t["needs"], t["due_in"]) for t in listed] == [
        ("rsa-2027", ["proof-of-address", "id-card", "tax-notice"], 30 * 86400)
    ]
    # one request from the template, due in 30 days by default
    req = mairie.run("issuer", "request", "--template", "rsa-2027", "--to", "jean")
    got = json.loads(jean.run("requests", "--json").stdout)
    assert [r["id"] for r in got] == [req.stdout.strip().splitlines()[-1]]
    assert got[0]["needs"] == ["proof-of-address", "id-card", "tax-notice"]
    assert got[0]["message"].startswith("Renouvellement RSA")
    expect = time.strftime("%Y-%m-%d", time.localtime(time.time() + 30 * 86400))
    assert got[0]["due"] == expect

    batch = tmp_path / "campagne-rsa.csv"
    batch.write_text(
        "handle,template,due,message\n"
        "alice,rsa-2027,2030-03-01,\n"
        "jean,rsa-2027,,Deuxième relance\n"
        "jean,inconnu,2030-03-01,\n"  # line 4: no such template
        "alice,rsa-2027,2020-01-01,\n"  # line 5: in the past
        "personne,rsa-2027,2030-03-01,\n",  # line 6: no such account
        encoding="utf-8",
    )
    res = mairie.run("issuer", "request-batch", str(batch), check=False)
    assert res.returncode == EXIT_FAILURE
    assert "2 sent, 0 already there, 3 failed" in res.stdout
    for n in (4, 5, 6):
        assert f"line {n}:" in res.stderr
    time.sleep(1.1)  # a later second: a row due "in the template's delay" is the same row
    res = mairie.run("issuer", "request-batch", str(batch), check=False)
    assert "0 sent, 2 already there, 3 failed" in res.stdout
    assert len(json.loads(alice.run("requests", "--json").stdout)) == 1
    jean_reqs = json.loads(jean.run("requests", "--json").stdout)
    assert sorted(r["message"] for r in jean_reqs)[0] == "Deuxième relance" and len(jean_reqs) == 2
    # bad input, one line each
    for args in (
        ("issuer", "template", "create", "Bad Name", "--need", "id-card"),
        ("issuer", "template", "create", "x", "--need", "Not A Type"),
        ("issuer", "request", "--template", "absent", "--to", "jean"),
        ("issuer", "request", "--to", "jean", "--need", "id-card", "--message", "m"),  # no due
    ):
        res = mairie.run(*args, check=False)
        assert res.returncode == EXIT_USAGE, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
