"""Mutants: the suite's properties switched off one at a time, to check that the tests fail.

Not a test module. ``HOSTILE_MUTANT=NAME python -m pytest tests/hostile`` runs the suite with
mutant NAME applied (client mutants patch the command line, which runs in the test process;
server mutants start the server with a ``sitecustomize`` patch). ``python -m
tests.hostile.mutants`` runs every mutant on the modules it concerns and prints, for every
test, the mutants that made it fail: a test that no mutant kills would be checking nothing.
The meta tests (test_meta_properties_matter.py) run a representative subset in CI.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Patch = Callable[[Any], None]  # takes a pytest.MonkeyPatch


def _log_fail_open(mp: Any) -> None:
    from vault_core.errors import IntegrityError
    from vault_core.log import LogVerifier

    orig = LogVerifier.feed

    def feed(self: Any, data: bytes) -> Any:
        try:
            return orig(self, data)
        except IntegrityError:
            self.seq += 1
            self.head = hashlib.sha256(b"vault.v1/log-hash\x00" + bytes(data)).digest()
            return None, None

    mp.setattr(LogVerifier, "feed", feed)


def _chain_off(mp: Any) -> None:
    from vault_core.errors import IntegrityError
    from vault_core.log import LogEntry, LogVerifier

    orig = LogVerifier.feed

    def feed(self: Any, data: bytes) -> Any:
        seen = self.seq
        with contextlib.suppress(IntegrityError):
            e = LogEntry.decode(data)
            self.seq, self.head = e.seq - 1, e.prev
        try:
            return orig(self, data)
        finally:
            self.seq = max(self.seq, seen + 1)  # still moves forward (no endless pull)

    mp.setattr(LogVerifier, "feed", feed)


def _hwm_off(mp: Any) -> None:
    import vault_client.sync.log as synclog  # (where the pull looks check_head up)

    mp.setattr(synclog, "check_head", lambda server, seen: None)


def _truncation_off(mp: Any) -> None:
    """An empty page ends the pull instead of failing (a log shorter than its head)."""
    from vault_client.api import Api

    orig_get = Api.get

    async def get(self: Any, path: str, **kw: Any) -> Any:
        res = await orig_get(self, path, **kw)
        if path == "/v1/log/head" and isinstance(res, dict):
            listing = await orig_get(self, "/v1/log", params={"after": "0", "limit": "1000"})
            res = {"seq": min(res["seq"], len(listing.get("entries", [])))}
        return res

    mp.setattr(Api, "get", get)


def _chunk_fail_open(mp: Any) -> None:
    """Chunk answers are read whatever their length and used even when AEAD or hash fail."""
    import vault_client.api as api
    import vault_core.chunks as chunks
    from vault_core.errors import IntegrityError

    orig, orig_blob = chunks.open_chunk, api.Api.blob

    def open_chunk(ref: Any, blob: bytes) -> bytes:
        try:
            return orig(ref, blob)
        except IntegrityError:
            return bytes(blob[27:-16])

    async def blob(self: Any, blob_id: str, *args: Any, **kw: Any) -> bytes:
        kw["limit"] = 1 << 30
        return bytes(await orig_blob(self, blob_id, *args, **kw))

    mp.setattr(chunks, "open_chunk", open_chunk)
    mp.setattr(api.Api, "blob", blob)


def _manifest_fail_open(mp: Any) -> None:
    from vault_client.sync.download import DownloadMixin
    from vault_core.errors import IntegrityError, VaultError
    from vault_core.manifest import Manifest

    orig = DownloadMixin.fetch_manifest

    async def fetch_manifest(self: Any, rec: Any, grant: Any = None) -> Any:
        try:
            return await orig(self, rec, grant)
        except (IntegrityError, VaultError):
            return Manifest.build(bytes.fromhex(rec.file_id), rec.version, [])

    mp.setattr(DownloadMixin, "fetch_manifest", fetch_manifest)


def _kdf_floor_off(mp: Any) -> None:
    from vault_core.keys import KdfParams

    mp.setattr(KdfParams, "check_floor", lambda self, max_lanes=1: None)


def _pinning_off(mp: Any) -> None:
    import vault_client.identity as identity

    mp.setattr(identity, "pinned_identity", lambda profile, handle, fetched, warn: fetched)


def _public_key_checks_off(mp: Any) -> None:
    import vault_core._crypto as crypto

    mp.setattr(crypto, "check_box_pk", lambda pk: None)
    mp.setattr(crypto, "check_sign_pk", lambda pk: None)


def _bundle_identity_off(mp: Any) -> None:
    import vault_client.service.account as account

    mp.setattr(account, "_check_bundle_identity", lambda bundle, identity: None)


def _bundle_fail_open(mp: Any) -> None:
    """Key material that fails authentication is used anyway (here: a bundle of its own)."""
    import vault_client.service.account as account
    from vault_core import keys

    orig = keys.unwrap_bundle

    def unwrap(wrapped: bytes, kek: bytes, handle: str, slot: str) -> Any:
        try:
            return orig(wrapped, kek, handle, slot)
        except Exception:  # noqa: BLE001 - a mutant: accepts anything
            return keys.new_bundle(handle, os.urandom(96), 0)

    mp.setattr(keys, "unwrap_bundle", unwrap)
    mp.setattr(account, "_check_bundle_identity", lambda bundle, identity: None)


def _device_certs_off(mp: Any) -> None:
    from vault_core.keys import DeviceCert

    mp.setattr(DeviceCert, "verify", lambda self, pk: None)


def _signatures_off(mp: Any) -> None:
    import vault_core._crypto as crypto

    mp.setattr(crypto, "verify", lambda pk, msg, sig: None)


def _revocation_off(mp: Any) -> None:
    from vault_core.log import LogVerifier

    orig = LogVerifier.feed

    def feed(self: Any, data: bytes) -> Any:
        revoked = set(self.revoked)
        self.revoked.clear()
        try:
            return orig(self, data)
        finally:
            self.revoked |= revoked

    mp.setattr(LogVerifier, "feed", feed)


def _issuer_trust_off(mp: Any) -> None:
    from vault_core.deposits import IssuerCert

    def verify(self: Any, trusted: Any, now: int, usage: str) -> None:
        return None

    mp.setattr(IssuerCert, "verify", verify)


def _issuer_signature_off(mp: Any) -> None:
    from vault_core.deposits import DepositProof

    mp.setattr(DepositProof, "check_signature", lambda self: None)


def _recipient_binding_off(mp: Any) -> None:
    from vault_core.deposits import DepositProof

    orig = DepositProof.verify

    def verify(self: Any, **kw: Any) -> str:
        kw["owner"] = self.statement.to
        kw["owner_sign_pk"] = self.statement.to_sign_pk
        return orig(self, **kw)

    mp.setattr(DepositProof, "verify", verify)


def _path_rules_off(mp: Any) -> None:
    import vault_client.folder as folder
    import vault_core.log as log

    mp.setattr(log, "check_path", lambda p: p)
    mp.setattr(folder, "check_path", lambda p: p)


def _symlinks_off(mp: Any) -> None:
    import vault_client.folder as folder

    def join(self: Any, vault_path: str, create_parents: bool = False) -> Path:
        target = Path(self.root).joinpath(*vault_path.split("/"))
        if create_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        return target

    mp.setattr(folder.Folder, "join", join)
    mp.setattr(Path, "is_relative_to", lambda self, other: True)


def _grant_owner_pin_off(mp: Any) -> None:
    import vault_client.service.redeem as redeem
    from vault_core import grants as g

    orig = redeem._verify_open

    def verify(res: Any, key: bytes, gid: str, owner_pk: Any) -> Any:
        header = g.GrantHeader.decode(redeem.dec(res["header"]))
        return orig(res, key, gid, header.owner_sign_pk)

    mp.setattr(redeem, "_verify_open", verify)


def _append_unconfirmed(mp: Any) -> None:
    """A sync that counts a file as synced although the server did not confirm it."""
    from vault_client.sync.log import LogMixin
    from vault_core.errors import Conflict, VaultError

    orig = LogMixin.append

    async def append(self: Any, v: Any, records: Any, refs: Any) -> None:
        try:
            await orig(self, v, records, refs)
        except Conflict:
            raise
        except VaultError:
            return None

    mp.setattr(LogMixin, "append", append)


def _fetch_fail_open(mp: Any) -> None:
    """A chunk that cannot be fetched (missing, cut short) is skipped, not fatal."""
    import vault_client.sync as sync
    import vault_client.sync.download as download
    import vault_core.chunks as chunks
    from vault_core.errors import VaultError

    async def write_chunks(
        api: Any, manifest: Any, fd: int, name: str, grant: Any = None, auth: Any = None
    ) -> None:
        for ref in manifest.chunks:
            try:
                blob = await api.blob(ref.id, auth=auth, grant=grant)
            except VaultError:
                continue
            os.write(fd, chunks.open_chunk(ref, blob))

    # looked up in download.py by the sync, in the package by shares.py (at each call)
    mp.setattr(download, "write_chunks", write_chunks)
    mp.setattr(sync, "write_chunks", write_chunks)


def _arrival_order(mp: Any) -> None:
    """Chunks are taken in the order their answers arrive."""
    import asyncio

    import vault_client.sync as sync
    import vault_client.sync.download as download
    import vault_core.chunks as chunks

    async def write_chunks(
        api: Any, manifest: Any, fd: int, name: str, grant: Any = None, auth: Any = None
    ) -> None:
        tasks = [
            asyncio.ensure_future(api.blob(r.id, auth=auth, grant=grant)) for r in manifest.chunks
        ]
        for ref, done in zip(manifest.chunks, asyncio.as_completed(tasks), strict=True):
            os.write(fd, chunks.open_chunk(ref, await done))

    # looked up in download.py by the sync, in the package by shares.py (at each call)
    mp.setattr(download, "write_chunks", write_chunks)
    mp.setattr(sync, "write_chunks", write_chunks)


def _discard_invalid_deposits(mp: Any) -> None:
    """A deposit that fails verification is thrown away (instead of kept and refused)."""
    import vault_client.service.inbox as inbox
    from vault_core.errors import IntegrityError

    orig = inbox.accept

    async def accept(ctx: Any, deposit_id: str, *rest: Any) -> Any:
        try:
            return await orig(ctx, deposit_id, *rest)
        except IntegrityError:
            async with ctx.api() as api:
                await api.delete(f"/v1/inbox/{deposit_id}")
            raise

    mp.setattr(inbox, "accept", accept)


def _post_dated_off(mp: Any) -> None:
    from vault_core import _crypto
    from vault_core.deposits import DepositProof
    from vault_core.errors import IntegrityError

    def verify(
        self: Any,
        *,
        trusted: Any,
        now: int,
        owner: str,
        owner_sign_pk: bytes,
        document_sha256: bytes,
        received: int | None = None,
    ) -> str:
        self.check_signature()
        self.statement.check_fields()
        st = self.statement
        if st.to != owner or not _crypto.equal(st.to_sign_pk, owner_sign_pk):
            raise IntegrityError("deposit addressed to another person")
        if not _crypto.equal(st.doc_sha256, document_sha256):
            raise IntegrityError("document does not match its signature")
        at = received if received is not None else now
        self.cert.verify(trusted, at, "deposit")
        self.cert.verify(trusted, st.issued, "deposit")
        return str(self.cert.name)  # (no "issued after reception" check)

    mp.setattr(DepositProof, "verify", verify)


def _requests_fail_open(mp: Any) -> None:
    """Requests that do not open are taken at the server's word."""
    import dataclasses

    import vault_client.service.requests as requests

    orig = requests.list_requests

    async def list_requests(ctx: Any) -> Any:
        return [
            it
            if it.valid
            else dataclasses.replace(
                it,
                valid=True,
                certified=True,
                requester=it.from_,
                account=it.from_,
                needs=[],
                message="",
            )
            for it in await orig(ctx)
        ]

    mp.setattr(requests, "list_requests", list_requests)


def _server_due_date(mp: Any) -> None:
    """The listing shows the server's due date, and no difference."""
    import dataclasses

    import vault_client.service.requests as requests

    orig = requests.list_requests

    async def list_requests(ctx: Any) -> Any:
        items = await orig(ctx)
        async with ctx.api() as api:
            server = {r["id"]: r.get("due_at") for r in await api.get("/v1/requests")}
        return [
            dataclasses.replace(it, due=requests._date(server.get(it.id)), problem=None)
            for it in items
        ]

    mp.setattr(requests, "list_requests", list_requests)


def _grant_fail_open(mp: Any) -> None:
    """A grant whose key, header or payload fails is shown as an empty share."""
    import vault_client.service.redeem as redeem
    from vault_core import grants as g
    from vault_core.errors import IntegrityError

    orig_verify, orig_key = redeem._verify_open, g.open_grant_key

    def open_grant_key(sk: bytes, sealed: bytes, gid: str) -> bytes:
        try:
            return orig_key(sk, sealed, gid)
        except IntegrityError:
            return os.urandom(32)

    def verify(res: Any, key: bytes, gid: str, owner_pk: Any) -> Any:
        try:
            return orig_verify(res, key, gid, owner_pk)
        except IntegrityError:
            header = g.GrantHeader(gid, "?", bytes(32), "link", None, None, 2**40, None, False, 0)
            return header, g.GrantPayload(gid, 0, (), ())

    mp.setattr(g, "open_grant_key", open_grant_key)
    mp.setattr(redeem, "_verify_open", verify)


def _revocation_not_remembered(mp: Any) -> None:
    import vault_client.service.shares as shares

    async def revoke(ctx: Any, grant_id: str) -> None:
        async with ctx.api() as api:
            await api.delete(f"/v1/grants/{grant_id}")

    mp.setattr(shares, "revoke", revoke)


def _kdf_parse_lenient(mp: Any) -> None:
    import base64

    from vault_core.keys import KdfParams

    def from_json(cls: Any, obj: Any) -> Any:
        salt = base64.urlsafe_b64decode(obj["salt"] + "=" * (-len(obj["salt"]) % 4))
        return cls(
            salt=(salt + b"\x01" * 16)[:16],
            m_kib=int(float(obj["m_kib"])),
            t=int(float(obj["t"])),
            p=int(float(obj["p"])),
        )

    mp.setattr(KdfParams, "from_json", classmethod(from_json))


def _public_keys_unchecked(mp: Any) -> None:
    """Server-supplied public keys used as they come: loose parsing, no key checks, no
    self-signature, zero shared secrets allowed (Nextcloud's zero-key flaw)."""
    import base64
    import hashlib as hl

    import vault_client.identity as identity
    import vault_core._crypto as crypto
    from vault_core.keys import PublicIdentity

    def loose(x: Any, n: int) -> bytes:
        try:
            raw = base64.urlsafe_b64decode(str(x) + "=" * (-len(str(x)) % 4))
        except ValueError:
            raw = b""
        return (raw + bytes(n))[:n]

    async def public_identity(api: Any, handle: str) -> Any:
        res = await api.get(f"/v1/users/{handle}/keys")
        res = res if isinstance(res, dict) else {}
        return PublicIdentity(
            handle,
            loose(res.get("sign_pk"), 32),
            loose(res.get("box_pk"), 32),
            loose(res.get("sig"), 64),
        )

    def seal_key(secret: bytes, peer: bytes, epk: bytes, rpk: bytes) -> bytes:
        try:
            shared = bytes(crypto._b.crypto_scalarmult(secret, peer))
        except Exception:  # noqa: BLE001 - a mutant: anything goes
            shared = bytes(32)
        return hl.blake2b(b"vault.v1/seal" + epk + rpk, key=shared, digest_size=32).digest()

    mp.setattr(identity, "public_identity", public_identity)
    mp.setattr(crypto, "check_box_pk", lambda pk: None)
    mp.setattr(crypto, "check_sign_pk", lambda pk: None)
    mp.setattr(crypto, "_seal_key", seal_key)


def _head_unchecked(mp: Any) -> None:
    import vault_client.sync.log as synclog

    async def remote_head(self: Any) -> int:
        res = await self.api.get("/v1/log/head")
        return int(res["seq"])

    mp.setattr(synclog.LogMixin, "remote_head", remote_head)
    mp.setattr(synclog, "check_head", lambda server, seen: None)


def _deposit_fields_unchecked(mp: Any) -> None:
    from vault_core.deposits import DepositStatement

    mp.setattr(DepositStatement, "check_fields", lambda self: None)


def _vault_path_lenient(mp: Any) -> None:
    import vault_client.service.documents as documents

    def vault_path(profile: Any, path: str, cwd: Any = None) -> str:
        return os.path.relpath(os.path.abspath(path), str(profile.folder))

    mp.setattr(documents, "vault_path", vault_path)


def _upload_unconfirmed(mp: Any) -> None:
    """Blobs count as uploaded whether or not the server confirmed them."""
    from vault_client.sync.uploader import Uploader
    from vault_core.errors import VaultError

    orig = Uploader._send

    async def send(self: Any, batch: Any) -> None:
        try:
            await orig(self, batch)
        except VaultError:
            self.state.add_blobs([i for i, _ in batch])

    mp.setattr(Uploader, "_send", send)


def _requests_uncertified_answered(mp: Any) -> None:
    """Any request that opens may be answered, certified or not."""
    import dataclasses

    import vault_client.service.requests as requests

    orig = requests.list_requests

    async def list_requests(ctx: Any) -> Any:
        items = await orig(ctx)
        return [dataclasses.replace(it, certified=True) if it.valid else it for it in items]

    mp.setattr(requests, "list_requests", list_requests)


def _devices_unverified(mp: Any) -> None:
    import vault_client.service.account as account

    async def list_devices(ctx: Any) -> Any:
        profile = ctx.account()
        async with ctx.api() as api:
            listed = await api.get("/v1/devices")
        return [
            account.Device(
                d["id"],
                d.get("name"),
                d.get("created_at"),
                d.get("revoked_at"),
                True,
                d["id"] == profile.device_id,
            )
            for d in listed
        ]

    mp.setattr(account, "list_devices", list_devices)


def _client_expiry_off(mp: Any) -> None:
    import vault_client.service.redeem as shares
    from vault_core import grants as g
    from vault_core.errors import IntegrityError

    def verify(res: Any, key: bytes, gid: str, owner_pk: Any) -> Any:
        try:
            return g.open_payload(
                shares.dec(res["header"]), shares.dec(res["payload"]), key, gid, owner_pk
            )
        except (KeyError, TypeError, IntegrityError):
            raise IntegrityError(f"grant {gid}: the shared documents failed verification") from None

    mp.setattr(shares, "_verify_open", verify)


def _client_revisions_off(mp: Any) -> None:
    """The grantee takes whatever payload revision the server gives."""
    import vault_client.service.redeem as redeem

    mp.setattr(redeem, "_note_revision", lambda state_db, red: None)


def _ignore_rules_unguarded(mp: Any) -> None:
    """The sync and the inbox take no care of names the scan ignores."""
    import vault_client.folder as folder

    mp.setattr(folder.Folder, "ignored", lambda self, rel: False)


def _ids_unchecked(mp: Any) -> None:
    import vault_client.api as api
    import vault_client.service.account as account
    import vault_client.service.inbox as inbox
    import vault_client.service.redeem as redeem
    import vault_client.service.requests as requests
    import vault_client.service.shares as shares

    for mod in (account, inbox, redeem, requests, shares):
        mp.setattr(mod, "check_id", lambda value, what: value)
    for mod in (inbox, requests):
        mp.setattr(mod, "is_id", lambda value: True)
    mp.setattr(api, "check_api_path", lambda path: None)


def _key_material_errors_unmapped(mp: Any) -> None:
    """Missing or malformed key material escapes the refusal path (an internal error)."""
    import vault_client.service.account as account
    import vault_client.service.redeem as shares

    class Unmapped(Exception):
        pass

    def dec(value: Any, size: int | None = None) -> bytes:
        from vault_core.encoding import unb64u

        try:
            return unb64u(value, size)
        except Exception as exc:
            raise ValueError("malformed field") from exc

    for mod in (account, shares):
        mp.setattr(mod, "KeyError", Unmapped, raising=False)
        mp.setattr(mod, "dec", dec)


SERVER_PATCHES = {
    "server-grant-state-off": """
        import vault_server.storage.base as base
        base.Grant.state = lambda self, now, max_failed: "active"
    """,
    "server-sessions-survive": """
        from vault_server.storage.sqlite_meta import accounts as a
        from vault_server.storage.base import Session

        async def revoke_device(self, account_id, device_id, now):
            def run(c):
                cur = c.execute("UPDATE devices SET revoked_at=? WHERE id=? AND account_id=?",
                                (now, device_id, account_id))
                return cur.rowcount == 1
            return await self._write(run)

        async def get_session(self, token_hash, now):
            def run(c):
                r = c.execute("SELECT * FROM sessions WHERE token_hash=?", (token_hash,)
                              ).fetchone()
                return None if r is None else Session(r["token_hash"], r["account_id"],
                                                      r["device_id"], r["expires_at"])
            return await self._read(run)

        async def delete_session(self, token_hash):
            return None

        a.AccountsPart.revoke_device = revoke_device
        a.AccountsPart.get_session = get_session
        a.AccountsPart.delete_session = delete_session
    """,
    "server-rate-limit-off": """
        import vault_server.limits as limits
        async def check_login(c, handle, address):
            return None
        limits.check_login = check_login
    """,
    "server-cross-account-off": """
        from vault_server.storage.sqlite_meta import blobs_log, inbox

        async def blob_size(self, account_id, blob_id):
            def run(c):
                r = c.execute("SELECT size FROM blobs WHERE blob_id=? AND state='present'",
                              (blob_id,)).fetchone()
                return int(r[0]) if r else None
            return await self._read(run)

        blobs_log.BlobsLogPart.blob_size = blob_size
    """,
    "server-body-limits-off": """
        import vault_server.cli as cli
        import vault_server.config as config

        _Limits = config.Limits
        huge = 1 << 40
        cli.Limits = lambda **kw: _Limits(**{**kw, "json_body": huge, "log_body": huge,
                                            "blob_size": huge, "batch_body": huge})
    """,
    "server-grant-kind-off": """
        import vault_server.routes_grants as rg
        from vault_core.errors import GrantUnavailable

        _orig = rg._grantee

        async def _grantee(request, grant):
            auth = rg.authorization(request)
            if grant is not None and auth is not None and auth[0].lower() == "bearer":
                caller = await rg.caller_from_token(request, auth[1])
                if rg._state(rg.ctx(request), grant) != "active":
                    raise GrantUnavailable()
                return grant, caller
            return await _orig(request, grant)

        rg._grantee = _grantee
    """,
    "upload-unconfirmed": """
        from vault_server.storage.sqlite_meta import core
        core._check_present = lambda c, account_id, blob_ids: None
        from vault_server.storage.sqlite_meta import blobs_log
        blobs_log._check_present = lambda c, account_id, blob_ids: None
    """,
    "server-id-grammar-off": """
        import vault_server.validate as v
        v.blob_id = lambda value, what="blob id": value
        v.hex_id = lambda value, what="id": value
    """,
    "server-scope-off": """
        from vault_server.storage.sqlite_meta import grants

        async def grant_has_blob(self, grant_id, blob_id):
            return True

        grants.GrantsPart.grant_has_blob = grant_has_blob
    """,
    "server-fake-salts-off": """
        import os
        import vault_server.routes_accounts as ra
        ra._fake_kdf = lambda c, handle: {**ra.FAKE_KDF, "t": 4,
                                          "salt": ra.b64u(os.urandom(16))}
    """,
}


def _helper_checks_off(mp: Any) -> None:
    """Helper entries taken without their mandate's checks: any signer, scope, time or end."""
    from vault_core.log import LogVerifier, open_helper_record

    def helper(self: Any, entry: Any, held: Any) -> Any:
        return open_helper_record(self.handle, self.box_sk, entry)

    mp.setattr(LogVerifier, "_helper_record", helper)


def _mandate_copy_unchecked(mp: Any) -> None:
    """The helper's client believes the server's scope kinds and state, not her signed copy."""
    from vault_core import mandates

    mp.setattr(mandates, "allows", lambda scopes, action, path=None: True)
    mp.setattr(mandates, "scope_kinds", lambda scopes: list(mandates.KINDS))


def _forward_unchecked(mp: Any) -> None:
    """A forward's key taken without the owner's signature or the envelope's hash."""
    from vault_client.service import act_for
    from vault_core import delegated
    from vault_core.encoding import parse_canonical_json, unb64u

    def open_forward(data: bytes, *args: Any) -> Any:
        envelope = args[-1]
        try:
            o = parse_canonical_json(data)["statement"]
            return delegated.splice(envelope, unb64u(o["sealed_key"])), o.get("certified")
        except Exception:  # noqa: BLE001 (a mutant: anything goes)
            return envelope, None

    mp.setattr(act_for, "open_forward", open_forward)


@dataclass(frozen=True)
class Mutant:
    name: str
    property: str
    targets: tuple[str, ...]
    client: Patch | None = None

    @property
    def server(self) -> str | None:
        return SERVER_PATCHES.get(self.name)


MUTANTS = [
    Mutant(
        "helper-checks-off",
        "4/10 helper entries not checked against the mandate (signer, scope, time, end)",
        ("test_mandates",),
        _helper_checks_off,
    ),
    Mutant(
        "forward-unchecked",
        "6 a forwarded key taken without the owner's signature",
        ("test_mandates",),
        _forward_unchecked,
    ),
    Mutant(
        "mandate-copy-unchecked",
        "10 the helper's client trusts the server's scope kinds",
        ("test_mandates",),
        _mandate_copy_unchecked,
    ),
    Mutant(
        "log-fail-open",
        "12 fail closed: a log entry that fails is skipped",
        ("test_log", "test_devices", "test_paths"),
        _log_fail_open,
    ),
    Mutant(
        "chain-off",
        "5 hash chain (seq, prev) not checked",
        ("test_log", "test_devices"),
        _chain_off,
    ),
    Mutant("hwm-off", "5 high-water mark: rollback not checked", ("test_log",), _hwm_off),
    Mutant(
        "truncation-off",
        "3/5 a log shorter than its head is accepted",
        ("test_log",),
        _truncation_off,
    ),
    Mutant(
        "chunk-fail-open",
        "1/2/7 chunk AEAD and hash not enforced",
        ("test_content",),
        _chunk_fail_open,
    ),
    Mutant(
        "manifest-fail-open", "3/7 manifest not enforced", ("test_content",), _manifest_fail_open
    ),
    Mutant("kdf-floor-off", "11 Argon2id floor", ("test_keys",), _kdf_floor_off),
    Mutant(
        "pinning-off", "8 counterpart keys not pinned", ("test_keys", "test_grants"), _pinning_off
    ),
    Mutant(
        "public-key-checks-off",
        "6 zero/low-order/small-order keys accepted",
        ("test_keys",),
        _public_key_checks_off,
    ),
    Mutant(
        "bundle-identity-off",
        "6 listed identity not bound to the bundle",
        ("test_keys",),
        _bundle_identity_off,
    ),
    Mutant(
        "bundle-fail-open",
        "6/12 unauthenticated key material used",
        ("test_keys",),
        _bundle_fail_open,
    ),
    Mutant(
        "device-certs-off",
        "4 device certificates not checked",
        ("test_devices",),
        _device_certs_off,
    ),
    Mutant(
        "signatures-off",
        "4/9/10 no signature is checked",
        ("test_devices", "test_log", "test_grants", "test_deposits", "test_keys"),
        _signatures_off,
    ),
    Mutant("revocation-off", "4 revoked devices still write", ("test_devices",), _revocation_off),
    Mutant(
        "issuer-trust-off",
        "9 issuer certificates not checked",
        ("test_deposits",),
        _issuer_trust_off,
    ),
    Mutant(
        "issuer-signature-off",
        "9 statement signature not checked",
        ("test_deposits",),
        _issuer_signature_off,
    ),
    Mutant(
        "recipient-binding-off",
        "9 statement recipient not checked",
        ("test_deposits",),
        _recipient_binding_off,
    ),
    Mutant("path-rules-off", "13 decrypted names not checked", ("test_paths",), _path_rules_off),
    Mutant("symlinks-off", "13 symlinks followed", ("test_paths",), _symlinks_off),
    Mutant(
        "grant-owner-pin-off",
        "10 grant owner key not pinned",
        ("test_keys", "test_grants"),
        _grant_owner_pin_off,
    ),
    Mutant(
        "append-unconfirmed", "12 synced only once confirmed", ("test_server",), _append_unconfirmed
    ),
    Mutant(
        "upload-unconfirmed",
        "12 blobs count as stored only once confirmed (client, and the server's refs check off)",
        ("test_server",),
        _upload_unconfirmed,
    ),
    Mutant(
        "fetch-fail-open",
        "12 a blob that cannot be fetched is skipped",
        ("test_content",),
        _fetch_fail_open,
    ),
    Mutant("arrival-order", "3 chunks taken in arrival order", ("test_content",), _arrival_order),
    Mutant(
        "discard-invalid-deposits",
        "12 refused deposits are thrown away",
        ("test_deposits",),
        _discard_invalid_deposits,
    ),
    Mutant(
        "post-dated-off",
        "9 a statement issued after its reception",
        ("test_deposits",),
        _post_dated_off,
    ),
    Mutant(
        "requests-fail-open",
        "9 requests that fail are taken at the server's word",
        ("test_deposits",),
        _requests_fail_open,
    ),
    Mutant(
        "server-due-date", "9 the server's due date shown", ("test_deposits",), _server_due_date
    ),
    Mutant(
        "grant-fail-open",
        "10/6 a grant that fails is shown as empty",
        ("test_grants", "test_keys"),
        _grant_fail_open,
    ),
    Mutant(
        "revocation-not-remembered",
        "10 the owner's client forgets a revocation",
        ("test_grants",),
        _revocation_not_remembered,
    ),
    Mutant(
        "kdf-parse-lenient",
        "11/13 malformed KDF parameters coerced",
        ("test_keys",),
        _kdf_parse_lenient,
    ),
    Mutant(
        "public-keys-unchecked",
        "6/8 server-supplied public keys used as they come",
        ("test_keys",),
        _public_keys_unchecked,
    ),
    Mutant(
        "head-unchecked",
        "5 a malformed or lower head is taken as is",
        ("test_log",),
        _head_unchecked,
    ),
    Mutant(
        "deposit-fields-unchecked",
        "13 deposit file names not checked",
        ("test_paths",),
        _deposit_fields_unchecked,
    ),
    Mutant(
        "vault-path-lenient",
        "13 PATH arguments outside the folder",
        ("test_paths",),
        _vault_path_lenient,
    ),
    Mutant("server-grant-kind-off", "14 a bearer opens a link grant", ("test_grants",)),
    Mutant(
        "requests-uncertified-answered",
        "9 requests answered without certification",
        ("test_deposits",),
        _requests_uncertified_answered,
    ),
    Mutant(
        "devices-unverified",
        "4 server-listed devices shown as genuine",
        ("test_devices",),
        _devices_unverified,
    ),
    Mutant(
        "client-expiry-off",
        "10 the grantee ignores the signed expiry",
        ("test_grants",),
        _client_expiry_off,
    ),
    Mutant(
        "client-revisions-off",
        "10 the grantee takes a replayed older revision",
        ("test_grants",),
        _client_revisions_off,
    ),
    Mutant(
        "ignore-rules-unguarded",
        "12 ignored names become deletions",
        ("test_deposits",),
        _ignore_rules_unguarded,
    ),
    Mutant("ids-unchecked", "13 ids used in paths unchecked", ("test_paths",), _ids_unchecked),
    Mutant(
        "key-material-errors-unmapped",
        "12/16 missing or malformed key material is an internal error",
        ("test_keys",),
        _key_material_errors_unmapped,
    ),
    Mutant(
        "server-grant-state-off",
        "10 grant expiry/revocation/uses/lock not enforced",
        ("test_grants",),
    ),
    Mutant(
        "server-sessions-survive",
        "14 logout/revocation/passphrase change keep sessions",
        ("test_server",),
    ),
    Mutant("server-rate-limit-off", "14 login rate limit", ("test_server",)),
    Mutant("server-cross-account-off", "14 per-account blobs", ("test_server", "test_grants")),
    Mutant("server-body-limits-off", "14 streaming size limits", ("test_server",)),
    Mutant("server-id-grammar-off", "13/14 id grammar on the server", ("test_paths",)),
    Mutant("server-scope-off", "10 grant blob set", ("test_grants",)),
    Mutant("server-fake-salts-off", "16 no account enumeration", ("test_server",)),
]
BY_NAME = {m.name: m for m in MUTANTS}


def server_env(name: str, root: Path) -> dict[str, str]:
    """Environment for a server process running mutant ``name`` (empty for client ones)."""
    m = BY_NAME[name]
    if m.server is None:
        return {}
    site = root / "mutant-site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(textwrap.dedent(m.server))
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def main() -> None:
    here = Path(__file__).resolve().parent
    repo = here.parent.parent
    out = Path(os.environ.get("HOSTILE_MUTANTS_OUT", Path(tempfile.gettempdir()) / "vault-mutants"))
    out.mkdir(parents=True, exist_ok=True)
    only = sys.argv[1:]
    killed: dict[str, list[str]] = {}
    for m in MUTANTS:
        if only and m.name not in only:
            continue
        xml = out / f"{m.name}.xml"
        files = [str(here / f"{t}.py") for t in m.targets]
        env = {**os.environ, "HOSTILE_MUTANT": m.name}
        env.pop("HOSTILE_SUBPROCESS", None)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={xml}",
                *files,
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            check=False,
        )
        failed = []
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            bad = case.find("failure") is not None or case.find("error") is not None
            if bad:
                failed.append(name)
                killed.setdefault(name, []).append(m.name)
        print(f"{m.name:28} killed {len(failed):3} tests   ({m.property})", flush=True)
    (out / "killed.txt").write_text(
        "\n".join(f"{t}\t{' '.join(ms)}" for t, ms in sorted(killed.items())) + "\n"
    )
    print(f"per-test results in {out}/killed.txt")


if __name__ == "__main__":
    main()
