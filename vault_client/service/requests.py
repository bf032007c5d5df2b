"""Requests for documents and reminders, on the owner's side.

A request is an envelope sealed to the owner and signed by the requester's issuer key; it is
shown as certified only when its chain verifies under an authority pinned here, and only a
certified request addressed to this owner can be answered (an answer grants the requester's
account access to the chosen documents). Reminders follow the owner's cadence alone
(:mod:`vault_core.reminders`): how long before the due date they start, at most how often, or
never; the time of each reminder is kept in the profile so a restart does not nag again.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from vault_core.appointments import open_appointment, verify_appointment
from vault_core.checklists import AnswerStatement, build_answer, item_states, open_answer
from vault_core.deposits import open_request, verify_request
from vault_core.encoding import b64u
from vault_core.errors import FormatError, IntegrityError, NotFound, UsageError, VaultError
from vault_core.reminders import (
    PendingRequest,
    ReminderSettings,
    due_reminders,
    standing_reminders,
)

from ..api import dec
from ..identity import check_id, is_id
from ..profile import Profile
from . import shares
from .context import Context
from .inbox import owner_keys


@dataclass(frozen=True)
class Request:
    id: str
    valid: bool
    from_: str | None = None
    due: str | None = None
    state: str | None = None
    due_at: int | None = None
    problem: str | None = None
    requester: str | None = None  # the certified requester; None when not certified
    certified: bool = False
    claimed_requester: str | None = None
    account: str | None = None  # the requester's account (an answer is granted to it)
    needs: list[str] | None = None
    message: str | None = None
    grant: str | None = None  # the grant that answered it
    # each needed type, provided or missing (from the owner's signed answer), in order
    items: list[dict[str, str]] | None = None
    given: dict[str, list[str]] | None = None  # type -> the documents given for it so far


@dataclass(frozen=True)
class Appointment:
    """An appointment an issuer booked (it travels as a request: SPEC §Appointments)."""

    id: str
    at: int  # unix seconds, the start
    duration: int  # seconds
    place: str
    bring: list[str]
    message: str
    requester: str | None  # the certified issuer's name; None when not certified
    certified: bool
    claimed_requester: str | None
    account: str  # the issuer's account handle
    created: int
    problem: str | None = None  # the server's due time differs from the signed start


@dataclass(frozen=True)
class Notice:
    """One line of ``vault status`` beyond the sync: an inbox item, a request, a reminder."""

    id: str
    kind: str  # inbox | request | appointment | reminder
    text: str
    due: str | None = None
    state: str | None = None
    overdue: bool | None = None


def _date(ts: Any) -> str | None:
    if not isinstance(ts, int):
        return None
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


async def list_requests(ctx: Context) -> list[Request]:
    """Requests for documents, each opened and checked here."""
    return (await received(ctx))[0]


async def received(ctx: Context) -> tuple[list[Request], list[Appointment]]:
    """What issuers sent this account on the requests channel, each opened and checked here:
    document requests, and appointments (an envelope that opens as neither is listed as a
    request that failed verification)."""
    profile = ctx.account()
    handle, sign_pk, box_sk = owner_keys(profile)
    trusted = profile.trusted_authorities()
    now = int(time.time())
    out: list[Request] = []
    booked: list[Appointment] = []
    async with ctx.api() as api:
        listed = await api.get("/v1/requests")
    for item in listed:
        if not is_id(item.get("id")):
            bad = "the server listed a malformed request id"
            out.append(Request(str(item.get("id"))[:80], False, problem=bad))
            continue
        seen: dict[str, Any] = {
            "from_": item.get("from"),
            "due": _date(item.get("due_at")),
            "state": item.get("state"),
            "due_at": item.get("due_at"),
        }
        envelope = dec(item["envelope"])
        try:
            st, cert = open_request(item["id"], box_sk, envelope)
        except IntegrityError:
            appointment = _appointment(item, envelope, box_sk, trusted, now, handle, sign_pk)
            if appointment is not None:
                booked.append(appointment)
            else:
                out.append(
                    Request(item["id"], False, problem="the request failed verification", **seen)
                )
            continue
        try:
            requester = verify_request(
                st, cert, trusted=trusted, now=now, owner=handle, owner_sign_pk=sign_pk
            )
        except IntegrityError:
            requester = None
        problem: str | None = None
        if st.due != item.get("due_at"):
            problem = "the server's due date differs from the signed one"
        answer = item.get("answer") or {}
        seen.update(due=_date(st.due), due_at=st.due)
        signed, answer_problem = _own_answer(item["id"], answer, box_sk, sign_pk, handle)
        problem = problem or answer_problem
        if signed is not None:
            seen["state"] = checklist_state(list(st.needs), signed, st.due, now)
        out.append(
            Request(
                item["id"],
                True,
                problem=problem,
                requester=requester,
                certified=requester is not None,
                claimed_requester=None if requester else cert.name,
                account=st.requester,
                needs=list(st.needs),
                message=st.message,
                grant=answer.get("grant_id"),
                items=item_states(list(st.needs), signed),
                given={t: list(n) for t, n in signed.items.items()} if signed else None,
                **seen,
            )
        )
    return out, sorted(booked, key=lambda a: (a.at, a.id))


def checklist_state(needs: list[str], signed: AnswerStatement, due: int, now: int) -> str:
    """The state of a request the owner has answered (a signed answer): ``answered`` when
    every item is provided, else ``overdue`` past the due date, else ``partial``; the owner's
    and the issuer's sides say the same."""
    if all(signed.items.get(t) for t in needs):
        return "answered"
    return "overdue" if now > due else "partial"


def _own_answer(
    request_id: str, answer: dict[str, Any], box_sk: bytes, sign_pk: bytes, handle: str = ""
) -> tuple[AnswerStatement | None, str | None]:
    """This owner's signed answer to a request (None before any, or for an answer made
    without one), and a problem when what the server shows is not what this account signed."""
    envelope = answer.get("envelope")
    if not isinstance(envelope, str):
        return None, None
    try:
        st = open_answer(request_id, "owner", box_sk, dec(envelope), sign_pk)
    except (IntegrityError, FormatError):
        try:  # an answer by a helper under a mandate this account signed (SPEC §Mandates)
            from vault_core.delegated import open_helper_answer

            st, _ = open_helper_answer(request_id, "owner", box_sk, dec(envelope), handle, sign_pk)
        except (IntegrityError, FormatError):
            return None, "the answer the server shows is not one this account signed"
    if st.grant_id != answer.get("grant_id"):
        return None, "the answer the server shows is not one this account signed"
    return st, None


def _appointment(
    item: dict[str, Any],
    envelope: bytes,
    box_sk: bytes,
    trusted: dict[bytes, str],
    now: int,
    handle: str,
    sign_pk: bytes,
) -> Appointment | None:
    """The appointment in ``envelope``, checked (None when it does not open as one)."""
    try:
        st, cert = open_appointment(item["id"], box_sk, envelope)
    except IntegrityError:
        return None
    try:
        requester: str | None = verify_appointment(
            st, cert, trusted=trusted, now=now, owner=handle, owner_sign_pk=sign_pk
        )
    except IntegrityError:
        requester = None
    problem = None
    if st.at != item.get("due_at"):
        problem = "the server's time differs from the signed one"
    return Appointment(
        id=st.appointment_id,
        at=st.at,
        duration=st.duration,
        place=st.place,
        bring=list(st.bring),
        message=st.message,
        requester=requester,
        certified=requester is not None,
        claimed_requester=None if requester else cert.name,
        account=st.requester,
        created=st.created,
        problem=problem,
    )


async def answer(
    ctx: Context,
    request_id: str,
    paths: list[str],
    expires_in: int,
    item: str | None = None,
) -> str:
    """Answer a request, item by item if need be: ``paths`` (vault paths) answer ``item``, or
    each the item of its document type; a document of no known type answers every item still
    missing. The requester's
    account is granted every document given so far (a new grant replaces the last one) and
    the owner's signed answer says which documents answer which item; returns the grant id."""
    import os

    from ..identity import contact

    check_id(request_id, "request")
    req = {r.id: r for r in await list_requests(ctx)}.get(request_id)
    if req is None:
        raise NotFound(f"no request {request_id}")
    if not req.valid:
        raise IntegrityError(f"request {request_id} failed verification; not answering")
    if not req.certified or req.account is None:
        # a request that is not certified by a trusted authority, or is addressed to someone
        # else, could come from anyone (even the server): never grant access in answer to it
        raise IntegrityError(
            f"request {request_id} is not certified by an authority you trust (or not "
            "addressed to you); not answering it"
        )
    needs = list(req.needs or [])
    given = {t: set(n) for t, n in (req.given or {}).items()}
    types = doc_types(ctx)
    missing = [t for t in needs if not given.get(t)]
    if item is not None and item not in needs:
        raise UsageError(f"--for {item}: this request needs {', '.join(needs)}")
    for path in paths:
        if item is not None:
            targets = [item]
        elif types.get(path) in needs:
            targets = [str(types[path])]
        else:  # a document of no known type answers what is still missing (or all of it)
            targets = missing or needs
        for target in targets:
            given.setdefault(target, set()).add(path)
    everything = sorted({p for names in given.values() for p in names})
    created = await shares.create(ctx, everything, expires_in, to=req.account)
    profile = ctx.account()
    handle, sign_pk, _ = owner_keys(profile)
    statement = AnswerStatement(
        request_id=request_id,
        owner=handle,
        owner_sign_pk=sign_pk,
        requester=req.account,
        grant_id=created.grant_id,
        items={t: tuple(sorted(n)) for t, n in given.items()},
        answered=int(time.time()),
    )
    async with ctx.api() as api:
        requester = await contact(profile, api, req.account, ctx.warn)
        envelope = build_answer(
            statement=statement,
            owner_sign_sk=profile.bundle.identity_sign[1],
            requester_box_pk=requester.box_pk,
            owner_box_pk=profile.bundle.identity_box[0],
            keys=(os.urandom(32), os.urandom(32)),
            ephemerals=(os.urandom(32), os.urandom(32)),
            nonces=(os.urandom(24), os.urandom(24)),
        )
        await api.post(
            f"/v1/requests/{request_id}/answer",
            {"grant_id": created.grant_id, "envelope": b64u(envelope)},
        )
    if req.grant and req.grant != created.grant_id:
        # the last answer's grant: the new one covers all it did and more
        with contextlib.suppress(VaultError):
            await shares.revoke(ctx, req.grant)
    return created.grant_id


def doc_types(ctx: Context) -> dict[str, str]:
    """The document type of each live file of the vault that has one (a deposit accepted)."""
    from ..state import State

    state = State(ctx.profile.home / "state.db")
    try:
        heads = state.heads()
    finally:
        state.close()
    return {p: r.doc_type for p, r in heads.items() if not r.deleted and r.doc_type}


# -- reminders ----------------------------------------------------------------------------------


def reminder_settings(profile: Profile) -> ReminderSettings:
    cfg = profile.config.get("reminders", {})
    return ReminderSettings(
        enabled=cfg.get("enabled", True),
        before=cfg.get("before", ReminderSettings.before),
        every=cfg.get("every", ReminderSettings.every),
    )


def set_reminders(
    ctx: Context,
    enabled: bool | None = None,
    before: int | None = None,
    every: int | None = None,
) -> ReminderSettings:
    """Change how early (``before``, seconds) and how often (``every``) requests are
    announced, or turn reminders off/on; the settings now in force."""
    profile = ctx.profile
    profile.require_account()
    cfg = dict(profile.config.get("reminders", {}))
    if enabled is not None:
        cfg["enabled"] = enabled
    if before is not None:
        cfg["before"] = before
    if every is not None:
        cfg["every"] = every
    profile.config["reminders"] = cfg
    try:
        settings = reminder_settings(profile)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    profile.save_config()
    return settings


def reminders_due(
    profile: Profile,
    listed: list[Request],
    now: int,
    record: bool,
    standing: bool = False,
    booked: list[Appointment] | None = None,
) -> list[Notice]:
    """The reminders due now under the owner's settings, for requests and for appointments
    (``booked``: none after their start); ``record`` remembers them (so the next one waits
    for the owner's interval). ``standing``: instead, the ones already shown in their current
    interval and still pending (never recorded again)."""
    pending = [
        PendingRequest(r.id, r.due_at, r.state == "answered")
        for r in listed
        if isinstance(r.due_at, int)
    ]
    pending += [PendingRequest(a.id, a.at, now >= a.at) for a in booked or []]
    last = profile.config.get("reminded", {})
    pick = standing_reminders if standing else due_reminders
    due = pick(pending, now, reminder_settings(profile), last)
    if record and due and not standing:
        last.update({r.request_id: now for r in due})
        profile.config["reminded"] = last
        profile.save_config()
    by_id = {r.id: r for r in listed}
    appointments = {a.id: a for a in booked or []}
    out = []
    for rem in due:
        if rem.request_id in appointments:
            a = appointments[rem.request_id]
            who = a.requester or f"{a.claimed_requester or a.account} (not certified)"
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.at))
            text = f"reminder: appointment with {who} on {when} at {a.place}"
            if a.bring:
                text += f" (bring {', '.join(a.bring)})"
            out.append(Notice(a.id, "reminder", text, due=when, overdue=False))
            continue
        r = by_id[rem.request_id]
        who = r.requester or f"{r.claimed_requester or r.from_} (not certified)"
        when = "overdue since" if rem.overdue else "due"
        needs = ", ".join(r.needs or []) or "documents"
        text = (
            f"reminder: {who} asks for {needs}, {when} {r.due} "
            f"('vault requests answer {rem.request_id} PATH...')"
        )
        out.append(Notice(rem.request_id, "reminder", text, overdue=rem.overdue))
    return out


async def reminders(ctx: Context) -> list[Notice]:
    """The reminders due now (each is recorded: it will not come back before the owner's
    interval)."""
    listed, booked = await received(ctx)
    return reminders_due(ctx.account(), listed, int(time.time()), record=True, booked=booked)


async def standing(ctx: Context) -> list[Notice]:
    """The reminders shown within their current interval and still pending: what a face that
    starts again (the app after a restart) shows once more; nothing is recorded."""
    listed, booked = await received(ctx)
    now = int(time.time())
    return reminders_due(ctx.account(), listed, now, record=False, standing=True, booked=booked)


async def notices(ctx: Context) -> list[Notice]:
    """Inbox items, open requests, coming appointments and due reminders, for
    ``vault status``."""
    profile = ctx.account()
    items: list[Notice] = []
    async with ctx.api() as api:
        try:
            listed_inbox = await api.get("/v1/inbox")
        except Exception:  # noqa: BLE001 — status stays useful when this part fails
            listed_inbox = []
    for it in listed_inbox:
        text = f"inbox: deposit {it['id']} from {it.get('from')} ('vault inbox' to review)"
        items.append(Notice(it["id"], "inbox", text))
    listed, booked = await received(ctx)
    now = int(time.time())
    for r in listed:
        if r.state != "answered":
            text = f"request {r.id}: {', '.join(r.needs or [])} due {r.due} ({r.state})"
            items.append(Notice(r.id, "request", text, due=r.due, state=r.state))
    for a in booked:
        if a.at + a.duration > now:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.at))
            text = f"appointment {a.id}: {when} at {a.place} ('vault appointments')"
            items.append(Notice(a.id, "appointment", text, due=when))
    items.extend(reminders_due(profile, listed, now, record=True, booked=booked))
    return items


def suggestions(ctx: Context, needs: list[str]) -> list[str]:
    """Vault paths of live documents whose type is one of ``needs`` (an answer's preselection)."""
    ctx.profile.require_account()
    wanted = set(needs)
    return sorted(p for p, t in doc_types(ctx).items() if t in wanted)
