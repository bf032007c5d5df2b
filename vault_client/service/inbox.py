"""The inbox and verification: certified deposits on the owner's side.

Theory of operation: a deposit waits in the server-side inbox as an envelope sealed to the
owner's X25519 key. Listing opens each envelope locally and checks the issuer's signature,
the recipient binding and the certificate chain against the authorities pinned in this
profile (``vault trust add``): a deposit whose chain does not verify is shown as *not
certified*, its claimed issuer only ever labelled as a claim. Accepting writes the document
into the synced folder and uploads it with its proof and the reception time in the
owner-signed file record, so every device of the owner, and a counsellor redeeming a grant,
can verify it later (:func:`verify`).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

from vault_core.deposits import DepositProof, open_deposit
from vault_core.errors import Conflict, IntegrityError, LocalError, NotFound, ServerUnavailable
from vault_core.log import FileRecord, check_path

from ..api import dec
from ..certificates import certified_by, verify_certificate
from ..identity import check_id, is_id
from ..profile import Profile
from ..sync import MAX_ROUNDS, SyncEngine, Uploader
from .context import Context


@dataclass(frozen=True)
class Deposit:
    id: str
    valid: bool
    certified: bool
    issuer: str | None = None  # the certified issuer; None when not (validly) certified
    problem: str | None = None
    from_: str | None = None
    received_at: Any = None
    claimed_issuer: str | None = None  # what an uncertified deposit claims (only a claim)
    type: str | None = None
    title: str | None = None
    filename: str | None = None
    size: int | None = None
    issued: str | None = None


@dataclass(frozen=True)
class Verified:
    id: str
    path: str
    issuer: str
    type: str
    title: str
    issued: str


def owner_keys(profile: Profile) -> tuple[str, bytes, bytes]:
    """(handle, identity signing public key, identity box secret key)."""
    b = profile.bundle
    return profile.handle, b.identity_sign[0], b.identity_box[1]


async def list_deposits(ctx: Context) -> list[Deposit]:
    """Deposited documents waiting, each opened and checked here."""
    profile = ctx.account()
    handle, sign_pk, box_sk = owner_keys(profile)
    trusted = profile.trusted_authorities()
    now = int(time.time())
    out: list[Deposit] = []
    async with ctx.api() as api:
        for item in await api.get("/v1/inbox"):
            if not is_id(item.get("id")):
                bad = "the server listed a malformed inbox id"
                out.append(Deposit(str(item.get("id"))[:80], False, False, problem=bad))
                continue
            full = await api.get(f"/v1/inbox/{item['id']}")
            seen = {"from_": item.get("from"), "received_at": item.get("received_at")}
            try:
                proof, document = open_deposit(item["id"], box_sk, dec(full["envelope"]))
            except IntegrityError:
                bad = "the deposit failed verification (forged or damaged)"
                out.append(Deposit(item["id"], False, False, problem=bad, **seen))
                continue
            st = proof.statement
            issuer, problem = certified_by(proof, document, trusted, now, handle, sign_pk)
            out.append(
                Deposit(
                    item["id"],
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
                    **seen,
                )
            )
    return out


def _safe_component(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in " -_'()." else "_" for c in name).strip(" .")
    return cleaned[:80] or "issuer"


def _target_path(engine: SyncEngine, deposit_id: str, filename: str, vpath: str) -> str:
    """A free, synced (not ignored) vault path for the document, near ``vpath``."""
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
        stem, dot, ext = filename.rpartition(".")
        base = stem if dot else filename
        suffix = f".{ext}" if dot else ""
        vpath = (
            f"{vpath.rsplit('/', 1)[0]}/{base} ({deposit_id[:8]}){suffix}"
            if "/" in vpath
            else f"{base} ({deposit_id[:8]}){suffix}"
        )
    return vpath


async def accept(ctx: Context, deposit_id: str, to: str | None = None) -> str:
    """Move a deposit into the synced folder (with its proof); returns its vault path.

    ``to`` is a vault path (a folder, ending in ``/`` or existing, or a file name)."""
    check_id(deposit_id, "deposit")
    profile = ctx.account()
    handle, sign_pk, box_sk = owner_keys(profile)
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            full = await api.get(f"/v1/inbox/{deposit_id}")
            try:
                proof, document = open_deposit(deposit_id, box_sk, dec(full["envelope"]))
            except IntegrityError:
                raise IntegrityError(
                    f"deposit {deposit_id} failed verification; not accepted"
                ) from None
            st = proof.statement
            if st.to != handle or st.to_sign_pk != sign_pk:
                raise IntegrityError(f"deposit {deposit_id} is addressed to another person")
            now = int(time.time())
            trusted = profile.trusted_authorities()
            issuer, _ = certified_by(proof, document, trusted, now, handle, sign_pk)
            folder_name = _safe_component(issuer) if issuer else "non certifié"
            vpath = to.strip("/") if to else f"Courrier/{folder_name}/{st.filename}"
            if to and (to.endswith("/") or (profile.folder / vpath).is_dir()):
                vpath = f"{vpath}/{st.filename}"
            vpath = _target_path(engine, deposit_id, st.filename, vpath)
            engine.folder.join(vpath, create_parents=True)
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


async def verify(ctx: Context, vpath: str) -> Verified:
    """Check the local file against the certificate in its record (``vault verify``); when the
    server cannot be reached, against the last synced records (with a warning)."""
    profile = ctx.account()
    handle, sign_pk, _ = owner_keys(profile)
    async with ctx.api() as api:
        with ctx.engine(api) as engine:
            try:
                await engine.pull()
            except ServerUnavailable:
                ctx.warn("server unreachable: verifying against the last synced records")
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
    return Verified(
        id=vpath,
        path=vpath,
        issuer=issuer,
        type=st.doc_type,
        title=st.title,
        issued=time.strftime("%Y-%m-%d", time.gmtime(st.issued)),
    )


async def refuse(ctx: Context, deposit_id: str) -> None:
    """Refuse a deposit: it leaves the inbox, nothing is written to the folder."""
    check_id(deposit_id, "deposit")
    ctx.account()
    async with ctx.api() as api:
        await api.delete(f"/v1/inbox/{deposit_id}")


async def deposit_document(ctx: Context, deposit_id: str) -> tuple[str, bytes]:
    """(file name, bytes) of a deposit, opened and authenticated here (for a preview: its
    certification is what :func:`list_deposits` says)."""
    check_id(deposit_id, "deposit")
    _, _, box_sk = owner_keys(ctx.account())
    async with ctx.api() as api:
        full = await api.get(f"/v1/inbox/{deposit_id}")
    try:
        proof, document = open_deposit(deposit_id, box_sk, dec(full["envelope"]))
    except (KeyError, TypeError, IntegrityError):
        raise IntegrityError(f"deposit {deposit_id} failed verification") from None
    return proof.statement.filename, document
