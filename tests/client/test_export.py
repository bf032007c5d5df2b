"""``vault export`` and ``vault verify --offline`` end to end, with a real server and the real
command line: a vault of 1,000 files with certified deposits and history exported and compared
byte for byte with the folder, the manifests read back, a second export that writes nothing, an
export killed and resumed, offline verification from the export alone (and its refusal when a
byte changes), and a tampered blob on the server that stops the export (exit 4) before any
unverified byte is written."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.hostile.helpers import flip
from tests.hostile.storage import Storage
from vault_core.errors import EXIT_FAILURE, EXIT_INTEGRITY

from .test_deposits import admin  # noqa: F401 (the fixture: authority, issuer, owner)


def _deposit(mairie, tmp_path: Path, name: str, doc_type: str, data: bytes) -> str:
    doc = tmp_path / name
    doc.write_bytes(data)
    out = mairie.run("issuer", "deposit", "--to", "jean", "--type", doc_type, str(doc))
    return out.stdout.strip().splitlines()[-1]


def _report(dev, out: Path, *extra: str) -> dict:
    res = dev.run("export", "--out", str(out), "--json", *extra, timeout=600)
    (report,) = json.loads(res.stdout)
    return report


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _same_export(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    """Two exports hold the same files (their manifests differ only by ``exported_at``)."""
    assert a.keys() == b.keys()
    assert all(a[n] == b[n] for n in a if n != "manifest.json")
    ma, mb = (json.loads(x["manifest.json"]) for x in (a, b))
    assert ma.pop("exported_at") and mb.pop("exported_at") and ma == mb


def _stats(root: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[p.relative_to(root).as_posix()] = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    return out


def test_export_1000_files_deposits_history_incremental_and_resumed(admin, tmp_path):  # noqa: F811
    jean, mairie = admin["jean"], admin["mairie"]
    originals: dict[str, bytes] = {}
    for i in range(1000):
        rel = f"dossier {i % 25:02d}/fichier-{i:04d}{' é' if i % 97 == 0 else ''}.txt"
        originals[rel] = os.urandom(64 + (i * 37) % 3000)
        jean.write(rel, originals[rel])
    jean.sync()
    # history: ten files edited, two deleted
    edited = sorted(originals)[:10]
    deleted = sorted(originals)[10:12]
    for rel in edited:
        jean.write(rel, b"v2 " + originals[rel])
    for rel in deleted:
        (jean.folder / rel).unlink()
    jean.sync()
    # two certified deposits, accepted into the folder
    acte = b"%PDF-1.4 acte de naissance " + os.urandom(3000)
    avis = b"%PDF-1.4 avis d'imposition " + os.urandom(90_000)  # chunked, not inline
    paths = []
    for name, kind, data in (
        ("acte.pdf", "birth-certificate", acte),
        ("avis.pdf", "tax-notice", avis),
    ):
        dep = _deposit(mairie, tmp_path, name, kind, data)
        paths.append(jean.run("inbox", "accept", dep).stdout.strip().splitlines()[-1])
    jean.sync()

    out = tmp_path / "export"
    started = time.monotonic()
    report = _report(jean, out, "--include-history")
    elapsed = time.monotonic() - started
    print(f"\nexport of {report['files']} files: {elapsed:.2f} s (service {report['seconds']} s)")
    live = 1000 - 2 + 2
    assert report["files"] == live + 10 + 2 and report["written"] == report["files"]
    assert report["certified"] == 2 and report["certificates"] == 2

    # byte for byte: the documents are the folder, the history its earlier versions
    assert _tree(out / "documents") == jean.tree()
    for rel in edited + deleted:
        assert (out / "history" / rel / "v1").read_bytes() == originals[rel]
    certs = {p: out / "certificates" / f"{p}.certificate.json" for p in paths}
    assert all(c.is_file() for c in certs.values())
    assert _tree(out).keys() == {
        *(f"documents/{p}" for p in jean.tree()),
        *(f"history/{p}/v1" for p in edited + deleted),
        *(f"certificates/{p}.certificate.json" for p in paths),
        "manifest.json",
        "manifest.csv",
    }

    # the manifests, read back
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    entries = manifest["files"]
    assert len(entries) == report["files"]
    for e in entries:
        data = (out / e["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"] and len(data) == e["size"]
        assert e["modified"].endswith("Z")
    by_path = {e["path"]: e for e in entries if e["kind"] == "document"}
    for p in paths:
        e = by_path[p]
        assert (e["certification"], e["issuer"]) == ("certified", "Mairie de Lyon")
        assert e["certificate"] == f"certificates/{p}.certificate.json"
        assert e["issued"] and e["received"]
    assert by_path[paths[0]]["type"] == "birth-certificate"
    assert {e["certification"] for p, e in by_path.items() if p not in paths} == {"none"}
    with open(out / "manifest.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(entries)
    for row, e in zip(rows, entries, strict=True):
        expected = {
            k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in e.items()
        }
        assert row == expected
    assert any("é" in row["path"] for row in rows)

    # a second export writes nothing: same inodes, same times
    before = _stats(out)
    again = _report(jean, out, "--include-history")
    assert (again["written"], again["unchanged"], again["removed"]) == (0, report["files"], 0)
    assert again["manifest_written"] is False and _stats(out) == before

    # one document edited in the vault, one exported file damaged: only those are written
    jean.write(edited[0], b"v3")
    jean.sync()
    damaged = out / "documents" / edited[1]
    damaged.write_bytes(b"edited in the export")
    third = _report(jean, out, "--include-history")
    # the new version, the now previous one (history v2), and the repaired file
    assert (third["written"], third["files"]) == (3, report["files"] + 1)
    assert (out / "documents" / edited[0]).read_bytes() == b"v3"
    assert (out / "history" / edited[0] / "v2").read_bytes() == b"v2 " + originals[edited[0]]
    assert damaged.read_bytes() == b"v2 " + originals[edited[1]]
    assert _tree(out / "documents") == jean.tree()

    # killed half way, then resumed: what was verified and placed is not fetched again
    resumed = tmp_path / "resumed"
    env = {**os.environ, "VAULT_PASSPHRASE": jean.passphrase}
    env.pop("VAULT_HOME", None)
    cli = [sys.executable, "-m", "vault_client.cli", "--home", str(jean.home), "export"]
    proc = subprocess.Popen(
        [*cli, "--out", str(resumed), "--include-history"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = resumed / ".vault-export.journal"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 100:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the export ended before it could be killed"
    assert not (resumed / "manifest.json").exists()
    placed = journal.read_bytes().count(b"\n")
    rest = _report(jean, resumed, "--include-history")
    assert rest["unchanged"] >= placed >= 100 and rest["written"] < rest["files"]
    assert rest["written"] + rest["unchanged"] == rest["files"] == third["files"]
    _same_export(_tree(resumed), _tree(out))
    assert not journal.exists() and not (resumed / ".vault-export-tmp").exists()


def test_offline_verification_and_its_refusals(admin, make_device, tmp_path):  # noqa: F811
    jean, mairie = admin["jean"], admin["mairie"]
    acte = b"%PDF-1.4 acte de naissance " + os.urandom(5000)
    dep = _deposit(mairie, tmp_path, "acte.pdf", "birth-certificate", acte)
    path = jean.run("inbox", "accept", dep).stdout.strip().splitlines()[-1]
    jean.write("notes.txt", b"not certified")
    jean.sync()
    out = tmp_path / "export"
    jean.run("export", "--out", str(out))
    doc = out / "documents" / path
    cert = out / "certificates" / f"{path}.certificate.json"
    assert doc.read_bytes() == acte

    # from an empty profile, with nothing but the export and the authority's key
    nobody = make_device("nobody")
    key = admin["auth_pk"]
    res = nobody.run("verify", "--offline", str(doc), "--trust", key)
    assert "certified by Mairie de Lyon" in res.stdout
    info = json.loads(
        nobody.run(
            "verify", "--offline", str(doc), "--certificate", str(cert), "--trust", key, "--json"
        ).stdout
    )[0]
    assert (info["issuer"], info["type"], info["owner"]) == (
        "Mairie de Lyon",
        "birth-certificate",
        "jean",
    )
    assert info["sha256"] == hashlib.sha256(acte).hexdigest() and info["vault_path"] == path
    # the authority's invitation (a file, or its URI) works too; an unsigned one does not
    invitation = tmp_path / "prefecture.json"
    uri = admin["auth"].run("authority", "invite", "--out", str(invitation), "--name", "Préfecture")
    nobody.run("verify", "--offline", str(doc), "--trust", str(invitation))
    nobody.run("verify", "--offline", str(doc), "--trust", uri.stdout.strip().splitlines()[-1])
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps({"name": "Préfecture", "public_key": key}))
    res = nobody.run("verify", "--offline", str(doc), "--trust", str(unsigned), check=False)
    assert res.returncode == EXIT_INTEGRITY
    # a copy outside the export: its certificate beside it
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "acte.pdf").write_bytes(acte)
    (loose / "acte.pdf.certificate.json").write_bytes(cert.read_bytes())
    nobody.run("verify", "--offline", str(loose / "acte.pdf"), "--trust", key)

    def offline(document: Path, certificate: Path, trust: str = key) -> int:
        args = ["verify", "--offline", str(document), "--certificate", str(certificate)]
        return nobody.run(*args, "--trust", trust, check=False).returncode

    # one byte of the document changed, anywhere
    for at in (0, len(acte) // 2, len(acte) - 1):
        bad = tmp_path / f"doc-{at}.pdf"
        bad.write_bytes(flip(acte, at))
        assert offline(bad, cert) == EXIT_INTEGRITY
    # one byte of the certificate changed, anywhere (signed fields, the reception time,
    # the seal, the layout)
    raw = cert.read_bytes()
    positions = [0, len(raw) // 3, len(raw) // 2, len(raw) - 2]
    positions += [raw.index(b'"received": ') + 14, raw.index(b'"owner_sig": ') + 20]
    positions += [raw.index(b'"path": ') + 10, raw.index(b'"title": ') + 11]
    for at in positions:
        bad = tmp_path / f"cert-{at}.json"
        bad.write_bytes(flip(raw, at))
        assert offline(doc, bad) == EXIT_INTEGRITY, f"byte {at} of the certificate"
    # another authority's key: not certified by anyone trusted here
    other = make_device("other-authority")
    other_pk = other.run("authority", "init").stdout.strip().splitlines()[-1]
    assert offline(doc, cert, other_pk) == EXIT_INTEGRITY
    # a document without a certificate: not certified (exit 1)
    plain = out / "documents" / "notes.txt"
    res = nobody.run("verify", "--offline", str(plain), "--trust", key, check=False)
    assert res.returncode == EXIT_FAILURE and "not a certified document" in res.stderr
    # the online check is unchanged
    assert "Mairie de Lyon" in jean.run("verify", path).stdout
    usage = jean.run("verify", path, "--trust", key, check=False)
    assert usage.returncode == 2


def test_tampered_blob_stops_the_export_and_writes_nothing_unverified(server, account, tmp_path):
    from vault_client.state import State
    from vault_core.manifest import open_manifest

    jean, _ = account("jean")
    small = os.urandom(2000)
    large = os.urandom(300_000)
    jean.write("a/small.txt", small)
    jean.write("b/large.bin", large)
    for i in range(20):
        jean.write(f"c/other-{i}.txt", f"other {i}".encode())
    jean.sync()
    state = State(jean.home / "state.db")
    try:
        heads = state.heads()
    finally:
        state.close()
    store = Storage(server.data)

    # a chunk of the large file flipped: exit 4, the file never reaches the export
    rec = heads["b/large.bin"]
    blob = store.read_blob("jean", rec.manifest)
    manifest = open_manifest(blob, rec.manifest, rec.key, bytes.fromhex(rec.file_id), rec.version)
    chunk = manifest.chunks[len(manifest.chunks) // 2].id
    good_chunk = store.read_blob("jean", chunk)
    store.write_blob("jean", chunk, flip(good_chunk))
    out = tmp_path / "export"
    res = jean.run("export", "--out", str(out), check=False)
    assert res.returncode == EXIT_INTEGRITY, res.stderr
    assert "large.bin" in res.stderr and "Traceback" not in res.stderr
    assert not (out / "documents/b/large.bin").exists()
    assert not (out / "manifest.json").exists() and not (out / ".vault-export-tmp").exists()
    originals = jean.tree()
    for rel, data in _tree(out / "documents").items() if (out / "documents").exists() else ():
        assert data == originals[rel]  # what is there was verified
    # the zip: no archive at all, no partial file
    res = jean.run("export", "--out", str(tmp_path / "coffre.zip"), check=False)
    assert res.returncode == EXIT_INTEGRITY
    assert sorted(p.name for p in tmp_path.iterdir() if "coffre" in p.name) == []
    store.write_blob("jean", chunk, good_chunk)

    # the small file's manifest (which holds its bytes) tampered with: the same (into a new
    # directory: the first export already placed its verified copy, which is not fetched again)
    blob = store.read_blob("jean", heads["a/small.txt"].manifest)
    store.write_blob("jean", heads["a/small.txt"].manifest, flip(blob))
    res = jean.run("export", "--out", str(tmp_path / "second"), check=False)
    assert res.returncode == EXIT_INTEGRITY and "small.txt" in res.stderr
    assert not (tmp_path / "second/documents/a/small.txt").exists()
    store.write_blob("jean", heads["a/small.txt"].manifest, blob)

    # once the server holds the genuine blobs again, the export completes (resumed)
    report = _report(jean, out)
    assert report["files"] == 22 and _tree(out / "documents") == jean.tree()
    # and the zip holds the same tree
    zipped = _report(jean, tmp_path / "coffre.zip")
    assert zipped["archive"] == "zip" and zipped["written"] == 22
    with zipfile.ZipFile(tmp_path / "coffre.zip") as zf:
        _same_export({n: zf.read(n) for n in zf.namelist()}, _tree(out))
