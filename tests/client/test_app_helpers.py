"""« Aidants » and « Récupération » routes of the app (vault_client/app/routes_helpers.py) on real
``vault app`` daemons against a real server, the other people driven by the CLI: Jean gives
Gaëlle a mandate through his daemon (her key pinned, the mandate in `vault mandates --json` of
both), Gaëlle's daemon lists what she may read and uploads a document into his folder (Jean's
sync gets it, his log through his daemon says she did), Jean revokes it and her daemon is
refused (403, French sentence); Jean sets trusted contacts through his daemon, a new profile
starts a recovery, a contact's daemon lists it with its code and approves it, Jean's daemon
lists it pending and vetoes it, the finish then fails (exit 5). Every refusal is the app's JSON
error: status, code, one French sentence, nothing changed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from .conftest import PASS
from .test_app_daemon import App


def _refused(app: App, method: str, path: str, body: Any = None, status: int = 400) -> dict:
    code, _, out = app.request(method, path, body)
    assert code == status, (code, out)
    err = json.loads(out)
    assert set(err) == {"code", "message", "message_en"} and err["message"], err
    assert "Traceback" not in err["message"]
    return err


def _daemon(dev) -> App:
    app = App(dev.home)
    app.sign_in()
    app.json("POST", "/api/unlock", {"passphrase": PASS})
    return app


@pytest.fixture
def people(account, make_device, server):
    jean, _ = account("jean", name="J")
    jean.write("Papiers/facture-edf.pdf", b"%PDF facture")
    jean.sync()
    gaelle, _ = account("gaelle", name="G")
    bob, _ = account("bob", name="B")
    apps: list[App] = []

    def start(dev) -> App:
        apps.append(_daemon(dev))
        return apps[-1]

    yield {"jean": jean, "gaelle": gaelle, "bob": bob, "start": start}
    for a in apps:
        a.stop()


def test_a_mandate_given_used_and_revoked_through_the_daemons(people, tmp_path):
    jean, gaelle = people["jean"], people["gaelle"]
    japp, gapp = people["start"](jean), people["start"](gaelle)

    # bad input: the app's error, nothing given
    err = _refused(japp, "POST", "/api/mandates",
                   {"to": "personne", "scopes": ["requests"], "duration": "30d"}, 404)  # fmt: skip
    assert err["code"] == "not_found"
    err = _refused(japp, "POST", "/api/mandates",
                   {"to": "gaelle", "scopes": ["requests"], "duration": "3 semaines"})  # fmt: skip
    assert err["code"] == "usage"
    _refused(japp, "POST", "/api/mandates",
             {"to": "gaelle", "scopes": ["write:Papiers"], "duration": "30d"})  # fmt: skip
    _refused(
        japp, "POST", "/api/mandates", {"to": "gaelle", "scopes": "requests", "duration": "1d"}
    )
    assert japp.json("GET", "/api/mandates") == []

    given = japp.json("POST", "/api/mandates", {
        "to": "gaelle", "name": "Gaëlle", "duration": "30d",
        "scopes": ["read:Papiers", "upload:Papiers/CAF", "requests"],
    })  # fmt: skip
    assert (given["helper"], given["name"], given["state"], given["role"]) == (
        "gaelle", "Gaëlle", "active", "given",
    )  # fmt: skip
    assert given["fingerprint"] and given["scopes"] == [
        "read:Papiers", "requests", "upload:Papiers/CAF",
    ]  # fmt: skip
    (cli,) = json.loads(jean.run("mandates", "--json").stdout)
    assert cli["id"] == given["id"]
    (mine,) = gapp.json("GET", "/api/mandates")
    assert (mine["role"], mine["owner"], mine["state"]) == ("received", "jean", "active")

    # her side: what she may read, an upload into his folder
    assert gapp.json("GET", "/api/act-for/jean/documents") == ["Papiers/facture-edf.pdf"]
    err = _refused(gapp, "GET", "/api/act-for/jean/inbox", status=403)
    assert err["code"] == "forbidden"
    _refused(gapp, "GET", "/api/act-for/NOT%20A%20HANDLE/requests")
    raw, ctype = _multipart({"folder": "Papiers/CAF"}, ("attestation.pdf", b"%PDF attestation"))
    code, _, out = gapp.request("POST", "/api/act-for/jean/upload", raw=raw, content_type=ctype)
    assert code == 200, out
    assert json.loads(out) == {"path": "Papiers/CAF/attestation.pdf"}
    raw, ctype = _multipart({"folder": "Santé"}, ("x.pdf", b"%PDF x"))
    code, _, out = gapp.request("POST", "/api/act-for/jean/upload", raw=raw, content_type=ctype)
    assert code == 403 and json.loads(out)["code"] == "forbidden", out
    raw, ctype = _multipart({"folder": "Papiers/CAF"}, ("..", b"x"))
    code, _, out = gapp.request("POST", "/api/act-for/jean/upload", raw=raw, content_type=ctype)
    assert code == 400, out
    jean.sync()
    assert jean.read("Papiers/CAF/attestation.pdf") == b"%PDF attestation"
    (act,) = japp.json("GET", f"/api/mandates/{given['id']}/log")
    assert (act["action"], act["helper"], act["path"]) == (
        "upload", "Gaëlle", "Papiers/CAF/attestation.pdf",
    )  # fmt: skip
    _refused(japp, "GET", f"/api/mandates/{'0' * 32}/log", status=404)

    # revoked: her daemon is refused at once
    assert japp.json("DELETE", f"/api/mandates/{given['id']}") == {"ok": True}
    (after,) = japp.json("GET", "/api/mandates")
    assert after["state"] == "revoked"
    err = _refused(gapp, "GET", "/api/act-for/jean/requests", status=403)
    assert err["code"] == "forbidden"
    _refused(japp, "DELETE", f"/api/mandates/{'0' * 32}", status=404)


def test_contacts_a_recovery_approved_then_vetoed_through_the_daemons(people, server, make_device):
    jean, gaelle = people["jean"], people["gaelle"]
    japp, gapp = people["start"](jean), people["start"](gaelle)
    assert japp.json("GET", "/api/recovery/contacts") == []
    err = _refused(japp, "PUT", "/api/recovery/contacts",
                   {"handles": ["gaelle", "bob"], "threshold": 3})  # fmt: skip
    assert err["code"] == "usage"
    _refused(japp, "PUT", "/api/recovery/contacts",
             {"handles": ["gaelle", "personne"], "threshold": 2}, 404)  # fmt: skip
    _refused(japp, "PUT", "/api/recovery/contacts", {"handles": "gaelle", "threshold": 2})
    assert japp.json("GET", "/api/recovery/contacts") == []
    shown = japp.json("PUT", "/api/recovery/contacts",
                      {"handles": ["gaelle", "bob"], "threshold": 2, "delay": 3600})  # fmt: skip
    assert [(c["handle"], c["threshold"], c["delay"]) for c in shown] == [
        ("gaelle", 2, 3600), ("bob", 2, 3600),
    ]  # fmt: skip
    assert japp.json("GET", "/api/recovery/contacts") == shown

    new = make_device("newphone")
    out = new.run("recovery", "start", "--server", server.url, "--user", "jean")
    rid = out.stdout.strip().splitlines()[-1]
    code = out.stdout.strip().splitlines()[-2].split(": ", 1)[1]
    (asked,) = gapp.json("GET", "/api/recovery/pending")
    assert (asked["id"], asked["account"], asked["code"], asked["approved"]) == (
        rid, "jean", code, False,
    )  # fmt: skip
    done = gapp.json("POST", f"/api/recovery/{rid}/approve")
    assert (done["approvals"], done["threshold"]) == (1, 2)
    assert _refused(gapp, "POST", f"/api/recovery/{rid}/approve", status=409)["code"]
    (r,) = japp.json("GET", "/api/recovery/account")
    assert (r["id"], r["state"], r["approvals"], r["threshold"]) == (rid, "pending", 1, 2)
    assert japp.json("GET", "/api/counts")["recovery"] == 1
    assert japp.json("POST", f"/api/recovery/{rid}/veto") == {"id": rid}
    (r,) = japp.json("GET", "/api/recovery/account")
    assert r["state"] == "vetoed"
    _refused(japp, "POST", f"/api/recovery/{rid}/veto", status=403)
    _refused(japp, "POST", f"/api/recovery/{'0' * 32}/veto", status=404)
    finish = new.run("recovery", "finish", rid, check=False)
    assert finish.returncode == 5 and "vetoed" in finish.stderr


def _multipart(fields: dict[str, str], file: tuple[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()  # fmt: skip
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file[0]}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode() + file[1] + b"\r\n"  # fmt: skip
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
