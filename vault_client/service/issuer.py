"""Authorities and issuers (administrations): keys, certificates, deposits, requests.

An authority profile holds only the authority's signing key (sealed at rest under the
passphrase like any profile secret). An issuer is an account (its server-side role comes from
``vault-server grant-issuer``) whose profile also holds an issuer signing key and the
certificate an authority wrote for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_core import deposits as dep
from vault_core.encoding import b64u, unb64u
from vault_core.errors import FormatError, IntegrityError, LocalError, UsageError

from ..identity import contact
from .values import parse_due

if TYPE_CHECKING:
    from vault_core.keys import PublicIdentity

    from ..api import Api
from ..profile import Profile, Secrets
from .context import Context


@dataclass(frozen=True)
class SentRequest:
    id: str
    to: str | None
    state: str | None
    due: str | None
    grant: str | None  # the grant that answered it ('vault redeem GRANT')
    # the items the owner's signed answer says are provided (type -> documents), None before
    provided: dict[str, list[str]] | None = None
    problem: str | None = None
    # from this profile's record of what it sent (None for one sent from another device):
    kind: str | None = None  # request | appointment
    needs: list[str] | None = None  # the documents asked for
    items: list[dict[str, str]] | None = None  # each needed type, provided or missing
    due_at: int | None = None
    at: int | None = None  # an appointment's start (unix seconds)
    place: str | None = None  # an appointment's place


def needs_new_key_store(ctx: Context) -> bool:
    """Whether ``authority_init`` needs a passphrase for a new key store (empty profile)."""
    return not ctx.profile.has_secrets()


def authority_init(ctx: Context, new_store_passphrase: str | None = None) -> str:
    """Create an authority key; its public key. In an empty profile, a key store sealed under
    ``new_store_passphrase`` is created."""
    profile = ctx.profile
    if profile.has_secrets():
        ctx.unlock()
        if profile.secrets.extra.get("authority_seed"):
            raise UsageError(f"profile {profile.home} already holds an authority key")
    elif new_store_passphrase is None:
        raise UsageError("a passphrase for the new key store is needed")
    seed = os.urandom(32)
    pk, _ = dep.authority_keypair(seed)
    if not profile.has_secrets():
        assert new_store_passphrase is not None
        profile.ensure_dir()
        profile.config.setdefault("kind", "authority")
        profile.create_secrets(new_store_passphrase, Secrets(extra={"authority_seed": b64u(seed)}))
    else:
        profile.secrets.extra["authority_seed"] = b64u(seed)
        profile.save_secrets()
    profile.config["authority_pk"] = b64u(pk)
    profile.save_config()
    return b64u(pk)


def authority_certify(
    ctx: Context, issuer_key: str, name: str, valid_for: int, out: Path
) -> dep.IssuerCert:
    """Write a certificate for an issuer key into ``out``."""
    seed_text = ctx.unlock().extra.get("authority_seed")
    if not seed_text:
        raise UsageError("this profile holds no authority key: run 'vault authority init'")
    pk, sk = dep.authority_keypair(unb64u(seed_text, 32))
    try:
        issuer_pk = unb64u(issuer_key.strip(), 32, "issuer key")
    except FormatError:
        raise UsageError("--issuer-key is not a public key (base64url, 32 bytes)") from None
    now = int(time.time())
    try:
        cert = dep.IssuerCert.issue(sk, pk, issuer_pk, name, now - 60, now + valid_for)
    except IntegrityError:
        raise UsageError("--issuer-key is not a valid Ed25519 public key") from None
    out.write_text(json.dumps(cert.to_json(), indent=2, sort_keys=True) + "\n", "utf-8")
    return cert


def issuer_init(ctx: Context, name: str) -> str:
    """Create the issuer signing key of this account; its public key."""
    profile = ctx.account()
    secrets = profile.secrets
    if secrets.issuer_seed:
        raise UsageError("this profile already has an issuer key")
    secrets.issuer_seed = os.urandom(32)
    profile.save_secrets()
    pk, _ = dep.issuer_keypair(secrets.issuer_seed)
    profile.config["issuer"] = {"name": name, "public_key": b64u(pk)}
    profile.save_config()
    return b64u(pk)


def set_cert(ctx: Context, path: Path) -> dep.IssuerCert:
    """Install the certificate an authority wrote for this issuer key."""
    profile = ctx.profile
    info = profile.config.get("issuer")
    if not info:
        raise UsageError("run 'vault issuer init' first")
    try:
        cert = dep.IssuerCert.from_json(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError):
        raise UsageError(f"{path}: not a certificate file") from None
    except IntegrityError:
        raise IntegrityError(f"{path}: malformed certificate") from None
    if b64u(cert.issuer_pk) != info["public_key"]:
        raise IntegrityError("this certificate is for another issuer key")
    # the signature must hold (whoever trusts the authority will check it again)
    try:
        cert.verify({cert.authority_pk: "?"}, int(time.time()), "deposit")
    except IntegrityError as exc:
        raise IntegrityError(f"certificate refused: {exc.message}") from None
    info["cert"] = cert.to_json()
    profile.config["issuer"] = info
    profile.save_config()
    return cert


@dataclass(frozen=True)
class IssuerInfo:
    """What the desk shows of this profile's issuer key: its name, and the certificate's
    name and end of validity (None before 'vault issuer set-cert')."""

    name: str | None
    public_key: str | None
    certified_as: str | None
    valid_until: int | None
    expired: bool


def info(ctx: Context) -> IssuerInfo:
    """This profile's issuer key and certificate (UsageError when it holds none)."""
    stored = ctx.profile.config.get("issuer") or {}
    if not stored:
        raise UsageError("run 'vault issuer init' first")
    cert = dep.IssuerCert.from_json(stored["cert"]) if stored.get("cert") else None
    return IssuerInfo(
        name=stored.get("name"),
        public_key=stored.get("public_key"),
        certified_as=cert.name if cert else None,
        valid_until=cert.not_after if cert else None,
        expired=cert is not None and cert.not_after <= int(time.time()),
    )


def issuer_material(ctx: Context) -> tuple[Profile, bytes, dep.IssuerCert]:
    profile = ctx.profile
    info = profile.config.get("issuer") or {}
    if not info.get("cert"):
        raise UsageError("no issuer certificate: 'vault issuer init' then 'vault issuer set-cert'")
    secrets = ctx.account().secrets
    if not secrets.issuer_seed:
        raise LocalError("the issuer key is missing from this profile")
    _, sk = dep.issuer_keypair(secrets.issuer_seed)
    return profile, sk, dep.IssuerCert.from_json(info["cert"])


async def deposit(
    ctx: Context,
    to: str,
    doc_type: str,
    file: Path,
    title: str | None = None,
    filename: str | None = None,
) -> str:
    """Sign a document and deposit it, encrypted, in ``to``'s inbox; the deposit id. The
    document's name is ``filename`` when given (an upload kept under a temporary name), else
    the file's own; its title defaults to that name without its extension."""
    if not dep.check_doc_type(doc_type):
        raise UsageError("--type: a short name like birth-certificate (a-z, 0-9, -)")
    profile, sk, cert = issuer_material(ctx)
    document = read_document(file)
    name = filename or file.name
    async with ctx.api() as api:
        return await deposit_bytes(
            ctx, api, profile, sk, cert, to, doc_type, document, title or Path(name).stem, name
        )


def read_document(file: Path) -> bytes:
    """A document to deposit: its bytes (UsageError when unreadable or over the limit)."""
    try:
        if file.stat().st_size > dep.MAX_DEPOSIT_SIZE:
            raise UsageError("the document is larger than the 64 MiB deposit limit")
        return file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: {exc.strerror}") from None


async def deposit_bytes(
    ctx: Context,
    api: Api,
    profile: Profile,
    sk: bytes,
    cert: dep.IssuerCert,
    to: str,
    doc_type: str,
    document: bytes,
    title: str,
    filename: str,
    deposit_id: str | None = None,
) -> str:
    """Sign, seal to ``to`` and post one deposit (a fresh id unless ``deposit_id``)."""
    recipient = await contact(profile, api, to, ctx.warn)
    deposit_id = deposit_id or os.urandom(16).hex()
    envelope = seal_deposit(
        sk, cert, to, recipient, doc_type, document, title, filename, deposit_id
    )
    await api.post(f"/v1/inbox/{to}", {"id": deposit_id, "envelope": b64u(envelope)})
    return deposit_id


def seal_deposit(
    sk: bytes,
    cert: dep.IssuerCert,
    to: str,
    recipient: PublicIdentity,
    doc_type: str,
    document: bytes,
    title: str,
    filename: str,
    deposit_id: str,
    doc_sha256: bytes | None = None,
) -> bytes:
    """The envelope of one deposit: its statement signed, sealed with the document to
    ``recipient`` (UsageError when a field is outside the format). Pure CPU, no I/O."""
    st = dep.DepositStatement(
        deposit_id=deposit_id,
        to=to,
        to_sign_pk=recipient.sign_pk,
        doc_sha256=doc_sha256 or hashlib.sha256(document).digest(),
        doc_type=doc_type,
        title=title,
        filename=filename,
        issued=int(time.time()),
        size=len(document),
        issuer_pk=cert.issuer_pk,
    )
    try:
        st.check_fields()
    except IntegrityError as exc:
        raise UsageError(f"cannot deposit: {exc.message}") from None
    return dep.build_deposit(
        statement=st,
        issuer_sk=sk,
        cert=cert,
        document=document,
        recipient_box_pk=recipient.box_pk,
        key=os.urandom(32),
        ephemeral=os.urandom(32),
        nonce=os.urandom(24),
    )


async def request(ctx: Context, to: str, needs: list[str], due: int, message: str) -> str:
    """Ask ``to`` for documents by ``due`` (epoch seconds); the request id."""
    for n in needs:
        if not dep.check_doc_type(n):
            raise UsageError(f"--need {n!r}: a short name like proof-of-address")
    if not needs:
        raise UsageError("ask for at least one document: --need TYPE or --template NAME")
    profile, sk, cert = issuer_material(ctx)
    async with ctx.api() as api:
        return await post_request(ctx, api, profile, sk, cert, to, needs, due, message)


async def post_request(
    ctx: Context,
    api: Api,
    profile: Profile,
    sk: bytes,
    cert: dep.IssuerCert,
    to: str,
    needs: list[str],
    due: int,
    message: str,
    request_id: str | None = None,
) -> str:
    """Sign, seal to ``to`` and post one request (a fresh id unless ``request_id``)."""
    recipient = await contact(profile, api, to, ctx.warn)
    request_id = request_id or os.urandom(16).hex()
    remember_sent(profile, {"id": request_id, "kind": "request", "to": to,
                            "needs": list(needs), "due": due})  # fmt: skip
    st = dep.RequestStatement(
        request_id=request_id,
        to=to,
        to_sign_pk=recipient.sign_pk,
        needs=tuple(needs),
        due=due,
        message=message,
        created=int(time.time()),
        issuer_pk=cert.issuer_pk,
        requester=profile.handle,
    )
    envelope = dep.build_request(
        statement=st,
        issuer_sk=sk,
        cert=cert,
        recipient_box_pk=recipient.box_pk,
        key=os.urandom(32),
        ephemeral=os.urandom(32),
        nonce=os.urandom(24),
    )
    await api.post(
        f"/v1/requests/{to}", {"id": request_id, "envelope": b64u(envelope), "due_at": due}
    )
    return request_id


# -- request checklists (templates) ---------------------------------------------------------

TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DEFAULT_DUE_IN = 30 * 86400


@dataclass(frozen=True)
class Template:
    name: str
    needs: tuple[str, ...]
    due_in: int  # seconds from the day the request is sent
    message: str


def template_create(
    ctx: Context, name: str, needs: list[str], due_in: int | None, message: str | None
) -> Template:
    """Save a checklist under ``name`` (replacing one of that name)."""
    if not TEMPLATE_NAME.match(name):
        raise UsageError("template name: a-z, 0-9 and -, up to 40 characters (e.g. rsa-2027)")
    if not needs:
        raise UsageError("a template needs at least one document: --need TYPE")
    for n in needs:
        if not dep.check_doc_type(n):
            raise UsageError(f"--need {n!r}: a short name like proof-of-address")
    issuer_material(ctx)  # only an issuer keeps templates
    t = Template(name, tuple(dict.fromkeys(needs)), due_in or DEFAULT_DUE_IN, message or "")
    ctx.profile.save_request_template(
        name, {"needs": list(t.needs), "due_in": t.due_in, "message": t.message}
    )
    return t


def templates(ctx: Context) -> list[Template]:
    return [
        Template(k, tuple(v["needs"]), int(v["due_in"]), str(v.get("message", "")))
        for k, v in sorted(ctx.profile.request_templates().items())
    ]


def template(ctx: Context, name: str) -> Template:
    for t in templates(ctx):
        if t.name == name:
            return t
    raise UsageError(f"no template {name!r} ('vault issuer template list')")


async def request_from(
    ctx: Context,
    to: str,
    needs: list[str],
    template_name: str | None = None,
    due: str | None = None,
    message: str | None = None,
) -> str:
    """``vault issuer request`` and the desk's « Nouvelle demande »: the documents ``needs``
    plus a saved checklist's, due at ``due`` (a date as people type it; the checklist's delay
    when not given), with ``message`` (the checklist's when not given); the request id."""
    wanted, when, text = list(needs), parse_due(due) if due else None, message
    if template_name is not None:
        t = template(ctx, template_name)
        wanted = list(dict.fromkeys([*t.needs, *wanted]))
        when = when if when is not None else int(time.time()) + t.due_in
        text = text if text is not None else t.message
    if when is None:
        raise UsageError("give the due date: --due DATE (or --template NAME)")
    if text is None:
        raise UsageError("give the message: --message TEXT (or --template NAME)")
    if when <= int(time.time()):
        raise UsageError(f"the due date {due} is in the past")
    return await request(ctx, to, wanted, when, text)


# -- what this issuer sent: the server lists requests and appointments alike (opaque
# envelopes sealed to their owners); the profile keeps what each was, to show its items --

SENT_LOG = "sent-requests.jsonl"


def remember_sent(profile: Profile, entry: dict[str, object]) -> None:
    """Append one thing sent on the requests channel (written before it is posted: a record
    without a request on the server is never listed)."""
    profile.ensure_dir()
    line = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    fd = os.open(profile.home / SENT_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def sent_log(profile: Profile) -> dict[str, dict[str, Any]]:
    """What this profile sent, by id (a line torn by a crash is skipped)."""
    try:
        text = (profile.home / SENT_LOG).read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            out[entry["id"]] = entry
    return out


def _open_answer(
    request_id: str, box_sk: bytes, envelope: bytes, owner: str, owner_pk: bytes
) -> Any:
    """The owner's signed answer (the requester's copy), or one by a helper under a mandate
    the owner signed (SPEC §Mandates); IntegrityError for anything else."""
    from vault_core.checklists import open_answer
    from vault_core.delegated import open_helper_answer

    try:
        return open_answer(request_id, "requester", box_sk, envelope, owner_pk)
    except (IntegrityError, FormatError):
        return open_helper_answer(request_id, "requester", box_sk, envelope, owner, owner_pk)[0]


async def sent_requests(ctx: Context) -> list[SentRequest]:
    """This issuer's requests and appointments and their state: each request's items provided
    or missing when this profile sent it, overdue first, then by due date."""
    from vault_core.checklists import item_states
    from vault_core.keys import PublicIdentity

    from ..api import dec
    from .requests import checklist_state

    profile = ctx.account()
    box_sk = profile.bundle.identity_box[1]
    pins = profile.contacts()
    sent = sent_log(profile)
    now = int(time.time())
    async with ctx.api() as api:
        listed = await api.get("/v1/requests/sent")
    out = []
    for r in listed:
        answer = r.get("answer") or {}
        due = r.get("due_at")
        state, provided, problem, signed = r.get("state"), None, None, None
        envelope, to = answer.get("envelope"), r.get("to")
        if isinstance(envelope, str) and to in pins:
            owner_pk = PublicIdentity.from_json(pins[to]).sign_pk
            try:
                signed = _open_answer(r["id"], box_sk, dec(envelope), to, owner_pk)
                if signed.grant_id != answer.get("grant_id") or signed.owner != to:
                    raise IntegrityError()
                provided = {t: list(n) for t, n in signed.items.items()}
            except (IntegrityError, FormatError):
                signed, problem = None, "the answer the server shows is not one the owner signed"
        mine = sent.get(r["id"]) or {}
        if mine.get("to") != to:
            mine = {}  # (the server names another recipient: nothing is assumed)
        kind = mine.get("kind")
        needs = [str(n) for n in mine.get("needs") or []] if kind == "request" else None
        if needs and signed is not None and isinstance(due, int):
            state = checklist_state(needs, signed, due, now)
        elif kind == "appointment":
            state = "past" if isinstance(due, int) and due <= now else "booked"
        out.append(
            SentRequest(
                id=r["id"],
                to=to,
                state=state,
                due=time.strftime("%Y-%m-%d", time.gmtime(due)) if isinstance(due, int) else None,
                grant=answer.get("grant_id"),
                provided=provided,
                problem=problem,
                kind=kind,
                needs=needs,
                items=item_states(needs, signed) if needs else None,
                due_at=due if isinstance(due, int) else None,
                at=due if kind == "appointment" and isinstance(due, int) else None,
                place=str(mine.get("place", "")) if kind == "appointment" else None,
            )
        )
    # overdue first, then by due date
    return sorted(out, key=lambda x: (x.state != "overdue", x.due or "", x.id))
