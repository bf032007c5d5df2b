"""Key material from a hostile server: substituted or malformed key bundles at login, weakened
Argon2id parameters and swapped salts, substituted, zero, low-order and malformed public keys
for a counsellor, a deposit recipient and a grant's owner, substituted sealed grant keys
(MEGA's unauthenticated key material; Nextcloud's server-supplied keys and zero keys; the
ETH survey's unauthenticated public keys).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from vault_core import _crypto
from vault_core.encoding import b64u, unb64u
from vault_core.errors import EXIT_AUTH, EXIT_FAILURE, EXIT_INTEGRITY
from vault_core.keys import PublicIdentity, new_bundle

from .harness import Device, World, assert_refused

# -- login: bundles, identities, KDF parameters -------------------------------------------------


def new_device(world: World, name: str = "n") -> Device:
    return world.device(name)


def login(dev: Device, handle: str = "jean") -> Any:
    return dev.run("login", "--server", dev.url, "--user", handle, "--folder", str(dev.folder))


def no_profile(dev: Device) -> None:
    """The refused login left no account in the profile (a retry starts from scratch)."""
    cfg = dev.home / "config.json"
    assert not cfg.exists() or not json.loads(cfg.read_text()).get("handle")
    assert not (dev.home / "secrets.bin").exists()


def rewrite_finish(world: World, door: str, field: str, value: Any) -> None:
    def response(ex: Any) -> None:
        if ex.status == 200:
            body = ex.json()
            if value is None:
                body.pop(field, None)
            else:
                body[field] = value
            ex.set_json(body)

    world.proxy.on("POST", r"/v1/login/finish", door=door, response=response)


def bundle_cases(world: World) -> dict[str, Any]:
    store = world.store
    jean = store.bundle("jean")
    return {
        "another-accounts-bundle": b64u(store.bundle("alice")),
        "recovery-slot-bundle": b64u(store.bundle("jean", "recovery")),
        "truncated": b64u(jean[:-5]),
        "bit-flip": b64u(jean[:50] + bytes([jean[50] ^ 1]) + jean[51:]),
        "garbage": b64u(os.urandom(200)),
        "empty": "",
        "not-base64": "!!!",
    }


BUNDLE_CASES = [
    "another-accounts-bundle",
    "recovery-slot-bundle",
    "truncated",
    "bit-flip",
    "garbage",
    "empty",
    "not-base64",
]


@pytest.mark.parametrize("case", BUNDLE_CASES)
def test_key_bundle_substitution_at_login(world: World, case: str) -> None:
    """The server answers a correct login with another wrapped bundle: the new device refuses
    it (AEAD under the passphrase key, AD naming handle and slot), keeps nothing."""
    dev = new_device(world)
    rewrite_finish(world, "n", "bundle", bundle_cases(world)[case])
    res = login(dev)
    assert_refused(res, EXIT_INTEGRITY, names=("bundle", "account keys"))
    no_profile(dev)


def test_identity_substitution_at_login(world: World) -> None:
    """The server lists other public keys for the account than those in its bundle."""
    dev = new_device(world)
    fake = new_bundle("jean", os.urandom(96), 0).public_identity().to_json()
    fake.pop("handle")
    rewrite_finish(world, "n", "identity", fake)
    assert_refused(login(dev), EXIT_INTEGRITY, names=("public keys",))
    no_profile(dev)


def rewrite_kdf(world: World, door: str, change: dict[str, Any]) -> None:
    def response(ex: Any) -> None:
        body = ex.json()
        body["kdf"] = {**body["kdf"], **change}
        ex.set_json(body)

    world.proxy.on("POST", r"/v1/login/start", door=door, response=response)


KDF_CASES = {
    # weakened: below the client's floor, refused before any derivation (exit 4)
    "memory-below-floor": ({"m_kib": 65535}, EXIT_INTEGRITY),
    "tiny-memory": ({"m_kib": 8, "t": 1}, EXIT_INTEGRITY),
    "passes-below-floor": ({"t": 2}, EXIT_INTEGRITY),
    "two-lanes": ({"p": 2}, EXIT_INTEGRITY),
    "all-zero-salt": ({"salt": b64u(bytes(16))}, EXIT_INTEGRITY),
    "absurd-memory": ({"m_kib": 1 << 30}, EXIT_INTEGRITY),
    # malformed: FormatError (SPEC §Passphrases), exit 1
    "other-algorithm": ({"alg": "argon2i"}, EXIT_FAILURE),
    "short-salt": ({"salt": b64u(bytes(range(1, 16)))}, EXIT_FAILURE),
    "string-passes": ({"t": "3"}, EXIT_FAILURE),
    "float-memory": ({"m_kib": 65536.5}, EXIT_FAILURE),
}


@pytest.mark.parametrize("case", sorted(KDF_CASES))
def test_weakened_kdf_parameters_at_login(world: World, case: str) -> None:
    change, code = KDF_CASES[case]
    dev = new_device(world)
    rewrite_kdf(world, "n", change)
    res = login(dev)
    assert_refused(res, code, names=("key-derivation", "kdf", "salt"))
    # refused before deriving anything: no login proof ever left the device
    assert not world.proxy.records("POST", r"/v1/login/finish")
    no_profile(dev)


def test_swapped_salt_at_login(world: World) -> None:
    """A salt of the server's choosing (the same for every victim, for a precomputed table):
    the real server refuses the proof (exit 3); a server that answers "welcome" anyway with
    the genuine wrapped bundle gets exit 4: the bundle does not open under the wrong key."""
    attacker_salt = b64u(_crypto.sha256(b"precomputed table")[:16])
    dev = new_device(world)
    rewrite_kdf(world, "n", {"salt": attacker_salt})
    assert_refused(login(dev), EXIT_AUTH)
    no_profile(dev)

    store = world.store

    def welcome(ex: Any) -> None:
        ex.set_json(
            {
                "token": b64u(os.urandom(32)),
                "expires_at": 2_000_000_000,
                "bundle": b64u(store.bundle("jean")),
                "kdf": {"alg": "argon2id", "m_kib": 65536, "p": 1, "salt": attacker_salt, "t": 3},
                "identity": {k: v for k, v in store.identity("jean").items() if k != "handle"},
                "device_id": None,
            }
        )

    world.proxy.on("POST", r"/v1/login/finish", door="n", reply=welcome)
    assert_refused(login(dev), EXIT_INTEGRITY, names=("bundle", "account keys"))
    no_profile(dev)


def test_genuine_login_after_refused_attempts(world: World) -> None:
    """Nothing lost: after refused attempts on one profile, the genuine login works there."""
    dev = new_device(world)
    rewrite_kdf(world, "n", {"t": 1})
    assert login(dev).returncode == EXIT_INTEGRITY
    world.proxy.clear()
    rewrite_finish(world, "n", "bundle", b64u(world.store.bundle("alice")))
    assert login(dev).returncode == EXIT_INTEGRITY
    world.proxy.clear()
    assert login(dev).returncode == 0
    dev.ok("sync")
    assert dev.tree() == world.facts["a_tree"]


# -- public keys: counsellor, deposit recipient, grant owner -----------------------------------


def fake_identity(handle: str) -> PublicIdentity:
    return new_bundle(handle, os.urandom(96), 0).public_identity()


def identity_json(
    sign_pk: bytes,
    box_pk: bytes,
    sig: bytes | None = None,
    handle: str = "alice",
    signer_seed: bytes | None = None,
) -> dict[str, Any]:
    if sig is None:
        pk, sk = _crypto.sign_keypair(signer_seed or os.urandom(32))
        sign_pk = sign_pk or pk
        sig = _crypto.sign(sk, PublicIdentity._message(handle, sign_pk, box_pk))
    return {"handle": handle, "sign_pk": b64u(sign_pk), "box_pk": b64u(box_pk), "sig": b64u(sig)}


def _hex(h: str) -> bytes:
    return bytes.fromhex(h)


def bad_key_cases() -> dict[str, dict[str, Any]]:
    good = fake_identity("alice")
    seed = os.urandom(32)
    pk = _crypto.sign_keypair(seed)[0]
    low = "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"
    small = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
    mixed = "c4e4dc69396e6072ae80a0eb924b8ed991f4cf3e70d52447b3b0f24e4791883b"
    return {
        "zero-box-key": identity_json(pk, bytes(32), signer_seed=seed),
        "low-order-box-key": identity_json(pk, _hex(low), signer_seed=seed),
        "zero-sign-key": identity_json(bytes(32), good.box_pk, sig=good.sig),
        "small-order-sign-key": identity_json(_hex(small), good.box_pk, sig=good.sig),
        "mixed-order-sign-key": identity_json(_hex(mixed), good.box_pk, sig=good.sig),
        "short-box-key": {**good.to_json(), "box_pk": b64u(good.box_pk[:31])},
        "empty-box-key": {**good.to_json(), "box_pk": ""},
        "not-base64": {**good.to_json(), "box_pk": "***"},
        "unsigned": {**good.to_json(), "sig": b64u(bytes(64))},
        "signature-missing": {k: v for k, v in good.to_json().items() if k != "sig"},
        "another-accounts-keys": fake_identity("eve").to_json(),
        "not-an-object": [],  # type: ignore[dict-item]
    }


BAD_KEY_CASES = sorted(bad_key_cases())


@pytest.mark.parametrize("case", BAD_KEY_CASES)
def test_bad_public_key_for_counsellor_first_use(world: World, case: str) -> None:
    """Jean shares with alice for the first time; the server answers with a zero, low-order,
    small-order, short, unsigned or foreign key: nothing is sealed to it, nothing pinned."""
    value = bad_key_cases()[case]
    world.proxy.on("GET", r"/v1/users/alice/keys", door="a", reply=lambda ex: ex.set_json(value))
    grants = world.store.grant_ids("jean")
    res = world.a.run("share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "alice")
    assert_refused(res, EXIT_INTEGRITY, names=("alice",))
    assert world.store.grant_ids("jean") == grants, "a grant was created"
    contacts = world.a.home / "contacts.json"
    assert "alice" not in (json.loads(contacts.read_text()) if contacts.exists() else {})
    world.proxy.clear()
    world.a.ok("share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "alice")


def substitute_identity(world: World, handle: str) -> PublicIdentity:
    fake = fake_identity(handle)
    world.store.set_identity(handle, fake.sign_pk, fake.box_pk, fake.sig)
    return fake


def test_counsellor_key_substituted_after_pinning(world: World) -> None:
    """Jean pinned bouchra's keys when he first shared with her; the server now serves its own
    keys (validly self-signed for "bouchra"): refused until jean re-verifies."""
    genuine = world.store.identity("bouchra")
    substitute_identity(world, "bouchra")
    grants = world.store.grant_ids("jean")
    res = world.a.run("share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "bouchra")
    msg = assert_refused(res, EXIT_INTEGRITY, names=("bouchra",))
    assert "changed" in msg
    assert world.store.grant_ids("jean") == grants
    world.store.set_identity("bouchra", *(unb64u(genuine[k]) for k in ("sign_pk", "box_pk", "sig")))
    world.a.ok("share", "create", "papiers/acte.txt", "--expires", "1h", "--to", "bouchra")


def test_deposit_recipient_key_substituted(world: World) -> None:
    """Mairie pinned jean's keys at its first deposit; the server substitutes its own: the
    next deposit is refused before anything is sealed to the server's key."""
    genuine = world.store.identity("jean")
    substitute_identity(world, "jean")
    before = world.store.deposits("jean")
    res = world.m.run(
        "issuer", "deposit", "--to", "jean", "--type", "tax-notice", world.facts["doc"]
    )
    msg = assert_refused(res, EXIT_INTEGRITY, names=("jean",))
    assert "changed" in msg
    assert world.store.deposits("jean") == before
    world.store.set_identity("jean", *(unb64u(genuine[k]) for k in ("sign_pk", "box_pk", "sig")))
    world.m.ok("issuer", "deposit", "--to", "jean", "--type", "tax-notice", world.facts["doc"])


def test_deposit_recipient_zero_key_first_use(world: World) -> None:
    """First deposit to bouchra: the server answers with an all-zero encryption key."""
    seed = os.urandom(32)
    pk = _crypto.sign_keypair(seed)[0]
    value = identity_json(pk, bytes(32), handle="bouchra", signer_seed=seed)
    world.proxy.on("GET", r"/v1/users/bouchra/keys", door="m", reply=lambda ex: ex.set_json(value))
    res = world.m.run(
        "issuer", "deposit", "--to", "bouchra", "--type", "tax-notice", world.facts["doc"]
    )
    assert_refused(res, EXIT_INTEGRITY, names=("bouchra",))
    assert world.store.deposits("bouchra") == []


# -- a grant minted by the server in the owner's name -----------------------------------------


def mint_account_grant(world: World, owner: str, to: str, signer: Any) -> str:
    """A grant row the owner never made: header and payload signed by ``signer`` (a bundle of
    the server's), grant key sealed to the grantee's genuine key."""
    import time

    from vault_core import grants as g

    to_ident = world.store.identity(to)
    grant_id = os.urandom(16).hex()
    header = g.GrantHeader(
        grant_id=grant_id,
        owner=owner,
        owner_sign_pk=signer.identity_sign[0],
        kind="account",
        to=to,
        to_box_pk=unb64u(to_ident["box_pk"]),
        expires=int(time.time()) + 3600,
        max_uses=None,
        password=False,
        created=int(time.time() * 1000),
    )
    key = os.urandom(32)
    item = g.GrantItem(
        name="virement-urgent.txt",
        file_id=os.urandom(16).hex(),
        version=1,
        size=5,
        mtime=0,
        content=os.urandom(32),
        manifest=os.urandom(32).hex(),
        key=os.urandom(32),
    )
    payload = g.GrantPayload(grant_id, 1, ("virement-urgent.txt",), (item,))
    sealed = g.seal_payload(header, payload, key, signer.identity_sign[1], os.urandom(24))
    sealed_key = g.seal_grant_key(unb64u(to_ident["box_pk"]), key, grant_id, os.urandom(32))
    world.store.execute(
        "INSERT INTO grants(id, owner_id, kind, to_account_id, access_hash, expires_at,"
        " max_uses, uses, failed, password, header, payload, sealed_key, revoked_at, created_at)"
        " VALUES(?,?,'account',?,NULL,?,NULL,0,0,0,?,?,?,NULL,0)",
        grant_id,
        world.store.account_id(owner),
        world.store.account_id(to),
        header.expires,
        header.encode(),
        sealed,
        sealed_key,
    )
    return grant_id


@pytest.mark.parametrize("keys_too", [False, True], ids=["header-key-only", "keys-substituted"])
def test_grant_minted_in_owners_name(world: World, keys_too: bool, tmp_path: Any) -> None:
    """Bouchra pinned jean's key when she opened his grant; the server mints a grant "from
    jean" with its own key (and, second case, also serves that key as jean's): refused."""
    signer = new_bundle("jean", os.urandom(96), 0)
    if keys_too:
        ident = signer.public_identity()
        world.store.set_identity("jean", ident.sign_pk, ident.box_pk, ident.sig)
    gid = mint_account_grant(world, "jean", "bouchra", signer)
    out = tmp_path / "out"
    res = world.c.run("redeem", gid, "--out", str(out))
    assert_refused(res, EXIT_INTEGRITY, names=("jean", "grant", "shared documents"))
    assert not out.exists() or not any(out.rglob("*"))
    contacts = json.loads((world.c.home / "contacts.json").read_text())
    assert contacts["jean"]["sign_pk"] != b64u(signer.identity_sign[0])


# -- sealed grant keys --------------------------------------------------------------------------


def sealed_key_cases(world: World) -> dict[str, Any]:
    from vault_core import grants as g

    box = unb64u(world.store.identity("bouchra")["box_pk"])
    gid = world.facts["account_grant"]
    return {
        "empty": "",
        "all-zero": b64u(bytes(80)),
        "truncated": None,  # filled from the genuine answer
        "key-of-the-servers-choosing": b64u(
            g.seal_grant_key(box, os.urandom(32), gid, os.urandom(32))
        ),
        "sealed-for-another-grant": b64u(
            g.seal_grant_key(box, os.urandom(32), os.urandom(16).hex(), os.urandom(32))
        ),
        "missing": "<missing>",
    }


SEALED_CASES = [
    "empty",
    "all-zero",
    "truncated",
    "key-of-the-servers-choosing",
    "sealed-for-another-grant",
]


@pytest.mark.parametrize("case", SEALED_CASES)
def test_sealed_grant_key_substitution(world: World, case: str, tmp_path: Any) -> None:
    value = sealed_key_cases(world)[case]
    gid = world.facts["account_grant"]

    def response(ex: Any) -> None:
        body = ex.json()
        if value == "<missing>":
            body.pop("sealed_key", None)
        elif value is None:
            body["sealed_key"] = body["sealed_key"][:-8]
        else:
            body["sealed_key"] = value
        ex.set_json(body)

    world.proxy.on("POST", rf"/v1/grants/{gid}/open", door="c", response=response)
    out = tmp_path / "out"
    res = world.c.run("redeem", gid, "--out", str(out))
    assert_refused(res, EXIT_INTEGRITY, names=(gid,))
    assert not out.exists() or not any(out.rglob("*"))
    world.proxy.clear()
    world.c.ok("redeem", gid, "--out", str(out))
    assert (out / "dossier" / "caf.txt").read_bytes() == b"attestation caf\n"


# -- key material left out --------------------------------------------------------------------


@pytest.mark.parametrize("case", ["bundle-missing", "sealed-key-missing"])
def test_missing_key_material_refused(world: World, case: str, tmp_path: Any) -> None:
    """An answer without its key material (the field left out) is refused like a forged one:
    the contract's exit code and a message naming it, never an internal error."""
    if case == "bundle-missing":
        dev = new_device(world)
        rewrite_finish(world, "n", "bundle", None)
        assert_refused(login(dev), EXIT_INTEGRITY, names=("bundle", "account keys"))
        no_profile(dev)
        return
    gid = world.facts["account_grant"]

    def response(ex: Any) -> None:
        body = ex.json()
        body.pop("sealed_key")
        ex.set_json(body)

    world.proxy.on("POST", rf"/v1/grants/{gid}/open", door="c", response=response)
    out = tmp_path / "out"
    assert_refused(world.c.run("redeem", gid, "--out", str(out)), EXIT_INTEGRITY, names=(gid,))
    assert not out.exists() or not any(out.rglob("*"))
