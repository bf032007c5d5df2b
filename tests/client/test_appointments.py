"""Appointments (issue 20): an issuer books one with an owner through a real server; the owner
lists it (certified, what to bring and whether the vault holds it), exports it as an iCalendar
file that the icalendar library parses back, and is reminded on their own cadence; the server
holds neither the place nor the message in the clear; bad input gives one line and an exit
code, nothing booked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import icalendar

from vault_core.errors import EXIT_USAGE

from .test_deposits import admin  # noqa: F401 (the fixture)

PLACE = "Mairie du 3e, guichet 4, 215 rue Duguesclin"
MESSAGE = "Rendez-vous RSA : venez avec vos justificatifs."


def _tomorrow_at(hour: int) -> tuple[str, int]:
    day = time.localtime(time.time() + 86400)
    text = time.strftime(f"%Y-%m-%dT{hour:02d}:30", day)
    return text, int(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M")))


def test_booked_listed_exported_and_reminded(admin, server, tmp_path):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    # jean already holds a proof of address (a deposit he accepted), not an ID card
    doc = tmp_path / "justificatif.pdf"
    doc.write_bytes(b"%PDF justificatif de domicile")
    dep_id = mairie.run("issuer", "deposit", "--to", "jean", "--type", "proof-of-address",
                        str(doc)).stdout.strip().splitlines()[-1]  # fmt: skip
    held_path = jean.run("inbox", "accept", dep_id).stdout.strip().splitlines()[-1]
    jean.run("sync")

    at_text, at = _tomorrow_at(10)
    booked = mairie.run("issuer", "appointment", "--to", "jean", "--at", at_text,
                        "--place", PLACE, "--bring", "proof-of-address", "--bring", "id-card",
                        "--message", MESSAGE, "--duration", "45m")  # fmt: skip
    appointment_id = booked.stdout.strip().splitlines()[-1]
    assert len(appointment_id) == 32

    (a,) = json.loads(jean.run("appointments", "--json").stdout)
    assert a["id"] == appointment_id and a["at_epoch"] == at and a["duration"] == 45 * 60
    assert a["place"] == PLACE and a["message"] == MESSAGE
    assert a["certified"] is True and a["issuer"] == "Mairie de Lyon"
    assert a["bring"] == ["proof-of-address", "id-card"]
    assert a["held"] == {"proof-of-address": [held_path]} and a["missing"] == ["id-card"]
    assert a["past"] is False and a["problem"] is None
    text = jean.run("appointments").stdout
    assert PLACE in text and "bring id-card: not in your vault" in text
    assert f"bring proof-of-address: in your vault ({held_path})" in text
    # it is not a document request
    assert json.loads(jean.run("requests", "--json").stdout) == []

    out = tmp_path / "rdv.ics"
    jean.run("appointments", "ics", appointment_id, "--out", str(out))
    cal = icalendar.Calendar.from_ical(out.read_bytes())
    (event,) = cal.walk("VEVENT")
    assert str(event["summary"]) == "Rendez-vous : Mairie de Lyon"
    assert str(event["location"]) == PLACE
    assert event.decoded("dtstart").timestamp() == at
    assert event.decoded("dtend").timestamp() == at + 45 * 60
    assert MESSAGE in str(event["description"]) and "id-card" in str(event["description"])
    assert str(event["uid"]) == f"{appointment_id}@coffre-fort"

    # the server holds an opaque envelope and the start time, never the place or the message
    for f in Path(server.data).rglob("*"):
        if f.is_file():
            raw = f.read_bytes()
            assert PLACE.encode() not in raw and b"guichet" not in raw, f
            assert MESSAGE.encode() not in raw, f

    # reminded once on jean's cadence (3 days before by default), not again at once
    status = json.loads(jean.run("status", "--json").stdout)
    kinds = {s["kind"]: s for s in status}
    assert "appointment" in kinds and kinds["reminder"]["id"] == appointment_id
    assert PLACE in kinds["reminder"]["text"]
    again = json.loads(jean.run("status", "--json").stdout)
    assert not any(s["kind"] == "reminder" for s in again)


def test_bad_appointments_are_refused_and_nothing_is_booked(admin):  # noqa: F811
    mairie, jean = admin["mairie"], admin["jean"]
    at_text, _ = _tomorrow_at(9)
    base = ["issuer", "appointment", "--to", "jean", "--place", PLACE]
    past = mairie.run(*base, "--at", "2020-01-02T10:00", check=False)
    assert past.returncode == EXIT_USAGE and "in the past" in past.stderr
    bad_type = mairie.run(*base, "--at", at_text, "--bring", "Carte d'identité", check=False)
    assert bad_type.returncode == EXIT_USAGE, bad_type.stderr
    bad_date = mairie.run(*base, "--at", "demain matin", check=False)
    assert bad_date.returncode == EXIT_USAGE and "bad date" in bad_date.stderr
    long_place = mairie.run("issuer", "appointment", "--to", "jean", "--at", at_text,
                            "--place", "x" * 501, check=False)  # fmt: skip
    assert long_place.returncode == EXIT_USAGE and "place" in long_place.stderr
    unknown = mairie.run("issuer", "appointment", "--to", "personne", "--at", at_text,
                         "--place", PLACE, check=False)  # fmt: skip
    assert (
        unknown.returncode == 1 and unknown.stderr == "error: no account personne on this server\n"
    )
    not_issuer = jean.run("issuer", "appointment", "--to", "mairie", "--at", at_text,
                          "--place", PLACE, check=False)  # fmt: skip
    assert not_issuer.returncode == EXIT_USAGE
    assert json.loads(jean.run("appointments", "--json").stdout) == []
    missing = jean.run("appointments", "ics", "0" * 32, "--out", "x.ics", check=False)
    assert missing.returncode == 1 and "no appointment" in missing.stderr
