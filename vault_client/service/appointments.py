"""Appointments (SPEC §Appointments): an issuer books one with an owner; the owner sees it,
what to bring and whether the vault already holds it, and takes it away as an iCalendar file.

An appointment travels on the requests channel (the server stores an opaque envelope and the
start time, nothing else: not the place, not what to bring, not the message). The owner's side
opens and checks it with the requests (:func:`.requests.received`); reminders follow the
owner's cadence with the requests', and stop at the start of the appointment.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

from vault_core import appointments as ap
from vault_core.encoding import b64u
from vault_core.errors import FormatError, LocalError, NotFound, UsageError

from ..identity import check_id, contact
from . import requests
from .context import Context
from .issuer import issuer_material, remember_sent

PRODID = "-//Coffre-fort numerique//vault appointments//FR"


async def book(
    ctx: Context,
    to: str,
    at: int,
    place: str,
    bring: list[str],
    message: str = "",
    duration: int = ap.DEFAULT_DURATION,
) -> str:
    """Book an appointment with ``to`` at ``at`` (epoch seconds); the appointment id."""
    if at <= int(time.time()):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
        raise UsageError(f"the appointment time {when} is in the past")
    profile, sk, cert = issuer_material(ctx)
    async with ctx.api() as api:
        recipient = await contact(profile, api, to, ctx.warn)
        appointment_id = os.urandom(16).hex()
        st = ap.AppointmentStatement(
            appointment_id=appointment_id,
            to=to,
            to_sign_pk=recipient.sign_pk,
            at=at,
            duration=duration,
            place=place.strip(),
            bring=tuple(dict.fromkeys(bring)),
            message=message,
            created=int(time.time()),
            issuer_pk=cert.issuer_pk,
            requester=profile.handle,
        )
        try:
            envelope = ap.build_appointment(
                statement=st,
                issuer_sk=sk,
                cert=cert,
                recipient_box_pk=recipient.box_pk,
                key=os.urandom(32),
                ephemeral=os.urandom(32),
                nonce=os.urandom(24),
            )
        except FormatError as exc:
            raise UsageError(exc.message) from None
        remember_sent(profile, {"id": appointment_id, "kind": "appointment", "to": to,
                                "at": at, "place": st.place})  # fmt: skip
        await api.post(
            f"/v1/requests/{to}",
            {"id": appointment_id, "envelope": b64u(envelope), "due_at": at},
        )
    return appointment_id


@dataclass(frozen=True)
class AppointmentView:
    """An appointment as the owner sees it: ``held`` names the documents to bring that the
    vault already holds (by type), ``missing`` the types it does not."""

    id: str
    at: str  # ISO 8601, local time
    at_epoch: int
    duration: int
    place: str
    bring: list[str]
    held: dict[str, list[str]]
    missing: list[str]
    message: str
    issuer: str | None  # certified issuer name; None when not certified
    certified: bool
    claimed_issuer: str | None
    past: bool
    problem: str | None


async def list_appointments(ctx: Context) -> list[AppointmentView]:
    """This account's appointments, soonest first, each checked here."""
    _, booked = await requests.received(ctx)
    now = int(time.time())
    types = requests.doc_types(ctx) if any(a.bring for a in booked) else {}
    out = []
    for a in booked:
        held = {t: sorted(p for p, k in types.items() if k == t) for t in a.bring}
        out.append(
            AppointmentView(
                id=a.id,
                at=dt.datetime.fromtimestamp(a.at).astimezone().isoformat(timespec="minutes"),
                at_epoch=a.at,
                duration=a.duration,
                place=a.place,
                bring=a.bring,
                held={t: p for t, p in held.items() if p},
                missing=[t for t, p in held.items() if not p],
                message=a.message,
                issuer=a.requester,
                certified=a.certified,
                claimed_issuer=a.claimed_requester,
                past=a.at + a.duration <= now,
                problem=a.problem,
            )
        )
    return out


def calendar(a: AppointmentView, stamp: int | None = None) -> bytes:
    """One appointment as an iCalendar (RFC 5545) file: VCALENDAR with one VEVENT."""
    import icalendar

    who = a.issuer or f"{a.claimed_issuer} (non certifié)"
    lines = [a.message] if a.message else []
    if a.bring:
        lines.append("À apporter : " + ", ".join(a.bring))
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"{a.id}@coffre-fort")
    event.add("dtstamp", dt.datetime.fromtimestamp(stamp or int(time.time()), dt.UTC))
    event.add("dtstart", dt.datetime.fromtimestamp(a.at_epoch, dt.UTC))
    event.add("dtend", dt.datetime.fromtimestamp(a.at_epoch + a.duration, dt.UTC))
    event.add("summary", f"Rendez-vous : {who}")
    event.add("location", a.place)
    if lines:
        event.add("description", "\n".join(lines))
    cal.add_component(event)
    return bytes(cal.to_ical())


async def export_ics(ctx: Context, appointment_id: str, out: Path) -> Path:
    """Write appointment ``appointment_id`` to ``out`` as an iCalendar file (atomically)."""
    check_id(appointment_id, "appointment")
    found = {a.id: a for a in await list_appointments(ctx)}.get(appointment_id)
    if found is None:
        raise NotFound(f"no appointment {appointment_id}")
    data = calendar(found)
    if out.is_dir():
        raise UsageError(f"{out} is a folder: give a file name such as rendez-vous.ics")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LocalError(f"cannot write {out}: {exc.strerror}") from None
    return out
