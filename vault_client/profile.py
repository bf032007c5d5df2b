"""The profile: one device of one account (or an authority's key store, or empty).

Layout of the profile directory (mode 0700, files 0600)::

    config.json   server, handle, folder, device id and name, local KDF salt (no secrets)
    secrets.bin   "VP1" | nonce | AEAD(local key, secrets JSON, AD) — device key, account
                  bundle, session token, issuer key; local key = Argon2id(passphrase, salt)
    state.db      sync state (verified log mirror, base, checkpoint)
    trust.json    pinned authorities; contacts.json: pinned account keys (TOFU)
    authority.bin the authority key (``vault authority init``), sealed like secrets.bin

Secrets are only ever decrypted in memory, with the passphrase a face asked for (the CLI:
``$VAULT_PASSPHRASE`` or a prompt without echo; the app: its unlock screen); nothing here
prompts.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from vault_core import keys
from vault_core import local as seal_local
from vault_core.encoding import b64u, canonical_json, parse_canonical_json, unb64u
from vault_core.errors import AuthError, LocalError, Locked, UsageError, VaultError
from vault_core.keys import AccountBundle, KdfParams

from .hardening import harden_process

PROFILE_VERSION = 1


def default_home() -> Path:
    env = os.environ.get("VAULT_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("coffre-vault", appauthor=False))


def write_private(path: Path, data: bytes) -> None:
    """Atomic write of an owner-only file (temp, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@dataclass(repr=False)
class Secrets:
    device_seed: bytes = b""
    bundle: AccountBundle | None = None
    token: str = ""
    token_expires: int = 0
    issuer_seed: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return "Secrets(<secret>)"

    def encode(self) -> bytes:
        return canonical_json(
            {
                "bundle": b64u(self.bundle.to_plain()) if self.bundle else None,
                "device_seed": b64u(self.device_seed),
                "extra": self.extra,
                "issuer_seed": b64u(self.issuer_seed),
                "token": self.token,
                "token_expires": self.token_expires,
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> Secrets:
        o = parse_canonical_json(data)
        return cls(
            device_seed=unb64u(o["device_seed"]),
            bundle=AccountBundle.from_plain(unb64u(o["bundle"])) if o["bundle"] else None,
            token=o["token"],
            token_expires=o["token_expires"],
            issuer_seed=unb64u(o["issuer_seed"]),
            extra=o.get("extra", {}),
        )


class Profile:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.config: dict[str, Any] = {}
        self._secrets: Secrets | None = None
        self._local_key: bytes | None = None
        if (home / "config.json").exists():
            try:
                self.config = json.loads((home / "config.json").read_text("utf-8"))
            except (OSError, ValueError):
                raise LocalError(f"the profile at {home} is damaged (config.json)") from None

    # -- layout ----------------------------------------------------------------------------

    def ensure_dir(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)

    @property
    def has_account(self) -> bool:
        return bool(self.config.get("handle"))

    def require_account(self) -> None:
        if not self.has_account:
            raise UsageError(
                f"no account in profile {self.home}: run 'vault init' or 'vault login'"
            )

    @property
    def server(self) -> str:
        return str(self.config["server"])

    @property
    def handle(self) -> str:
        return str(self.config["handle"])

    @property
    def device_id(self) -> str:
        return str(self.config["device_id"])

    @property
    def folder(self) -> Path:
        return Path(self.config["folder"])

    def save_config(self) -> None:
        self.ensure_dir()
        self.config["profile_version"] = PROFILE_VERSION
        write_private(
            self.home / "config.json",
            json.dumps(self.config, indent=2, sort_keys=True).encode("utf-8"),
        )

    # -- secrets at rest ---------------------------------------------------------------------

    def unlock(self, passphrase: str | None = None) -> Secrets:
        if self._secrets is not None:
            return self._secrets
        path = self.home / "secrets.bin"
        if not path.exists():
            raise UsageError(f"no device keys in profile {self.home}")
        if passphrase is None:  # (the faces ask for it; nothing below them prompts)
            raise Locked(f"the profile {self.home} is locked: unlock it with its passphrase")
        harden_process()  # no core dump or ptrace of a process that holds the keys
        params = KdfParams.from_json(self.config["local_kdf"])
        self._local_key = seal_local.local_key(passphrase, params)
        try:
            plain = seal_local.open_blob(self._local_key, path.read_bytes(), self._ad())
        except VaultError:
            raise AuthError("wrong passphrase for this profile") from None
        self._secrets = Secrets.decode(plain)
        return self._secrets

    def create_secrets(self, passphrase: str, secrets: Secrets) -> None:
        harden_process()
        salt = os.urandom(16)
        params = seal_local.new_local_params(salt)
        self.config["local_kdf"] = params.to_json()
        self._local_key = seal_local.local_key(passphrase, params)
        self._secrets = secrets
        self.save_config()
        self.save_secrets()

    def save_secrets(self) -> None:
        if self._secrets is None or self._local_key is None:
            raise LocalError("secrets are locked")
        blob = seal_local.seal_blob(
            self._local_key, self._secrets.encode(), self._ad(), os.urandom(24)
        )
        write_private(self.home / "secrets.bin", blob)

    def _ad(self) -> bytes:
        return canonical_json(
            {"device": self.config.get("device_id", ""), "handle": self.config.get("handle", "")}
        )

    @property
    def unlocked(self) -> bool:
        return self._secrets is not None

    def has_secrets(self) -> bool:
        return (self.home / "secrets.bin").exists()

    def lock(self) -> None:
        """Forget the decrypted secrets and the local key (the app's Verrouiller)."""
        self._secrets = None
        self._local_key = None

    @property
    def secrets(self) -> Secrets:
        if self._secrets is None:
            raise LocalError("secrets are locked")
        return self._secrets

    @property
    def bundle(self) -> AccountBundle:
        b = self.secrets.bundle
        if b is None:
            raise UsageError("this profile has no account keys")
        return b

    # -- pins ----------------------------------------------------------------------------------

    def _load_json(self, name: str) -> dict[str, Any]:
        path = self.home / name
        if not path.exists():
            return {}
        try:
            data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            raise LocalError(f"{path} is damaged") from None
        return data

    def _save_json(self, name: str, data: dict[str, Any]) -> None:
        self.ensure_dir()
        write_private(self.home / name, json.dumps(data, indent=2, sort_keys=True).encode())

    def trusted_authorities(self) -> dict[bytes, str]:
        return {unb64u(k, 32): v["name"] for k, v in self._load_json("trust.json").items()}

    def trust_list(self) -> dict[str, Any]:
        return self._load_json("trust.json")

    def add_trust(self, public_key: str, name: str) -> None:
        data = self._load_json("trust.json")
        data[public_key] = {"name": name}
        self._save_json("trust.json", data)

    def request_templates(self) -> dict[str, Any]:
        """This issuer's request checklists, by name (``vault issuer template``)."""
        return self._load_json("templates.json")

    def save_request_template(self, name: str, template: dict[str, Any]) -> None:
        data = self._load_json("templates.json")
        data[name] = template
        self._save_json("templates.json", data)

    def posted_batch_ids(self) -> set[str]:
        """Deposit and request ids this issuer's batches have posted (``deposit-batch``,
        ``request-batch``)."""
        try:
            text = (self.home / "deposited-ids").read_text("ascii")
        except FileNotFoundError:
            return set()
        return {line for line in text.split("\n") if len(line) == 32}

    def record_batch_id(self, item_id: str) -> None:
        """Append one id (owner-only, synced): a batch run again skips it even when the owner
        has already accepted the deposit and the server no longer holds it."""
        self.record_batch_ids([item_id])

    def record_batch_ids(self, item_ids: list[str]) -> None:
        """Append these ids in one write, synced once (a request of a deposit batch)."""
        if not item_ids:
            return
        self.ensure_dir()
        fd = os.open(self.home / "deposited-ids", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, b"".join(i.encode("ascii") + b"\n" for i in item_ids))
            os.fsync(fd)
        finally:
            os.close(fd)

    def contacts(self) -> dict[str, Any]:
        return self._load_json("contacts.json")

    def pin_contact(self, handle: str, identity: keys.PublicIdentity) -> None:
        self.pin_contacts({handle: identity})

    def pin_contacts(self, identities: dict[str, keys.PublicIdentity]) -> None:
        """Pin several accounts in one write of the contacts file."""
        data = self._load_json("contacts.json")
        for handle, identity in identities.items():
            data[handle] = identity.to_json()
        self._save_json("contacts.json", data)

    def forget_contact(self, handle: str) -> None:
        data = self._load_json("contacts.json")
        data.pop(handle, None)
        self._save_json("contacts.json", data)


@contextlib.contextmanager
def umask_private() -> Any:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
