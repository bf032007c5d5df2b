"""A helper acting for an owner under his mandate, with her own account (``vault act-for``;
SPEC §Mandates).

Theory of operation: the helper's client never holds the owner's keys. It finds the owner's
mandate in force among those the server lists for her and opens her sealed copy, checked under
the owner's key she pinned (trust on first use), and refuses (AccessDenied, exit 5) anything
the statement does not allow before anything is sent: no mandate, revoked, expired by her
clock, another scope, a path outside it. The server refuses the same by its own clock and the
owner's clients refuse her entries outside the mandate (exit 4), so a modified client gains
nothing.

* **requests** and **inbox**: what the owner's devices forwarded to her, each opened with her
  own box key (the envelope's key re-sealed to her) and checked: the issuer's signature, the
  owner as recipient, the owner's signature on the forward.
* **answer**: she grants the requester, from her own account, the documents she can read
  through her read grant (their file keys are in its payload), signs the owner's answer
  statement with the mandate beside it, appends her ``answer`` entry to the owner's log, then
  posts the grant and the answer; the server keeps the grant in the owner's account.
* **upload** and **accept**: she encrypts the document under fresh random keys (a file key,
  and chunk keys of her own: no deduplication with the owner's vault), uploads the blobs into
  his account and appends her entry with the file record, sealed to him and signed by her.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_core import chunks, grants
from vault_core import mandates as md
from vault_core.checklists import AnswerStatement
from vault_core.delegated import build_helper_answer, open_forward
from vault_core.deposits import open_deposit, open_request
from vault_core.encoding import b64u
from vault_core.errors import (
    AccessDenied,
    Conflict,
    FormatError,
    IntegrityError,
    LocalError,
    NotFound,
    UsageError,
    VaultError,
)
from vault_core.log import FileRecord, HelperRecord, entry_hash, genesis_hash, make_helper_entry
from vault_core.manifest import MAX_INLINE, Manifest, open_manifest, seal_manifest
from vault_core.paths import check_path

from ..api import dec
from ..identity import check_id, contact
from .context import Context
from .mandates import HeldCopy, received_copies, until_text

if TYPE_CHECKING:
    from ..api import Api

MAX_ROUNDS = 20
MAX_UPLOAD = 64 * 1024 * 1024  # what a helper uploads at once (a deposit's size)


@dataclass(frozen=True)
class ForwardedRequest:
    id: str
    valid: bool
    requester: str | None = None  # certified, by the owner's client
    account: str | None = None  # the requester's account (an answer is granted to it)
    needs: list[str] | None = None
    message: str | None = None
    due: str | None = None
    state: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class ForwardedDeposit:
    id: str
    valid: bool
    issuer: str | None = None  # certified, by the owner's client
    from_: str | None = None
    type: str | None = None
    title: str | None = None
    filename: str | None = None
    size: int | None = None
    problem: str | None = None


async def _mandate_from(ctx: Context, api: Api, owner: str, kind: str | None = None) -> HeldCopy:
    """The owner's mandate in force for this account (covering ``kind`` when given); else
    AccessDenied with the reason (none, revoked, expired, another scope)."""
    mine = [(row, h) for row, h in await received_copies(ctx, api) if row.get("owner") == owner]
    if not mine:
        raise AccessDenied(f"{owner} has given you no mandate")
    now = int(time.time())
    usable = [h for _, h in mine if h is not None]
    if not usable:
        raise IntegrityError(f"the mandate from {owner} the server shows is not one they signed")
    live = [h for h in usable if h.state == "active" and h.terms.live(now)]
    if not live:
        last = max(usable, key=lambda h: h.terms.created)
        mandate_id, until = last.terms.mandate_id, until_text(last.terms.expires)
        if last.state == "revoked":
            raise AccessDenied(f"{owner} revoked your mandate {mandate_id}")
        raise AccessDenied(f"your mandate from {owner} expired on {until}")
    if kind is not None:
        covering = [h for h in live if kind in md.scope_kinds(h.terms.scopes)]
        if not covering:
            raise AccessDenied(f"your mandate from {owner} does not cover {kind}")
        live = covering
    return max(live, key=lambda h: h.terms.created)


# -- her entries in the owner's log ------------------------------------------------------------


async def _append(
    api: Api, ctx: Context, m: md.Mandate, record: HelperRecord, refs: list[str]
) -> None:
    """Chain her entry to the head the server shows (she cannot verify the owner's log: a lie
    only makes her entry fail his chain) and append it by compare-and-swap."""
    sign_sk = ctx.profile.bundle.identity_sign[1]
    for _ in range(MAX_ROUNDS):
        head = await api.get(f"/v1/mandates/{m.mandate_id}/log/head")
        try:
            seq = int(head["seq"])
            prev = entry_hash(dec(head["entry"])) if head.get("entry") else genesis_hash(m.owner)
        except (KeyError, TypeError, ValueError):
            raise IntegrityError("the server sent a malformed log head") from None
        now_ms = int(time.time() * 1000)
        if now_ms >= m.expires * 1000:
            owner, until = m.owner, until_text(m.expires)
            raise AccessDenied(f"your mandate from {owner} expired on {until}")
        entry = make_helper_entry(
            handle=m.owner, owner_box_pk=m.owner_box_pk, helper_sign_sk=sign_sk, seq=seq + 1,
            prev=prev, time=now_ms, record=record, ephemeral=os.urandom(32),
        )  # fmt: skip
        body = {
            "action": record.action,
            "expected_head": seq,
            "entry": b64u(entry.encode()),
            "refs": refs,
        }
        try:
            await api.post(f"/v1/mandates/{m.mandate_id}/log", body)
            return
        except Conflict:
            continue
    raise Conflict("the owner's log kept moving; try again")


async def _store(api: Api, m: md.Mandate, path: str, data: bytes, **meta: Any) -> FileRecord:
    """Encrypt ``data`` as version 1 of a new file (fresh random keys), upload its blobs into
    the owner's account through the mandate; the file record (with ``refs``)."""
    if len(data) > MAX_UPLOAD:
        raise UsageError(f"{path} is larger than 64 MiB")
    file_id = os.urandom(16)
    file_key = os.urandom(32)
    blobs: list[tuple[str, bytes]] = []
    if 0 < len(data) <= MAX_INLINE:
        manifest = Manifest.inline(file_id, 1, data)
    else:
        id_key, key_key = os.urandom(32), os.urandom(32)
        refs = []
        for at in range(0, len(data), chunks.MAX_CHUNK):
            piece = data[at : at + chunks.MAX_CHUNK]
            ref = chunks.chunk_ref(id_key, key_key, piece)
            refs.append(ref)
            blobs.append((ref.id, chunks.seal_chunk(ref, piece, os.urandom(24))))
        manifest = Manifest.build(file_id, 1, refs)
    manifest_id, manifest_blob = seal_manifest(manifest, file_key, os.urandom(24))
    blobs.append((manifest_id, manifest_blob))
    for blob_id, blob in blobs:
        await api.request("PUT", f"/v1/mandates/{m.mandate_id}/blobs/{blob_id}", data=blob)
    return FileRecord(
        file_id=file_id.hex(),
        version=1,
        path=path,
        deleted=False,
        size=len(data),
        mtime=meta.pop("mtime", int(time.time() * 1000)),
        content=manifest.content,
        manifest=manifest_id,
        key=file_key,
        refs=tuple(b for b, _ in blobs),
        **meta,
    )


def _vault_path(text: str, what: str) -> str:
    try:
        return check_path(text.strip("/"))
    except FormatError:
        raise UsageError(f"{what} {text!r} is not a path of the vault") from None


async def upload(ctx: Context, owner: str, local: Path, to_dir: str) -> str:
    """Add the local file ``local`` to the owner's vault in ``to_dir`` (inside an
    ``upload:`` scope of her mandate); its vault path."""
    folder = _vault_path(to_dir, "--to")
    path = _vault_path(f"{folder}/{local.name}", "the file name")
    try:
        data = local.read_bytes()
        mtime = int(local.stat().st_mtime * 1000)
    except OSError as exc:
        raise LocalError(f"cannot read {local}: {exc.strerror}") from None
    ctx.account()
    async with ctx.api() as api:
        held = await _mandate_from(ctx, api, owner, "upload")
        m = held.terms
        if not md.allows(m.scopes, "upload", path):
            raise AccessDenied(f"{folder} is outside your mandate from {owner}")
        rec = await _store(api, m, path, data, mtime=max(0, mtime))
        await _append(api, ctx, m, HelperRecord(m.mandate_id, "upload", {}, rec), list(rec.refs))
    return path


# -- requests -----------------------------------------------------------------------------------


async def requests(ctx: Context, owner: str) -> list[ForwardedRequest]:
    """The owner's requests his devices forwarded to her, each opened and checked here."""
    ctx.account()
    async with ctx.api() as api:
        held = await _mandate_from(ctx, api, owner, "requests")
        return await _requests(ctx, api, held)


async def _requests(ctx: Context, api: Api, held: HeldCopy) -> list[ForwardedRequest]:
    m = held.terms
    box_sk = ctx.profile.bundle.identity_box[1]
    out = []
    for item in await api.get(f"/v1/mandates/{m.mandate_id}/requests"):
        rid = str(item.get("id"))
        try:
            check_id(rid, "request")
            envelope = dec(item["envelope"])
            spliced, certified = open_forward(
                dec(item["forward"]), m.owner_sign_pk, m.mandate_id, "request", rid, envelope
            )
            st, _ = open_request(rid, box_sk, spliced)
            if st.to != m.owner or st.to_sign_pk != m.owner_sign_pk:
                raise IntegrityError()
        except (IntegrityError, UsageError, KeyError, TypeError):
            bad = "the request failed verification (forged, or not forwarded by its owner)"
            out.append(ForwardedRequest(rid[:80], False, problem=bad))
            continue
        due = time.strftime("%Y-%m-%d", time.gmtime(st.due))
        out.append(
            ForwardedRequest(
                id=rid,
                valid=True,
                requester=certified,
                account=st.requester,
                needs=list(st.needs),
                message=st.message,
                due=due,
                state=str(item.get("state")),
            )
        )
    return out


def _full_names(payload: grants.GrantPayload) -> dict[str, grants.GrantItem]:
    """Vault path -> item of a read grant (an item's name is relative to its scope's parent)."""
    out = {}
    for item in payload.items:
        for s in payload.scope:
            parent = s.rsplit("/", 1)[0] + "/" if "/" in s else ""
            full = parent + item.name
            if md.inside(full, s):
                out[full] = item
                break
    return out


async def readable(ctx: Context, owner: str) -> list[str]:
    """The owner's vault paths she can read through her mandate (what she may answer a request
    with), from her read grant's payload, checked as :func:`answer` checks it."""
    from .redeem import _open_account_grant

    ctx.account()
    async with ctx.api() as api:
        held = await _mandate_from(ctx, api, owner, "read")
        if held.terms.grant_id is None:
            raise AccessDenied(f"your mandate from {owner} does not cover read")
        opened = await _open_account_grant(ctx, api, held.terms.grant_id)
    return sorted(p for p in _full_names(opened.payload) if md.allows(held.terms.scopes, "read", p))


async def answer(
    ctx: Context, owner: str, request_id: str, paths: list[str], expires_in: int
) -> str:
    """Answer the owner's request ``request_id`` with documents she can read through her
    mandate (vault paths of the owner's); the id of the grant given to the requester."""
    from .redeem import _open_account_grant

    check_id(request_id, "request")
    wanted = [_vault_path(p, "document") for p in paths]
    if not wanted:
        raise UsageError("name at least one document")
    profile = ctx.account()
    b = profile.bundle
    async with ctx.api() as api:
        held = await _mandate_from(ctx, api, owner, "requests")
        m = held.terms
        req = {r.id: r for r in await _requests(ctx, api, held)}.get(request_id)
        if req is None:
            raise NotFound(f"no request {request_id} forwarded to you by {owner}")
        if not req.valid or req.account is None:
            raise IntegrityError(f"request {request_id} failed verification; not answering")
        if req.requester is None:
            raise IntegrityError(
                f"request {request_id} is not certified by an authority {owner} trusts; not "
                "answering it"
            )
        for path in wanted:
            if not md.allows(m.scopes, "read", path):
                raise AccessDenied(f"{path} is outside your mandate from {owner}")
        if m.grant_id is None:
            raise AccessDenied(f"your mandate from {owner} does not cover read")
        opened = await _open_account_grant(ctx, api, m.grant_id)
        readable = _full_names(opened.payload)
        items, blobs = [], set()
        for path in wanted:
            item = readable.get(path)
            if item is None:
                raise NotFound(f"{path} is not among the documents {owner} lets you read")
            blob = await api.blob(item.manifest, auth=opened.auth, grant=m.grant_id)
            try:
                manifest = open_manifest(
                    blob, item.manifest, item.key, bytes.fromhex(item.file_id), item.version
                )
            except (IntegrityError, ValueError):
                raise IntegrityError(f"{path}: manifest failed verification") from None
            blobs.add(item.manifest)
            blobs.update(c.id for c in manifest.chunks)
            items.append(dataclasses.replace(item, name=path))
        requester = await contact(profile, api, req.account, ctx.warn)
        gid = os.urandom(16).hex()
        now = int(time.time())
        if now >= m.expires:
            until = until_text(m.expires)
            raise AccessDenied(f"your mandate from {owner} expired on {until}")
        sign_pk, sign_sk = b.identity_sign
        header = grants.GrantHeader(
            grant_id=gid, owner=profile.handle, owner_sign_pk=sign_pk, kind="account",
            to=req.account, to_box_pk=requester.box_pk, expires=now + expires_in, max_uses=None,
            password=False, created=int(time.time() * 1000),
        )  # fmt: skip
        key = os.urandom(32)
        payload = grants.GrantPayload(gid, 1, tuple(wanted), tuple(items))
        sealed = grants.seal_payload(header, payload, key, sign_sk, os.urandom(24))
        needs = req.needs or []
        given: dict[str, set[str]] = {}
        for p, item in zip(wanted, items, strict=True):
            for t in [item.doc_type] if item.doc_type in needs else needs:
                given.setdefault(str(t), set()).add(p)
        statement = AnswerStatement(
            request_id=request_id, owner=owner, owner_sign_pk=m.owner_sign_pk,
            requester=req.account, grant_id=gid,
            items={t: tuple(sorted(n)) for t, n in given.items()}, answered=now,
        )  # fmt: skip
        envelope = build_helper_answer(
            statement=statement, mandate=m.encode(), mandate_sig=held.sig, helper_sign_sk=sign_sk,
            requester_box_pk=requester.box_pk, owner_box_pk=m.owner_box_pk,
            keys=(os.urandom(32), os.urandom(32)), ephemerals=(os.urandom(32), os.urandom(32)),
            nonces=(os.urandom(24), os.urandom(24)),
        )  # fmt: skip
        detail = {
            "documents": sorted(wanted),
            "grant": gid,
            "request": request_id,
            "requester": req.account,
        }
        # her signed entry first: the owner's log says what she did before it takes effect
        await _append(api, ctx, m, HelperRecord(m.mandate_id, "answer", detail), [])
        await api.post(
            f"/v1/mandates/{m.mandate_id}/answer",
            {
                "request": request_id,
                "grant": {
                    "id": gid,
                    "expires_at": header.expires,
                    "header": b64u(header.encode()),
                    "payload": b64u(sealed),
                    "sealed_key": b64u(
                        grants.seal_grant_key(requester.box_pk, key, gid, os.urandom(32))
                    ),
                    "blobs": sorted(blobs),
                },
                "envelope": b64u(envelope),
            },
        )
    return gid


# -- the inbox ---------------------------------------------------------------------------------


async def inbox(ctx: Context, owner: str) -> list[ForwardedDeposit]:
    """The owner's deposits his devices forwarded to her, each opened and checked here."""
    ctx.account()
    async with ctx.api() as api:
        held = await _mandate_from(ctx, api, owner, "inbox")
        return [d for d, _, _ in await _deposits(ctx, api, held)]


async def _deposits(
    ctx: Context, api: Api, held: HeldCopy
) -> list[tuple[ForwardedDeposit, Any, bytes]]:
    m = held.terms
    box_sk = ctx.profile.bundle.identity_box[1]
    out: list[tuple[ForwardedDeposit, Any, bytes]] = []
    for item in await api.get(f"/v1/mandates/{m.mandate_id}/inbox"):
        did = str(item.get("id"))
        try:
            check_id(did, "deposit")
            envelope = dec(item["envelope"])
            spliced, certified = open_forward(
                dec(item["forward"]), m.owner_sign_pk, m.mandate_id, "deposit", did, envelope
            )
            proof, document = open_deposit(did, box_sk, spliced)
            st = proof.statement
            if st.to != m.owner or st.to_sign_pk != m.owner_sign_pk:
                raise IntegrityError()
        except (IntegrityError, UsageError, KeyError, TypeError):
            bad = "the deposit failed verification (forged, or not forwarded by its owner)"
            out.append((ForwardedDeposit(did[:80], False, problem=bad), None, b""))
            continue
        dep = ForwardedDeposit(
            id=did,
            valid=True,
            issuer=certified,
            from_=str(item.get("from")),
            type=st.doc_type,
            title=st.title,
            filename=st.filename,
            size=st.size,
        )
        out.append((dep, proof, document))
    return out


async def accept(ctx: Context, owner: str, deposit_id: str) -> str:
    """Accept a deposit of the owner's inbox into his vault (``Courrier/<issuer>/``), with its
    proof; its vault path."""
    from .inbox import _safe_component

    check_id(deposit_id, "deposit")
    ctx.account()
    async with ctx.api() as api:
        held = await _mandate_from(ctx, api, owner, "inbox")
        m = held.terms
        found = {d.id: (d, p, doc) for d, p, doc in await _deposits(ctx, api, held)}
        if deposit_id not in found:
            raise NotFound(f"no deposit {deposit_id} forwarded to you by {owner}")
        dep, proof, document = found[deposit_id]
        if not dep.valid or dep.filename is None:
            raise IntegrityError(f"deposit {deposit_id} failed verification; not accepted")
        folder = _safe_component(dep.issuer) if dep.issuer else "non certifié"
        path = _vault_path(f"{md.COURRIER}/{folder}/{dep.filename}", "the file name")
        if not md.allows(m.scopes, "accept", path):
            raise AccessDenied(f"{path} is outside your mandate from {owner}")
        certificate = {"proof": proof.to_json(), "received": int(time.time())}
        rec = await _store(
            api, m, path, document, mtime=proof.statement.issued * 1000,
            doc_type=proof.statement.doc_type, certificate=certificate,
        )  # fmt: skip
        record = HelperRecord(m.mandate_id, "accept", {"deposit": deposit_id}, rec)
        await _append(api, ctx, m, record, list(rec.refs))
        try:
            await api.post(f"/v1/mandates/{m.mandate_id}/accepted", {"deposit": deposit_id})
        except VaultError as exc:  # it is in the vault; only the inbox still shows it
            message = exc.message
            ctx.warn(f"deposit {deposit_id} is in the vault but still in the inbox: {message}")
    return path
