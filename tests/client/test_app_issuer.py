"""The issuer desk's routes (« Espace administration », vault_client/app/routes_issuer.py) on a
real ``vault app`` daemon of a certified issuer profile, against a real server, with an owner
driven by the CLI: a deposit (multipart) the owner's inbox shows certified, a checklist request
the owner answers item by item (the desk shows partial, then answered, each item provided or
missing), a request from a saved template, an appointment the owner's CLI lists, a citizen's
ask fulfilled from the desk; every refusal one French sentence (unknown handle, a key that
changed, a document over the deposit limit, a date in the past, an unknown template, no file,
an ask already answered), nothing deposited or sent by a refused call."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from vault_core.deposits import MAX_DEPOSIT_SIZE

from .conftest import PASS
from .test_app_daemon import App
from .test_deposits import admin  # noqa: F401 (the fixture)


def _multipart(fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()  # fmt: skip
    if file is not None:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{file[0]}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode() + file[1] + b"\r\n"  # fmt: skip
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload(app: App, path: str, fields: dict[str, str], file: tuple[str, bytes] | None) -> Any:
    raw, ctype = _multipart(fields, file)
    code, _, out = app.request("POST", path, raw=raw, content_type=ctype)
    return code, json.loads(out)


def _refused(app: App, method: str, path: str, body: Any) -> str:
    code, _, out = app.request(method, path, body)
    assert 400 <= code < 500, (code, out)
    return str(json.loads(out)["message"])


@pytest.fixture
def desk(admin, tmp_path):  # noqa: F811
    """The certified issuer's daemon, unlocked, with a saved checklist « rsa-2027 »."""
    mairie = admin["mairie"]
    mairie.run("issuer", "template", "create", "rsa-2027", "--need", "tax-notice",
               "--need", "id-card", "--due-in", "30d", "--message", "Dossier RSA")  # fmt: skip
    app = App(mairie.home)
    try:
        app.sign_in()
        app.json("POST", "/api/unlock", {"passphrase": PASS})
        yield {**admin, "app": app}
    finally:
        app.stop()


def test_the_desk_deposits_requests_books_and_fulfils(desk, account, tmp_path):
    app, jean, mairie = desk["app"], desk["jean"], desk["mairie"]
    assert app.json("GET", "/api/state")["issuer"] is True
    shown = app.json("GET", "/api/issuer")
    assert shown["issuer"]["certified_as"] == "Mairie de Lyon" and not shown["issuer"]["expired"]
    assert [(t["name"], t["needs"]) for t in shown["templates"]] == [
        ("rsa-2027", ["tax-notice", "id-card"])
    ]

    # Déposer un document: certified in the owner's inbox, under the name the browser gave
    acte = b"%PDF-1.4 acte de naissance de Jean"
    code, out = _upload(app, "/api/issuer/deposit",
                        {"to": "jean", "type": "birth-certificate", "title": "Acte de naissance"},
                        ("acte-naissance.pdf", acte))  # fmt: skip
    assert code == 200, out
    (got,) = json.loads(jean.run("inbox", "--json").stdout)
    assert (got["id"], got["certified"], got["issuer"]) == (out["id"], True, "Mairie de Lyon")
    assert (got["filename"], got["title"], got["type"]) == (
        "acte-naissance.pdf", "Acte de naissance", "birth-certificate")  # fmt: skip
    accepted = jean.run("inbox", "accept", got["id"]).stdout.strip().splitlines()[-1]
    assert jean.read(accepted) == acte

    # Nouvelle demande with chosen documents, then one from the saved checklist
    sent = app.json("POST", "/api/issuer/requests", {
        "to": "jean", "needs": ["birth-certificate", "proof-of-address"], "due": "2030-12-15",
        "message": "Merci de compléter votre dossier."})["id"]  # fmt: skip
    from_template = app.json("POST", "/api/issuer/requests",
                             {"to": "jean", "template": "rsa-2027"})["id"]  # fmt: skip
    owner = {r["id"]: r for r in json.loads(jean.run("requests", "--json").stdout)}
    assert owner[sent]["needs"] == ["birth-certificate", "proof-of-address"]
    assert owner[sent]["message"] == "Merci de compléter votre dossier."
    assert owner[sent]["due_at"] == int(time.mktime(time.strptime("2030-12-15", "%Y-%m-%d")))
    assert owner[from_template]["needs"] == ["tax-notice", "id-card"]
    assert owner[from_template]["message"] == "Dossier RSA"
    listed = {r["id"]: r for r in app.json("GET", "/api/issuer/requests")}
    assert listed[sent]["kind"] == "request" and listed[sent]["state"] == "open"
    assert listed[sent]["items"] == [{"type": "birth-certificate", "state": "missing"},
                                     {"type": "proof-of-address", "state": "missing"}]  # fmt: skip

    # the owner answers one item: partial on the desk, the other still missing; then answered
    jean.sync()
    jean.run("requests", "answer", sent, accepted, "--for", "birth-certificate")
    listed = {r["id"]: r for r in app.json("GET", "/api/issuer/requests")}
    assert listed[sent]["state"] == "partial"
    assert listed[sent]["items"] == [{"type": "birth-certificate", "state": "provided"},
                                     {"type": "proof-of-address", "state": "missing"}]  # fmt: skip
    cli = mairie.run("issuer", "requests").stdout
    assert "missing: proof-of-address" in cli
    jean.write("justificatif.pdf", b"%PDF justificatif de domicile")
    jean.sync()
    jean.run("requests", "answer", sent, "justificatif.pdf", "--for", "proof-of-address")
    listed = {r["id"]: r for r in app.json("GET", "/api/issuer/requests")}
    assert listed[sent]["state"] == "answered" and listed[sent]["grant"]
    assert {i["state"] for i in listed[sent]["items"]} == {"provided"}

    # Rendez-vous: the owner's CLI lists it; the desk tells it from a request
    booked = app.json("POST", "/api/issuer/appointments", {
        "to": "jean", "at": "2030-12-16T10:30", "place": "Mairie du 3e, guichet 4",
        "bring": ["id-card"], "message": "Venez avec votre carte."})["id"]  # fmt: skip
    (appt,) = json.loads(jean.run("appointments", "--json").stdout)
    assert (appt["id"], appt["place"], appt["bring"], appt["issuer"]) == (
        booked, "Mairie du 3e, guichet 4", ["id-card"], "Mairie de Lyon")  # fmt: skip
    assert appt["at"].startswith("2030-12-16T10:30")
    listed = {r["id"]: r for r in app.json("GET", "/api/issuer/requests")}
    assert listed[booked]["kind"] == "appointment" and listed[booked]["state"] == "booked"
    assert listed[booked]["place"] == "Mairie du 3e, guichet 4"

    # a citizen's ask, fulfilled from the desk: certified in the owner's inbox, linked
    asked = jean.run("ask", "--to", "mairie", "--type", "birth-certificate",
                     "--message", "Une copie, s'il vous plaît")  # fmt: skip
    ask_id = asked.stdout.strip().splitlines()[-1]
    (ask,) = app.json("GET", "/api/issuer/asks")
    assert (ask["id"], ask["from"], ask["type"], ask["state"], ask["valid"]) == (
        ask_id, "jean", "birth-certificate", "open", True)  # fmt: skip
    assert ask["message"] == "Une copie, s'il vous plaît"
    copie = b"%PDF copie integrale"
    code, out = _upload(app, f"/api/issuer/asks/{ask_id}/fulfil", {"title": ""},
                        ("copie-acte.pdf", copie))  # fmt: skip
    assert code == 200, out
    (mine,) = json.loads(jean.run("asks", "--json").stdout)
    assert (mine["state"], mine["deposit"], mine["in_inbox"]) == ("fulfilled", out["deposit_id"],
                                                                  True)  # fmt: skip
    (waiting,) = json.loads(jean.run("inbox", "--json").stdout)
    assert (waiting["id"], waiting["certified"], waiting["filename"], waiting["title"]) == (
        out["deposit_id"], True, "copie-acte.pdf", "copie-acte")  # fmt: skip
    assert app.json("GET", "/api/issuer/asks")[0]["state"] == "fulfilled"
    code, again = _upload(app, f"/api/issuer/asks/{ask_id}/fulfil", {}, ("x.pdf", b"x"))
    assert code == 409 and again["message"].startswith(f"La demande {ask_id} a déjà reçu")


def test_the_desk_refuses_in_french_and_sends_nothing(desk, account, tmp_path):
    app, jean, mairie = desk["app"], desk["jean"], desk["mairie"]
    doc = ("avis.pdf", b"%PDF avis")

    code, out = _upload(app, "/api/issuer/deposit", {"to": "personne", "type": "tax-notice"}, doc)
    assert code == 404 and out["message"] == "Aucun compte personne sur ce serveur."
    code, out = _upload(app, "/api/issuer/deposit", {"to": "jean", "type": "Avis!"}, doc)
    assert code == 400 and out["message"].startswith("--type : un nom court")
    code, out = _upload(app, "/api/issuer/deposit", {"to": "jean", "type": "tax-notice"}, None)
    assert code == 400 and out["message"] == "Choisissez un fichier."
    big = b"\0" * (MAX_DEPOSIT_SIZE + 5)
    code, out = _upload(app, "/api/issuer/deposit", {"to": "jean", "type": "tax-notice"},
                        ("gros.pdf", big))  # fmt: skip
    assert code == 400 and out["message"] == "Le document dépasse la limite de 64 Mio d'un dépôt."

    # a pinned key that changed: refused before anything is sealed to it
    bouchra, _ = account("bouchra", name="B")
    code, _ = _upload(app, "/api/issuer/deposit", {"to": "bouchra", "type": "tax-notice"}, doc)
    assert code == 200 and len(json.loads(bouchra.run("inbox", "--json").stdout)) == 1
    account("paul", name="P")
    assert _upload(app, "/api/issuer/deposit", {"to": "paul", "type": "tax-notice"}, doc)[0] == 200
    contacts = Path(mairie.home) / "contacts.json"
    pins = json.loads(contacts.read_text())
    pins["bouchra"] = pins["paul"]  # the keys pinned for bouchra are no longer the server's
    contacts.write_text(json.dumps(pins))
    code, out = _upload(app, "/api/issuer/deposit", {"to": "bouchra", "type": "tax-notice"}, doc)
    assert code == 400 and out["message"].startswith("La clé de bouchra a changé"), out
    assert _refused(app, "POST", "/api/issuer/requests", {
        "to": "bouchra", "needs": ["tax-notice"], "due": "2030-01-01", "message": "m"}
    ).startswith("La clé de bouchra a changé")  # fmt: skip

    # requests: a date in the past, an unknown template, nothing asked for; appointments
    past = _refused(
        app,
        "POST",
        "/api/issuer/requests",
        {"to": "jean", "needs": ["tax-notice"], "due": "2020-01-01", "message": "m"},
    )
    assert past == "La date limite 2020-01-01 est déjà passée."
    assert _refused(app, "POST", "/api/issuer/requests", {"to": "jean", "template": "absent"}) == (
        "Aucun modèle « absent » (voir « vault issuer template list »).")  # fmt: skip
    assert _refused(app, "POST", "/api/issuer/requests", {
        "to": "jean", "needs": [], "due": "2030-01-01", "message": "m"}
    ).startswith("Demandez au moins un document")  # fmt: skip
    assert _refused(app, "POST", "/api/issuer/appointments", {
        "to": "jean", "at": "2020-01-01T10:00", "place": "Mairie"}
    ) == "L'heure du rendez-vous 2020-01-01 10:00 est déjà passée."  # fmt: skip
    assert _refused(app, "POST", "/api/issuer/appointments", {
        "to": "personne", "at": "2030-01-01T10:00", "place": "Mairie"}
    ) == "Aucun compte personne sur ce serveur."  # fmt: skip
    assert _refused(app, "POST", "/api/issuer/appointments", {
        "to": "jean", "at": "demain", "place": "Mairie"}).startswith("Date incorrecte")  # fmt: skip
    code, out = _upload(app, "/api/issuer/asks/" + "ab" * 16 + "/fulfil", {}, doc)
    assert code == 404 and "vault issuer asks" in out["message"]

    # nothing went to jean, nothing is listed as sent
    assert json.loads(jean.run("inbox", "--json").stdout) == []
    assert json.loads(jean.run("requests", "--json").stdout) == []
    assert json.loads(jean.run("appointments", "--json").stdout) == []
    assert len(json.loads(bouchra.run("inbox", "--json").stdout)) == 1
    assert app.json("GET", "/api/issuer/requests") == []
