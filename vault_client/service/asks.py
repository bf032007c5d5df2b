"""Citizens' asks (SPEC §Asks): an owner asks an administration for a document; the issuer
answers with a certified deposit linked to the ask.

The owner signs the ask with the account's identity key and seals it to the issuer ACCOUNT's
box key (its public identity, pinned on first use), and a copy to the owner's own box key (so
every device of the owner can list it): the server sees who asked whom and when, never the
document type nor the message. The issuer opens each ask and checks it under the asker's
pinned identity. Fulfilling one is a certified deposit (:func:`.issuer.deposit_bytes`) to the
asker with the asked type, under an id derived from the ask and the document (a rerun after a
failure posts the same deposit), then an ask reply, signed by the issuer key and sealed to the
asker, that names the deposit; the server records the link. The owner's client shows an ask
fulfilled only when that signed reply names the deposit the server links, and the deposit in
the inbox is that one: a server that links another deposit is caught (state ``forged``).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_core import asks
from vault_core.deposits import check_doc_type, open_deposit
from vault_core.encoding import b64u
from vault_core.errors import (
    AccessDenied,
    AlreadyExists,
    Conflict,
    FormatError,
    IntegrityError,
    NotFound,
    UsageError,
)

from ..api import Api, dec
from ..identity import check_id, contact, is_id
from ..profile import Profile
from .context import Context
from .inbox import owner_keys
from .issuer import deposit_bytes, issuer_material, read_document


@dataclass(frozen=True)
class SentAsk:
    """An ask this owner sent, opened from its own copy; ``deposit`` only once the issuer's
    signed reply names the deposit the server links."""

    id: str
    to: str | None
    type: str | None
    message: str | None
    created: str | None
    state: str  # open | fulfilled | forged
    deposit: str | None = None
    issuer: str | None = None  # the certified issuer of the reply
    in_inbox: bool | None = None  # the deposit still waits in the inbox ('vault inbox')
    problem: str | None = None


@dataclass(frozen=True)
class ReceivedAsk:
    """An ask this issuer account received, opened and checked under the asker's key."""

    id: str
    valid: bool
    from_: str | None = None
    type: str | None = None
    message: str | None = None
    created: str | None = None
    state: str | None = None  # open | fulfilled
    deposit: str | None = None
    problem: str | None = None


def _date(ts: Any) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if isinstance(ts, int) else None


async def ask(ctx: Context, to: str, doc_type: str, message: str = "") -> str:
    """Ask the administration ``to`` (an issuer account) for a document; the ask id."""
    if not check_doc_type(doc_type):
        raise UsageError("--type: a short name like birth-certificate (a-z, 0-9, -)")
    if len(message) > asks.MAX_MESSAGE:
        raise UsageError(f"--message: at most {asks.MAX_MESSAGE} characters")
    profile = ctx.account()
    handle = profile.handle
    if to == handle:
        raise UsageError("you cannot ask yourself: --to names an administration")
    sign_pk, sign_sk = profile.bundle.identity_sign
    own_box_pk = profile.bundle.identity_box[0]
    ask_id = os.urandom(16).hex()
    st = asks.AskStatement(ask_id, handle, sign_pk, to, doc_type, message, int(time.time()))
    async with ctx.api() as api:
        issuer = await contact(profile, api, to, ctx.warn)
        try:
            envelope, copy = (
                asks.build_ask(
                    statement=st,
                    owner_sign_sk=sign_sk,
                    recipient_box_pk=box_pk,
                    key=os.urandom(32),
                    ephemeral=os.urandom(32),
                    nonce=os.urandom(24),
                )
                for box_pk in (issuer.box_pk, own_box_pk)
            )
        except FormatError as exc:
            raise UsageError(exc.message) from None
        body = {"id": ask_id, "envelope": b64u(envelope), "copy": b64u(copy)}
        try:
            await api.post(f"/v1/asks/{to}", body)
        except AccessDenied:
            raise AccessDenied(
                f"{to} is not an administration: only an issuer account takes asks"
            ) from None
    return ask_id


def _open_own(item: dict[str, Any], profile: Profile) -> asks.AskStatement:
    """The owner's copy of an ask listed by the server, checked under its own key."""
    handle, sign_pk, box_sk = owner_keys(profile)
    st = asks.open_ask(item["id"], box_sk, dec(item["copy"]))
    asks.verify_ask(st, to=str(item.get("to")), sender=handle, sender_sign_pk=sign_pk,
                    sender_listed=str(item.get("from")))  # fmt: skip
    return st


async def sent(ctx: Context) -> list[SentAsk]:
    """This owner's asks and their state, each checked here (a fulfilment only from the
    issuer's signed reply naming the deposit the server links)."""
    profile = ctx.account()
    handle, sign_pk, box_sk = owner_keys(profile)
    trusted = profile.trusted_authorities()
    now = int(time.time())
    out: list[SentAsk] = []
    async with ctx.api() as api:
        listed = await api.get("/v1/asks/sent")
        for item in listed:
            if not is_id(item.get("id")):
                bad = "the server listed a malformed ask id"
                out.append(SentAsk(str(item.get("id"))[:80], None, None, None, None, "forged",
                                   problem=bad))  # fmt: skip
                continue
            try:
                st = _open_own(item, profile)
            except (IntegrityError, KeyError, TypeError):
                bad = "this ask failed verification (forged or damaged)"
                out.append(SentAsk(item["id"], item.get("to"), None, None, None, "forged",
                                   problem=bad))  # fmt: skip
                continue
            seen: dict[str, Any] = {"to": st.to, "type": st.doc_type, "message": st.message,
                    "created": _date(st.created)}  # fmt: skip
            done = item.get("fulfilment")
            if not done and item.get("state") == "open":
                out.append(SentAsk(st.ask_id, state="open", **seen))
                continue
            try:
                issuer, in_inbox = await _check_fulfilment(
                    api, st, done, box_sk, trusted, now, handle, sign_pk
                )
            except IntegrityError as exc:
                problem = exc.message or "the fulfilment of this ask failed verification"
                out.append(SentAsk(st.ask_id, state="forged", problem=problem, **seen))
                continue
            out.append(SentAsk(st.ask_id, state="fulfilled", deposit=done["deposit_id"],
                               issuer=issuer, in_inbox=in_inbox, **seen))  # fmt: skip
    return out


async def _check_fulfilment(
    api: Api,
    st: asks.AskStatement,
    done: Any,
    box_sk: bytes,
    trusted: dict[bytes, str],
    now: int,
    handle: str,
    sign_pk: bytes,
) -> tuple[str, bool]:
    """(certified issuer, whether the deposit still waits in the inbox); IntegrityError
    unless the issuer's signed reply names the deposit the server links, and that deposit,
    while in the inbox, is the one the reply describes."""
    if not isinstance(done, dict) or not is_id(done.get("deposit_id")) or not done.get("reply"):
        raise IntegrityError("the server says this ask is fulfilled, without the issuer's reply")
    deposit_id = done["deposit_id"]
    try:
        reply, cert = asks.open_reply(st.ask_id, box_sk, dec(done["reply"]))
        issuer = asks.verify_reply(reply, cert, ask=st, deposit_id=deposit_id, trusted=trusted,
                                   now=now, owner=handle, owner_sign_pk=sign_pk)  # fmt: skip
    except (IntegrityError, TypeError, ValueError):
        raise IntegrityError(
            "the server links a deposit to this ask that the issuer's reply does not name"
        ) from None
    try:
        full = await api.get(f"/v1/inbox/{deposit_id}")
    except NotFound:
        return issuer, False  # accepted or refused since: its record carries its proof
    try:
        proof, _ = open_deposit(deposit_id, box_sk, dec(full["envelope"]))
        s = proof.statement
        asks.check_reply_deposit(reply, s.issuer_pk, s.doc_sha256, s.doc_type, deposit_id)
    except (IntegrityError, KeyError, TypeError):
        raise IntegrityError(
            "the deposit linked to this ask is not the one the issuer's reply names"
        ) from None
    return issuer, True


# -- the issuer's side --------------------------------------------------------------------


async def _received(ctx: Context, api: Api) -> list[tuple[ReceivedAsk, asks.AskStatement | None]]:
    profile = ctx.account()
    handle, _, box_sk = owner_keys(profile)
    out: list[tuple[ReceivedAsk, asks.AskStatement | None]] = []
    for item in await api.get("/v1/asks/received"):
        if not is_id(item.get("id")):
            bad = "the server listed a malformed ask id"
            out.append((ReceivedAsk(str(item.get("id"))[:80], False, problem=bad), None))
            continue
        listed = {"from_": item.get("from"), "state": item.get("state"),
                  "deposit": (item.get("fulfilment") or {}).get("deposit_id")}  # fmt: skip
        try:
            st = asks.open_ask(item["id"], box_sk, dec(item["envelope"]))
            asker = await contact(profile, api, st.from_, ctx.warn)
            asks.verify_ask(st, to=handle, sender=asker.handle, sender_sign_pk=asker.sign_pk,
                            sender_listed=str(item.get("from")))  # fmt: skip
        except (IntegrityError, KeyError, TypeError, NotFound):
            bad = "this ask failed verification (forged or damaged)"
            out.append((ReceivedAsk(item["id"], False, problem=bad, **listed), None))
            continue
        view = ReceivedAsk(st.ask_id, True, type=st.doc_type, message=st.message,
                           created=_date(st.created), **listed)  # fmt: skip
        out.append((view, st))
    return out


async def received(ctx: Context) -> list[ReceivedAsk]:
    """The asks this issuer account received, each opened and checked here."""
    issuer_material(ctx)
    async with ctx.api() as api:
        return [view for view, _ in await _received(ctx, api)]


async def fulfil(
    ctx: Context, ask_id: str, file: Path, title: str | None = None, filename: str | None = None
) -> str:
    """Answer ask ``ask_id`` with ``file``: a certified deposit of the asked type to the asker,
    linked to the ask by a signed reply; the deposit id. The document's name is ``filename``
    when given (an upload kept under a temporary name), else the file's own."""
    check_id(ask_id, "ask")
    profile, sk, cert = issuer_material(ctx)
    seed = profile.secrets.issuer_seed
    assert seed is not None  # issuer_material checked it
    document = read_document(file)
    async with ctx.api() as api:
        found = {view.id: (view, st) for view, st in await _received(ctx, api)}.get(ask_id)
        if found is None:
            raise NotFound(f"no ask {ask_id} ('vault issuer asks')")
        view, st = found
        if st is None:
            raise IntegrityError(f"ask {ask_id} failed verification; nothing deposited")
        if view.state == "fulfilled":
            raise Conflict(f"ask {ask_id} is already fulfilled (deposit {view.deposit})")
        sha = hashlib.sha256(document).digest()
        deposit_id = asks.fulfil_deposit_id(seed, ask_id, sha)
        try:
            name = filename or file.name
            await deposit_bytes(ctx, api, profile, sk, cert, st.from_, st.doc_type, document,
                                title or Path(name).stem, name, deposit_id)  # fmt: skip
        except AlreadyExists:
            pass  # posted by an earlier run that stopped before the link: link it now
        asker = await contact(profile, api, st.from_, ctx.warn)
        reply = asks.AskReply(ask_id, deposit_id, sha, st.doc_type, profile.handle, st.from_,
                              asker.sign_pk, cert.issuer_pk, int(time.time()))  # fmt: skip
        envelope = asks.build_reply(
            reply=reply,
            issuer_sk=sk,
            cert=cert,
            recipient_box_pk=asker.box_pk,
            key=os.urandom(32),
            ephemeral=os.urandom(32),
            nonce=os.urandom(24),
        )
        try:
            await api.post(f"/v1/asks/{ask_id}/fulfil",
                           {"deposit_id": deposit_id, "reply": b64u(envelope)})  # fmt: skip
        except NotFound:
            raise NotFound(
                f"the deposit for ask {ask_id} is no longer in {st.from_}'s inbox; not linked"
            ) from None
    return deposit_id
