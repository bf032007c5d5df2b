"""Authorities this profile trusts: an issuer's certificate counts only when it chains to one
of them (pinned here, never learned from the server).

An authority is pinned from an invitation (a file or a ``vault-trust:`` URI, signed by the
authority's key: SPEC §Trust invitations) or, as before, from its bare public key with a name.
Either way the result carries the key's fingerprint as six French words, which the person
compares with the paper letter or the clerk's screen before relying on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

from vault_core.encoding import b64u, unb64u
from vault_core.errors import IntegrityError, UsageError, VaultError
from vault_core.trust import MAX_INVITATION, URI_SCHEME, TrustInvitation, TrustRoots, check_name

from ..words import authority_words
from .context import Context


@dataclass(frozen=True)
class Authority:
    id: str
    public_key: str
    name: str
    words: str = ""


@dataclass(frozen=True)
class Invitation:
    """What ``vault authority invite`` made: the file, the same invitation as a URI, and the
    words the authority prints on its letters."""

    path: str
    uri: str
    name: str
    public_key: str
    words: str


@dataclass(frozen=True)
class Offered:
    """An authority read from a key, an invitation file or a URI, not pinned yet."""

    public_key: bytes
    name: str | None  # None: a bare key (the caller names it)
    words: str


def parse_authority_key(text: str) -> bytes:
    try:
        return unb64u(text.strip(), 32, "authority key")
    except Exception:  # noqa: BLE001
        raise UsageError("not an authority public key (base64url, 32 bytes)") from None


def read_offer(value: str) -> Offered:
    """An authority from ``value``: a ``vault-trust:`` URI, an invitation file, or a bare key.

    An invitation whose signature or form does not hold raises IntegrityError (exit 4): its
    bytes were altered, or it was never made by that key."""
    text = value.strip()
    if text.startswith(URI_SCHEME):
        inv = TrustInvitation.from_uri(text)
        return Offered(inv.authority_pk, inv.name, authority_words(inv.authority_pk))
    path = Path(os.path.expanduser(value))
    data: bytes | None = None
    with contextlib.suppress(OSError, ValueError):
        if path.is_file():
            with open(path, "rb") as fh:
                data = fh.read(MAX_INVITATION + 1)
    if data is not None:
        body = data.strip()
        if body.startswith(URI_SCHEME.encode()):
            try:
                inv = TrustInvitation.from_uri(body.decode("utf-8"))
            except UnicodeDecodeError:
                raise IntegrityError() from None
        else:
            inv = TrustInvitation.decode(data)
        return Offered(inv.authority_pk, inv.name, authority_words(inv.authority_pk))
    if text.startswith("{") or "/" in text or text.endswith(".json"):
        raise UsageError(f"no such invitation file: {value}")
    key = parse_authority_key(text)
    return Offered(key, None, authority_words(key))


def preview(value: str, name: str | None = None) -> Authority:
    """What :func:`add` would pin from ``value`` (a URI or a bare key: no file is read), with
    its words, so that a face asks "Faire confiance à … ?" before pinning anything."""
    text = value.strip()
    if text.startswith(URI_SCHEME):
        offer = read_offer(text)
    else:
        key = parse_authority_key(text)
        offer = Offered(key, None, authority_words(key))
    chosen = (name if name is not None else offer.name) or ""
    key_text = b64u(offer.public_key)
    return Authority(key_text, key_text, chosen.strip(), offer.words)


def add(ctx: Context, value: str, name: str | None = None) -> Authority:
    """Pin an authority from an invitation (file or URI) or a public key (base64url).

    ``name`` names a bare key (required then) or replaces the invitation's name."""
    offer = read_offer(value)
    chosen = name if name is not None else offer.name
    if chosen is None:
        raise UsageError("a bare authority key needs a name: --name NAME")
    try:
        check_name(chosen.strip())
    except VaultError:
        raise UsageError("the authority's name: 1 to 120 characters, no control ones") from None
    key = b64u(offer.public_key)
    ctx.profile.add_trust(key, chosen.strip())
    return Authority(key, key, chosen.strip(), offer.words)


def list_authorities(ctx: Context) -> list[Authority]:
    return [
        Authority(k, k, v["name"], authority_words(unb64u(k, 32)))
        for k, v in sorted(ctx.profile.trust_list().items())
    ]


def invite(ctx: Context, out: Path, name: str | None = None) -> Invitation:
    """Write an invitation to trust this profile's authority key (signed by it) to ``out``.

    The name is remembered: the next invitation without ``--name`` reuses it."""
    from vault_core import deposits as dep

    profile = ctx.profile
    seed_text = ctx.unlock().extra.get("authority_seed")
    if not seed_text:
        raise UsageError("this profile holds no authority key: run 'vault authority init'")
    chosen = (name if name is not None else profile.config.get("authority_name") or "").strip()
    if not chosen:
        raise UsageError("give the authority's name: --name NAME")
    try:
        check_name(chosen)
    except VaultError:
        raise UsageError("the authority's name: 1 to 120 characters, no control ones") from None
    pk, sk = dep.authority_keypair(unb64u(seed_text, 32))
    inv = TrustInvitation.issue(sk, pk, chosen, int(time.time()))
    _write_new(out, inv.encode() + b"\n")
    if profile.config.get("authority_name") != chosen:
        profile.config["authority_name"] = chosen
        profile.save_config()
    return Invitation(str(out), inv.to_uri(), chosen, b64u(pk), authority_words(pk))


def _write_new(out: Path, data: bytes) -> None:
    """The whole file or nothing: a temporary beside it, then a rename."""
    out = Path(os.path.expanduser(out))
    if out.is_dir():
        raise UsageError(f"{out} is a folder: give a file name for the invitation")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


# -- the trust roots a deployment offers (SPEC §Trust roots) ----------------------------------


@dataclass(frozen=True)
class Root:
    name: str
    public_key: str
    words: str


@dataclass(frozen=True)
class RootsOffer:
    """What this profile's server offers as trust roots, against what the owner accepted.

    ``state``: ``none`` (the server ships none), ``new`` (never accepted here), ``accepted``
    (the list accepted here, unchanged), ``changed`` (another list than the one accepted:
    refused until the owner accepts it again). ``added``/``removed``: the difference with the
    list accepted before (changed only)."""

    state: str
    deployment: str | None = None
    signer_words: str | None = None
    digest: str | None = None
    roots: tuple[Root, ...] = ()
    added: tuple[Root, ...] = ()
    removed: tuple[str, ...] = ()


async def _fetch_roots(ctx: Context) -> TrustRoots | None:
    from vault_core.encoding import canonical_json
    from vault_core.errors import NotFound

    ctx.profile.require_account()
    async with ctx.api() as api:
        try:
            obj = await api.get("/v1/trust-roots")
        except NotFound:
            return None
    try:
        data = canonical_json(obj)
    except (TypeError, ValueError):
        raise IntegrityError("the trust roots the server sent do not verify") from None
    try:
        return TrustRoots.decode(data)
    except IntegrityError:
        raise IntegrityError("the trust roots the server sent do not verify") from None


def _offer(ctx: Context, roots: TrustRoots | None) -> RootsOffer:
    if roots is None:
        return RootsOffer("none")
    listed = tuple(
        Root(r.name, b64u(r.authority_pk), authority_words(r.authority_pk)) for r in roots.roots
    )
    pinned = ctx.profile.config.get("trust_roots") or {}
    digest = roots.digest().hex()
    base = RootsOffer(
        "new",
        deployment=roots.deployment,
        signer_words=authority_words(roots.signer),
        digest=digest,
        roots=listed,
    )
    if not pinned:
        return base
    if pinned.get("digest") == digest:
        return dataclasses.replace(base, state="accepted")
    before = set(pinned.get("roots", []))
    added = tuple(r for r in listed if r.public_key not in before)
    now = {r.public_key for r in listed}
    trusted = ctx.profile.trust_list()
    removed = tuple(trusted.get(k, {}).get("name", k) for k in sorted(before - now))
    return dataclasses.replace(base, state="changed", added=added, removed=removed)


async def roots(ctx: Context) -> RootsOffer:
    """The server's trust roots, verified, and their state here (nothing is pinned)."""
    return _offer(ctx, await _fetch_roots(ctx))


async def accept_roots(ctx: Context, digest: str | None = None) -> RootsOffer:
    """Pin the server's trust roots as trusted authorities (the owner accepted them after
    comparing their words). ``digest``: accept only that list (what the owner was shown), so
    a list that changed in between is not pinned unseen."""
    offer = _offer(ctx, await _fetch_roots(ctx))
    if offer.state == "none":
        raise UsageError("this server offers no trust roots")
    if digest is not None and digest != offer.digest:
        raise IntegrityError("the server's trust roots changed since they were shown: look again")
    profile = ctx.profile
    for r in offer.roots:
        profile.add_trust(r.public_key, r.name)
    profile.config["trust_roots"] = {
        "digest": offer.digest,
        "deployment": offer.deployment,
        "roots": [r.public_key for r in offer.roots],
        "accepted": int(time.time()),
    }
    profile.save_config()
    return dataclasses.replace(offer, state="accepted", added=(), removed=())
