"""Trust roots shipped with a deployment (issue 20): an operator signs a list of authority
invitations (`vault-server trust-roots make`), the server offers it (`serve --trust-roots`);
a client shows it with each authority's words and pins nothing until its owner accepts; a
changed list is refused (exit 4) until accepted again; a stale acceptance is refused; a bad
file stops the server's start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vault_core.errors import EXIT_INTEGRITY


def _invitation(make_device, tmp_path: Path, who: str, name: str) -> tuple[Path, str]:
    dev = make_device(who)
    dev.run("authority", "init")
    out = tmp_path / f"{who}.invitation.json"
    dev.run("authority", "invite", "--out", str(out), "--name", name)
    return out, name


def _make_roots(tmp_path: Path, out: Path, *invitations: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault_server", "trust-roots", "make", "--key",
         str(tmp_path / "operator.key"), "--name", "Coffre de la Métropole", "--out", str(out),
         *map(str, invitations)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_offered_shown_accepted_then_a_change_is_refused(server, account, make_device, tmp_path):
    inv1, _ = _invitation(make_device, tmp_path, "prefecture", "Préfecture du Rhône")
    inv2, _ = _invitation(make_device, tmp_path, "caf", "CAF du Rhône")
    roots = tmp_path / "roots.json"
    made = _make_roots(tmp_path, roots, inv1, inv2)
    assert made.returncode == 0, made.stderr
    assert os.stat(tmp_path / "operator.key").st_mode & 0o777 == 0o600
    server.extra = ["--trust-roots", str(roots)]
    server.restart()

    jean, _ = account()
    # a new device names what the server offers, and pins nothing
    second = make_device("B")
    joined = second.run("login", "--server", server.url, "--user", "jean",
                        "--folder", str(second.folder))  # fmt: skip
    assert "offers 2 trust roots from Coffre de la Métropole" in joined.stderr
    assert json.loads(second.run("trust", "list", "--json").stdout) == []
    offer = json.loads(jean.run("trust", "roots", "--json").stdout)
    assert offer["state"] == "new" and offer["deployment"] == "Coffre de la Métropole"
    assert sorted(r["name"] for r in offer["roots"]) == ["CAF du Rhône", "Préfecture du Rhône"]
    assert all(len(r["words"].split()) == 6 for r in offer["roots"])
    shown = jean.run("trust", "roots")
    assert (
        "Préfecture du Rhône, fingerprint " in shown.stdout
        and "vault trust roots accept" in shown.stderr
    )
    assert json.loads(jean.run("trust", "list", "--json").stdout) == []  # nothing pinned

    jean.run("trust", "roots", "accept", "--digest", offer["digest"])
    pinned = json.loads(jean.run("trust", "list", "--json").stdout)
    assert sorted(p["name"] for p in pinned) == ["CAF du Rhône", "Préfecture du Rhône"]
    assert json.loads(jean.run("trust", "roots", "--json").stdout)["state"] == "accepted"

    # the operator (or a server) changes the list: refused until jean accepts it again
    inv3, _ = _invitation(make_device, tmp_path, "impots", "Finances publiques")
    roots2 = tmp_path / "roots2.json"
    assert _make_roots(tmp_path, roots2, inv1, inv2, inv3).returncode == 0
    server.extra = ["--trust-roots", str(roots2)]
    server.restart()
    changed = jean.run("trust", "roots", check=False)
    assert changed.returncode == EXIT_INTEGRITY, changed.stderr
    assert "Finances publiques, fingerprint " in changed.stdout and "(new)" in changed.stdout
    assert "changed since you accepted them" in changed.stderr
    assert len(json.loads(jean.run("trust", "list", "--json").stdout)) == 2
    stale = jean.run("trust", "roots", "accept", "--digest", offer["digest"], check=False)
    assert stale.returncode == EXIT_INTEGRITY and "changed since they were shown" in stale.stderr
    assert len(json.loads(jean.run("trust", "list", "--json").stdout)) == 2
    jean.run("trust", "roots", "accept")
    assert len(json.loads(jean.run("trust", "list", "--json").stdout)) == 3

    # a server without roots: nothing offered, what was pinned stays
    server.extra = []
    server.restart()
    assert json.loads(jean.run("trust", "roots", "--json").stdout)["state"] == "none"
    assert len(json.loads(jean.run("trust", "list", "--json").stdout)) == 3


def test_a_bad_roots_file_stops_the_server(make_device, tmp_path):
    inv1, _ = _invitation(make_device, tmp_path, "prefecture", "Préfecture du Rhône")
    roots = tmp_path / "roots.json"
    assert _make_roots(tmp_path, roots, inv1).returncode == 0
    forged = roots.read_bytes().replace("Préfecture".encode(), b"Prefecture")
    roots.write_bytes(forged)
    res = subprocess.run(
        [sys.executable, "-m", "vault_server", "serve", "--data", str(tmp_path / "d"),
         "--port", "0", "--trust-roots", str(roots)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode != 0 and "not a valid signed trust-roots file" in res.stderr
    bad_inv = tmp_path / "bad.json"
    bad_inv.write_text("{}")
    made = _make_roots(tmp_path, tmp_path / "r.json", bad_inv)
    assert made.returncode != 0 and "not a valid authority invitation" in made.stderr
