"""Certified deposits and document requests on the owner's side.

Theory of operation: a deposit waits in the server-side inbox as an envelope sealed to the
owner's X25519 key. Listing opens each envelope locally and checks the issuer's signature,
the recipient binding and the certificate chain against the authorities pinned in this
profile (``vault trust add``): a deposit whose chain does not verify is shown as *not
certified*, its claimed issuer only ever labelled as a claim. Accepting writes the document
into the synced folder and uploads it with its proof and the reception time in the
owner-signed file record, so every device of the owner, and a counsellor redeeming a grant,
can verify it later (``vault verify``).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

from vault_core.deposits import (
    DepositProof,
    open_deposit,
    open_request,
    verify_request,
)
from vault_core.errors import IntegrityError, LocalError, NotFound, UsageError
from vault_core.log import FileRecord, check_path
from vault_core.reminders import PendingRequest, ReminderSettings, due_reminders

from .api import Api, dec
from .profile import Profile


def certification(
    cert_json: dict[str, Any] | None,
    trusted: dict[bytes, str],
    owner: str,
    owner_sign_pk: bytes,
    document_sha256: bytes | None,
    now: int | None = None,
) -> str | None:
    """The certified issuer name, or None when the document is not (validly) certified.

    Never returns an issuer's claimed name unless the whole chain verifies under an authority
    pinned in this profile. ``document_sha256`` None skips the document hash (listing only).
    """
    if not cert_json:
        return None
    try:
        return verify_certificate(cert_json, trusted, owner, owner_sign_pk, document_sha256, now)
    except IntegrityError:
        return None


def verify_certificate(
    cert_json: dict[str, Any],
    trusted: dict[bytes, str],
    owner: str,
    owner_sign_pk: bytes,
    document_sha256: bytes | None,
    now: int | None = None,
) -> str:
    """Full check of a stored certificate block; IntegrityError (with a reason) on failure."""
    proof_json = cert_json.get("proof")
    received = cert_json.get("received")
    if proof_json is None or not isinstance(received, int):
        raise IntegrityError("the certificate block is malformed")
    proof = DepositProof.from_json(proof_json)
    doc_hash = document_sha256 if document_sha256 is not None else proof.statement.doc_sha256
    return proof.verify(
        trusted=trusted,
        now=int(now if now is not None else time.time()),
        owner=owner,
        owner_sign_pk=owner_sign_pk,
        document_sha256=doc_hash,
        received=received,
    )


_ID = re.compile(r"^[0-9a-f]{32}$")


def is_id(value: Any) -> bool:
    """Grant, deposit, request and device ids: 32 lower-case hex characters, nothing else."""
    return isinstance(value, str) and bool(_ID.match(value))


def check_id(value: str, what: str) -> str:
    if not is_id(value):
        raise UsageError(f"{value!r} is not a valid {what} id (32 hexadecimal characters)")
    return value


def _owner(profile: Profile) -> tuple[str, bytes, bytes]:
    b = profile.bundle
    return profile.handle, b.identity_sign[0], b.identity_box[1]


async def list_inbox(profile: Profile, api: Api) -> list[dict[str, Any]]:
    handle, sign_pk, box_sk = _owner(profile)
    trusted = profile.trusted_authorities()
    now = int(time.time())
    out = []
    for item in await api.get("/v1/inbox"):
        if not is_id(item.get("id")):
            out.append(
                {
                    "id": str(item.get("id"))[:80],
                    "valid": False,
                    "certified": False,
                    "issuer": None,
                    "problem": "the server listed a malformed inbox id",
                }
            )
            continue
        full = await api.get(f"/v1/inbox/{item['id']}")
        entry: dict[str, Any] = {
            "id": item["id"],
            "from": item.get("from"),
            "received_at": item.get("received_at"),
        }
        try:
            proof, document = open_deposit(item["id"], box_sk, dec(full["envelope"]))
        except IntegrityError:
            entry.update(
                certified=False,
                issuer=None,
                valid=False,
                problem="the deposit failed verification (forged or damaged)",
            )
            out.append(entry)
            continue
        st = proof.statement
        issuer, problem = _certified_by(proof, document, trusted, now, handle, sign_pk)
        entry.update(
            valid=True,
            certified=issuer is not None,
            issuer=issuer,
            claimed_issuer=None if issuer else proof.cert.name,
            problem=problem,
            type=st.doc_type,
            title=st.title,
            filename=st.filename,
            size=st.size,
            issued=time.strftime("%Y-%m-%d", time.gmtime(st.issued)),
        )
        out.append(entry)
    return out


def _certified_by(
    proof: DepositProof,
    document: bytes,
    trusted: dict[bytes, str],
    now: int,
    handle: str,
    sign_pk: bytes,
) -> tuple[str | None, str | None]:
    """(issuer name, None) when the proof certifies the document received now, else
    (None, why not)."""
    try:
        issuer = proof.verify(
            trusted=trusted,
            now=now,
            owner=handle,
            owner_sign_pk=sign_pk,
            document_sha256=hashlib.sha256(document).digest(),
            received=now,
        )
    except IntegrityError as exc:
        return None, exc.message
    return issuer, None


async def accept(profile: Profile, api: Api, engine: Any, deposit_id: str, to: str | None) -> str:
    """Move a deposit into the synced folder (with its proof); returns the vault path."""
    from .sync import MAX_ROUNDS, Uploader

    handle, sign_pk, box_sk = _owner(profile)
    check_id(deposit_id, "deposit")
    full = await api.get(f"/v1/inbox/{deposit_id}")
    try:
        proof, document = open_deposit(deposit_id, box_sk, dec(full["envelope"]))
    except IntegrityError:
        raise IntegrityError(f"deposit {deposit_id} failed verification; not accepted") from None
    st = proof.statement
    if st.to != handle or st.to_sign_pk != sign_pk:
        raise IntegrityError(f"deposit {deposit_id} is addressed to another person")
    now = int(time.time())
    issuer, _ = _certified_by(proof, document, profile.trusted_authorities(), now, handle, sign_pk)
    folder_name = _safe_component(issuer) if issuer else "non certifié"
    vpath = to.strip("/") if to else f"Courrier/{folder_name}/{st.filename}"
    if to and (to.endswith("/") or (profile.folder / vpath).is_dir()):
        vpath = f"{vpath}/{st.filename}"
    check_path(vpath)
    if engine.folder.ignored(vpath):
        # a name the sync would skip (Thumbs.db, *.tmp, *.part…) would look like a local
        # deletion: give the document a name that is synced
        parent, _, leaf = vpath.rpartition("/")
        leaf = (
            f"document {deposit_id[:8]} - {leaf}.pdf"
            if not leaf.endswith(".pdf")
            else (f"document {deposit_id[:8]} - {leaf}")
        )
        vpath = f"{parent}/{leaf}" if parent else leaf
        if engine.folder.ignored(vpath):
            vpath = f"{parent}/document {deposit_id}" if parent else f"document {deposit_id}"
        check_path(vpath)
    target = engine.folder.join(vpath, create_parents=True)
    if target.exists():
        stem, dot, ext = st.filename.rpartition(".")
        base = stem if dot else st.filename
        suffix = f".{ext}" if dot else ""
        vpath = (
            f"{vpath.rsplit('/', 1)[0]}/{base} ({deposit_id[:8]}){suffix}"
            if "/" in vpath
            else f"{base} ({deposit_id[:8]}){suffix}"
        )
        target = engine.folder.join(vpath, create_parents=True)
    fd, tmp = engine.folder.temp_file()
    try:
        os.write(fd, document)
        os.fsync(fd)
    finally:
        os.close(fd)
    lf = engine.folder.install(tmp, vpath, st.issued * 1000)
    certificate = {"proof": proof.to_json(), "received": now}
    # carries the document type and certificate into the uploaded record
    meta = FileRecord(
        file_id="0" * 32,
        version=1,
        path=vpath,
        deleted=False,
        doc_type=st.doc_type,
        certificate=certificate,
    )
    for _ in range(MAX_ROUNDS):
        v = await engine.pull()
        content = engine.hash_file(lf)
        head = engine.state.heads().get(vpath)
        up = Uploader(api, engine.state)
        rec, refs = await engine.build_upload(
            up,
            vpath,
            vpath,
            content,
            head.file_id if head else None,
            head.version if head else 0,
            lf,
            meta,
        )
        await up.flush()
        from vault_core.errors import Conflict

        try:
            await engine.append(v, [rec], [refs])
        except Conflict:
            continue
        engine.state.set_base(vpath, content)
        engine.state.set_scan(vpath, lf.size, lf.mtime_ns, lf.ino, content)
        break
    else:
        raise LocalError("the log kept moving; accept again")
    await api.delete(f"/v1/inbox/{deposit_id}")
    return vpath


def _safe_component(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in " -_'()." else "_" for c in name).strip(" .")
    return cleaned[:80] or "issuer"


def verify_path(profile: Profile, engine: Any, vpath: str) -> dict[str, Any]:
    """``vault verify``: check the local file against the certificate in its record."""
    handle, sign_pk, _ = _owner(profile)
    head = engine.state.heads().get(vpath)
    local = engine.folder.join(vpath)
    if not local.is_file():
        raise NotFound(f"{vpath} is not a file of the synced folder")
    if head is None or head.deleted or not head.certificate:
        raise LocalError(f"{vpath} is not a certified document")
    digest = hashlib.sha256()
    with open(local, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    try:
        issuer = verify_certificate(
            head.certificate, profile.trusted_authorities(), handle, sign_pk, digest.digest()
        )
    except IntegrityError as exc:
        raise IntegrityError(f"{vpath}: {exc.message}") from None
    st = DepositProof.from_json(head.certificate["proof"]).statement
    return {
        "id": vpath,
        "path": vpath,
        "issuer": issuer,
        "type": st.doc_type,
        "title": st.title,
        "issued": time.strftime("%Y-%m-%d", time.gmtime(st.issued)),
    }


# -- requests -----------------------------------------------------------------------------------


async def list_requests(profile: Profile, api: Api) -> list[dict[str, Any]]:
    handle, sign_pk, box_sk = _owner(profile)
    trusted = profile.trusted_authorities()
    now = int(time.time())
    out = []
    for item in await api.get("/v1/requests"):
        if not is_id(item.get("id")):
            out.append(
                {
                    "id": str(item.get("id"))[:80],
                    "valid": False,
                    "problem": "the server listed a malformed request id",
                }
            )
            continue
        entry: dict[str, Any] = {
            "id": item["id"],
            "from": item.get("from"),
            "due": _date(item.get("due_at")),
            "state": item.get("state"),
            "due_at": item.get("due_at"),
        }
        try:
            st, cert = open_request(item["id"], box_sk, dec(item["envelope"]))
        except IntegrityError:
            entry.update(valid=False, problem="the request failed verification")
            out.append(entry)
            continue
        try:
            requester = verify_request(
                st, cert, trusted=trusted, now=now, owner=handle, owner_sign_pk=sign_pk
            )
        except IntegrityError:
            requester = None
        if st.due != item.get("due_at"):
            entry["problem"] = "the server's due date differs from the signed one"
        answer = item.get("answer") or {}
        entry.update(
            valid=True,
            requester=requester,
            certified=requester is not None,
            claimed_requester=None if requester else cert.name,
            account=st.requester,
            needs=list(st.needs),
            message=st.message,
            due=_date(st.due),
            due_at=st.due,
            grant=answer.get("grant_id"),
        )
        out.append(entry)
    return out


def _date(ts: Any) -> str | None:
    if not isinstance(ts, int):
        return None
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


async def answer_request(
    profile: Profile,
    api: Api,
    engine: Any,
    request_id: str,
    paths: list[str],
    expires_in: int,
    warn: Any,
) -> str:
    from .shares import create_share

    check_id(request_id, "request")
    requests = {r["id"]: r for r in await list_requests(profile, api)}
    req = requests.get(request_id)
    if req is None:
        raise NotFound(f"no request {request_id}")
    if not req.get("valid"):
        raise IntegrityError(f"request {request_id} failed verification; not answering")
    if not req.get("certified"):
        # a request that is not certified by a trusted authority, or is addressed to someone
        # else, could come from anyone (even the server): never grant access in answer to it
        raise IntegrityError(
            f"request {request_id} is not certified by an authority you trust (or not "
            "addressed to you); not answering it"
        )
    grant_id = await create_share(
        profile, api, engine, paths, expires_in, req["account"], None, None, warn
    )
    await api.post(f"/v1/requests/{request_id}/answer", {"grant_id": grant_id})
    return grant_id


def reminder_settings(profile: Profile) -> ReminderSettings:
    cfg = profile.config.get("reminders", {})
    return ReminderSettings(
        enabled=cfg.get("enabled", True),
        before=cfg.get("before", ReminderSettings.before),
        every=cfg.get("every", ReminderSettings.every),
    )


def reminders_now(
    profile: Profile, requests: list[dict[str, Any]], now: int, record: bool
) -> list[dict[str, Any]]:
    pending = [
        PendingRequest(r["id"], r["due_at"], r.get("state") == "answered")
        for r in requests
        if isinstance(r.get("due_at"), int)
    ]
    last = profile.config.get("reminded", {})
    due = due_reminders(pending, now, reminder_settings(profile), last)
    if record and due:
        last.update({r.request_id: now for r in due})
        profile.config["reminded"] = last
        profile.save_config()
    by_id = {r["id"]: r for r in requests}
    out = []
    for rem in due:
        r = by_id[rem.request_id]
        who = r.get("requester") or f"{r.get('claimed_requester') or r.get('from')} (not certified)"
        when = "overdue since" if rem.overdue else "due"
        needs = ", ".join(r.get("needs") or []) or "documents"
        out.append(
            {
                "id": rem.request_id,
                "kind": "reminder",
                "overdue": rem.overdue,
                "text": f"reminder: {who} asks for {needs}, {when} {r.get('due')} "
                f"('vault requests answer {rem.request_id} PATH...')",
            }
        )
    return out


async def status_items(profile: Profile, api: Api) -> list[dict[str, Any]]:
    """Inbox items and requests for ``vault status``."""
    items: list[dict[str, Any]] = []
    try:
        inbox = await api.get("/v1/inbox")
    except Exception:  # noqa: BLE001 — status stays useful when this part fails
        inbox = []
    for it in inbox:
        items.append(
            {
                "id": it["id"],
                "kind": "inbox",
                "text": f"inbox: deposit {it['id']} from {it.get('from')} "
                f"('vault inbox' to review)",
            }
        )
    requests = await list_requests(profile, api)
    for r in requests:
        if r.get("state") != "answered":
            items.append(
                {
                    "id": r["id"],
                    "kind": "request",
                    "due": r.get("due"),
                    "state": r.get("state"),
                    "text": f"request {r['id']}: {', '.join(r.get('needs') or [])} "
                    f"due {r.get('due')} ({r.get('state')})",
                }
            )
    items.extend(reminders_now(profile, requests, int(time.time()), record=True))
    return items


def trust_key_from_text(text: str) -> bytes:
    from vault_core.encoding import unb64u

    try:
        return unb64u(text.strip(), 32, "authority key")
    except Exception:  # noqa: BLE001
        raise UsageError("not an authority public key (base64url, 32 bytes)") from None


def read_file_arg(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    return p.read_bytes()
