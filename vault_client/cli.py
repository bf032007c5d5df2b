"""The ``vault`` command line (shared/CONTRACT.md).

Every failure prints one line on stderr and exits with a contract code:
0 ok, 1 other failure, 2 usage, 3 authentication, 4 integrity, 5 access refused.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from vault_core.errors import (
    EXIT_FAILURE,
    EXIT_USAGE,
    UsageError,
    VaultError,
)

from .profile import Profile, default_home, read_secret


def err(message: str) -> None:
    click.echo(message, err=True)


class Ctx:
    def __init__(self, home: Path) -> None:
        self.home = home
        self._profile: Profile | None = None

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = Profile(self.home)
        return self._profile


def run(coro_fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
    """Run an async command body."""

    @functools.wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


def fetch_listing(obj: Ctx, fetch: Callable[[Any, Any], Coroutine[Any, Any, Any]]) -> Any:
    """Run ``fetch(profile, api)`` with an authenticated API (listing groups share this)."""

    async def body() -> Any:
        from .account import open_api

        api = await open_api(obj.profile)
        async with api:
            return await fetch(obj.profile, api)

    return asyncio.run(body())


def emit_json(items: list[dict[str, Any]]) -> None:
    click.echo(json.dumps(items, ensure_ascii=False, indent=None))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Profile directory (default: $VAULT_HOME or the user data directory).",
)
@click.version_option("0.1.0", prog_name="vault")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """End-to-end encrypted document vault."""
    ctx.obj = Ctx(home or default_home())


# ---------------------------------------------------------------------------------------------
# accounts and devices


@cli.command()
@click.option("--server", required=True, help="Server URL, e.g. http://127.0.0.1:8700")
@click.option("--user", "handle", required=True, help="Account handle to create")
@click.option(
    "--folder",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder to sync (default: ~/Vault)",
)
@click.pass_obj
@run
async def init(obj: Ctx, server: str, handle: str, folder: Path | None) -> None:
    """Create an account; this profile becomes its first device."""
    from .account import init_account

    passphrase = read_secret("VAULT_PASSPHRASE", "New passphrase: ", confirm=True)
    recovery = await init_account(obj.profile, server, handle, folder, passphrase)
    err(f"account {handle} created; folder {obj.profile.folder}")
    err("Write down this recovery key and keep it safe; it is shown only once:")
    click.echo(recovery)


@cli.command()
@click.option("--server", required=True)
@click.option("--user", "handle", required=True)
@click.option("--folder", type=click.Path(path_type=Path), default=None)
@click.pass_obj
@run
async def login(obj: Ctx, server: str, handle: str, folder: Path | None) -> None:
    """Add this profile as a new device of an existing account."""
    from .account import login_device

    passphrase = read_secret("VAULT_PASSPHRASE", "Passphrase: ")
    await login_device(obj.profile, server, handle, folder, passphrase)
    click.echo(
        f"logged in as {handle}; device {obj.profile.device_id}; folder {obj.profile.folder}"
    )


@cli.command()
@click.option("--server", required=True)
@click.option("--user", "handle", required=True)
@click.option("--folder", type=click.Path(path_type=Path), default=None)
@click.pass_obj
@run
async def recover(obj: Ctx, server: str, handle: str, folder: Path | None) -> None:
    """New device and new passphrase from the recovery key."""
    from .account import login_device

    recovery = read_secret("VAULT_RECOVERY_KEY", "Recovery key: ")
    new = read_secret("VAULT_PASSPHRASE", "New passphrase: ", confirm=True)
    await login_device(
        obj.profile, server, handle, folder, new, recovery_text=recovery, new_passphrase=new
    )
    click.echo(f"recovered {handle}; new passphrase set; device {obj.profile.device_id}")


@cli.command()
@click.pass_obj
@run
async def passphrase(obj: Ctx) -> None:
    """Change the account passphrase (documents are not re-encrypted)."""
    from .account import change_passphrase, open_api

    api = await open_api(obj.profile)
    new = read_secret("VAULT_NEW_PASSPHRASE", "New passphrase: ", confirm=True)
    async with api:
        await change_passphrase(obj.profile, api, new)
    click.echo("passphrase changed; other sessions were ended")


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def devices(ctx: click.Context, as_json: bool) -> None:
    """List this account's devices."""
    if ctx.invoked_subcommand is not None:
        return
    from .account import list_devices

    obj: Ctx = ctx.obj
    items = fetch_listing(obj, list_devices)
    out = [
        {
            "id": d["id"],
            "name": d.get("name"),
            "created_at": d.get("created_at"),
            "revoked_at": d.get("revoked_at"),
            "verified": d["verified"],
            "this": d["id"] == obj.profile.device_id,
        }
        for d in items
    ]
    if as_json:
        emit_json(out)
        return
    for d in out:
        state = "revoked" if d["revoked_at"] else "active"
        mark = " (this device)" if d["this"] else ""
        if not d["verified"]:
            state += ", NOT VERIFIED: not certified in the signed log (injected?)"
        click.echo(f"{d['id']}  {d['name']}  {state}{mark}")


@devices.command("revoke")
@click.argument("device_id")
@click.pass_obj
@run
async def devices_revoke(obj: Ctx, device_id: str) -> None:
    """Revoke a device: its sessions end at once and its later entries are refused."""
    from .account import open_api, revoke_device

    api = await open_api(obj.profile)
    async with api:
        await revoke_device(obj.profile, api, device_id)
    click.echo(f"revoked {device_id}")


# ---------------------------------------------------------------------------------------------
# sync


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return click.confirm(question + ". Continue?", default=False, err=True)


@cli.command()
@click.option("--watch", is_flag=True, help="Keep syncing on local edits and server events.")
@click.option("--yes", is_flag=True, help="Confirm a sync that deletes most of the folder.")
@click.pass_obj
@run
async def sync(obj: Ctx, watch: bool, yes: bool) -> None:
    """Two-way sync of the folder."""
    from .account import open_api
    from .progress import terminal_progress
    from .sync import SyncEngine, prewalk

    obj.profile.require_account()
    folder = obj.profile.config.get("folder")
    # the no-change check's stat walk, on a thread while the key is derived
    walk = prewalk(Path(folder), obj.profile.home / "state.db") if folder and not watch else None
    api = await open_api(obj.profile)
    async with api:
        progress = terminal_progress()
        engine = SyncEngine(obj.profile, api, warn=err, progress=progress, prewalk=walk)
        try:
            confirm = (lambda q: True) if yes else _confirm
            try:
                report = await engine.sync(confirm=confirm)
            finally:
                if progress is not None:
                    progress.stop()
            if obj.profile.secrets.extra.get("grants"):  # (no import without shares)
                from .shares import update_live_grants

                await update_live_grants(obj.profile, api, engine)
            err(report.summary())
            if watch:
                from .watch import watch_loop

                await watch_loop(engine, confirm)
        finally:
            engine.close()


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def status(obj: Ctx, as_json: bool) -> None:
    """What is waiting to sync; inbox items; requests and due dates."""
    from .status import status as do_status

    await do_status(obj.profile, as_json)


@cli.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(obj: Ctx, path: str, as_json: bool) -> None:
    """The versions of a file, a deleted one too."""
    from .history import history as do_history

    do_history(obj.profile, path, as_json)


@cli.command()
@click.argument("path")
@click.option(
    "--version",
    "version",
    type=int,
    default=None,
    help="Version number from 'vault history' (default: the one before the latest).",
)
@click.pass_obj
@run
async def restore(obj: Ctx, path: str, version: int | None) -> None:
    """Bring back a version, or a deleted file, as a new version."""
    from .history import restore as do_restore

    await do_restore(obj.profile, path, version)


# ---------------------------------------------------------------------------------------------
# shares


@cli.group()
def share() -> None:
    """Time-limited access to documents for a counsellor."""


@share.command("create")
@click.argument("paths", nargs=-1, required=True)
@click.option("--expires", required=True, help="Lifetime: 30s, 15m, 2h, 7d.")
@click.option("--to", "to", default=None, help="Grant to this account instead of a link.")
@click.option("--max-uses", type=click.IntRange(min=1), default=None)
@click.option("--password", is_flag=True, help="Also protect the link with a password.")
@click.pass_obj
@run
async def share_create(
    obj: Ctx,
    paths: tuple[str, ...],
    expires: str,
    to: str | None,
    max_uses: int | None,
    password: bool,
) -> None:
    """Grant access to files or folders of the synced folder."""
    from .account import open_api
    from .history import vault_path
    from .shares import create_share, parse_duration
    from .sync import SyncEngine

    seconds = parse_duration(expires)
    if password and to:
        raise UsageError("--password applies to links, not to --to grants")
    profile = obj.profile
    profile.require_account()
    vpaths = [vault_path(profile, p) for p in paths]
    link_password = (
        read_secret("VAULT_LINK_PASSWORD", "Link password: ", confirm=True) if password else None
    )
    api = await open_api(profile)
    async with api:
        engine = SyncEngine(profile, api, warn=err)
        try:
            out = await create_share(
                profile, api, engine, vpaths, seconds, to, max_uses, link_password, err
            )
        finally:
            engine.close()
    click.echo(out)


@share.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def share_list(obj: Ctx, as_json: bool) -> None:
    """Grants with their state and remaining uses."""
    from .shares import list_shares

    items = fetch_listing(obj, lambda _profile, api: list_shares(api))
    if as_json:
        emit_json(items)
        return
    for it in items:
        uses = "unlimited" if it["max_uses"] is None else f"{it['remaining_uses']} uses left"
        who = f" to {it['to']}" if it.get("to") else ""
        click.echo(f"{it['id']}  {it['state']:<8} expires {it['expires_at']}  {uses}{who}")


@share.command("revoke")
@click.argument("grant_id")
@click.pass_obj
@run
async def share_revoke(obj: Ctx, grant_id: str) -> None:
    """End a grant at once."""
    from .account import open_api
    from .shares import revoke_share

    api = await open_api(obj.profile)
    async with api:
        await revoke_share(obj.profile, api, grant_id)
    click.echo(f"revoked {grant_id}")


@share.command("log")
@click.argument("grant_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def share_log(obj: Ctx, grant_id: str, as_json: bool) -> None:
    """Each access: when, which document, by which account if known."""
    from .account import open_api
    from .shares import share_log as do_log

    api = await open_api(obj.profile)
    async with api:
        items = await do_log(obj.profile, api, grant_id)
    if as_json:
        emit_json(items)
        return
    for it in items:
        who = f" by {it['account']}" if it.get("account") else ""
        what = it["document"] if it["event"] == "document" else "opened the share"
        click.echo(f"{it['at']}  {what}{who}")


@cli.command()
@click.argument("link_or_grant")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None)
@click.option("--list", "list_only", is_flag=True, help="Only list the documents.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def redeem(
    obj: Ctx, link_or_grant: str, out: Path | None, list_only: bool, as_json: bool
) -> None:
    """Fetch and decrypt what a share covers (a link, or a grant made to this account)."""
    from .api import Api
    from .shares import (
        describe_items,
        fetch_items,
        note_revision,
        open_account_grant,
        open_link,
        parse_share_link,
        read_link_password,
    )

    if not list_only and out is None:
        raise UsageError("give --out DIR (or --list)")
    profile = obj.profile
    trusted = profile.trusted_authorities() if profile.home.exists() else {}
    if "#" in link_or_grant or "/s/" in link_or_grant:
        server, grant_id, secret, has_pw = parse_share_link(link_or_grant)
        password = read_link_password(has_pw)
        api_cm = Api(server)
        async with api_cm as api:
            red = await open_link(api, grant_id, secret, password)
            if profile.home.exists():  # (a profile remembers the revisions it has opened)
                note_revision(profile.home / "state.db", red)
            await _redeem_body(red, out, list_only, as_json, trusted, describe_items, fetch_items)
    else:
        from .account import open_api

        api2 = await open_api(profile)
        async with api2:
            red = await open_account_grant(profile, api2, link_or_grant, err)
            note_revision(profile.home / "state.db", red)
            await _redeem_body(red, out, list_only, as_json, trusted, describe_items, fetch_items)


async def _redeem_body(
    red: Any,
    out: Path | None,
    list_only: bool,
    as_json: bool,
    trusted: dict[bytes, str],
    describe: Any,
    fetch: Any,
) -> None:
    items = describe(red, trusted)
    if list_only:
        if as_json:
            emit_json(items)
        else:
            for it in items:
                cert = f"  certified by {it['certified_by']}" if it["certified_by"] else ""
                click.echo(f"{it['name']}  {it['size']} bytes{cert}")
        return
    assert out is not None
    names = await fetch(red, out, err)
    hashes = {}
    for name in names:
        with open(out.joinpath(*name.split("/")), "rb") as fh:
            hashes[name] = hashlib.file_digest(fh, "sha256").digest()
    items = describe(red, trusted, hashes)
    if as_json:
        emit_json(items)
    else:
        for it in items:
            cert = f"  (certified by {it['certified_by']})" if it["certified_by"] else ""
            click.echo(f"{it['name']}{cert}")
    err(f"{len(names)} document(s) written to {out}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def shared(obj: Ctx, as_json: bool) -> None:
    """Grants made to this account, with their ids."""
    from .account import open_api

    api = await open_api(obj.profile)
    async with api:
        items = await api.get("/v1/shared")
    out = [
        {
            "id": it["id"],
            "from": it.get("from"),
            "state": it.get("state"),
            "expires_at": it.get("expires_at"),
        }
        for it in items
    ]
    if as_json:
        emit_json(out)
        return
    for it in out:
        click.echo(f"{it['id']}  from {it['from']}  {it['state']}")


# ---------------------------------------------------------------------------------------------
# administrations: authority, issuer, inbox, verify, requests, trust


@cli.group()
def authority() -> None:
    """An authority certifies issuers' signing keys."""


@authority.command("init")
@click.pass_obj
def authority_init(obj: Ctx) -> None:
    """Create an authority key; the last line of stdout is its public key."""
    from .issuer import authority_init as do_init

    pk = do_init(obj.profile)
    err("authority key created; give this public key to the profiles that should trust it:")
    click.echo(pk)


@authority.command("certify")
@click.option("--issuer-key", required=True)
@click.option("--name", required=True)
@click.option("--valid", default="365d", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.pass_obj
def authority_certify(obj: Ctx, issuer_key: str, name: str, valid: str, out: Path) -> None:
    """Write a certificate for an issuer key."""
    from .issuer import authority_certify as do_certify
    from .shares import parse_duration

    do_certify(obj.profile, issuer_key, name, parse_duration(valid), out)
    click.echo(f"certificate for {name} written to {out}")


@cli.group()
def issuer() -> None:
    """Administrations: deposit certified documents, ask for documents."""


@issuer.command("init")
@click.option("--name", required=True)
@click.pass_obj
def issuer_init(obj: Ctx, name: str) -> None:
    """Create the issuer signing key; the last line of stdout is its public key."""
    from .issuer import issuer_init as do_init

    pk = do_init(obj.profile, name)
    err("issuer key created; have an authority certify it ('vault authority certify')")
    click.echo(pk)


@issuer.command("set-cert")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def issuer_set_cert(obj: Ctx, file: Path) -> None:
    """Install the certificate for this issuer key."""
    from .issuer import issuer_set_cert as do_set

    cert = do_set(obj.profile, file)
    click.echo(f"certificate installed: {cert.name}")


@issuer.command("deposit")
@click.option("--to", "to", required=True)
@click.option("--type", "doc_type", required=True)
@click.option("--title", default=None)
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
@run
async def issuer_deposit(obj: Ctx, to: str, doc_type: str, title: str | None, file: Path) -> None:
    """Sign a document and deposit it, encrypted, in HANDLE's inbox; prints the deposit id."""
    from .account import open_api
    from .issuer import deposit

    api = await open_api(obj.profile)
    async with api:
        deposit_id = await deposit(obj.profile, api, to, doc_type, file, title, err)
    click.echo(deposit_id)


@issuer.command("request")
@click.option("--to", "to", required=True)
@click.option("--need", "needs", multiple=True)
@click.option("--due", required=True)
@click.option("--message", required=True)
@click.pass_obj
@run
async def issuer_request(obj: Ctx, to: str, needs: tuple[str, ...], due: str, message: str) -> None:
    """Ask for documents; prints the request id."""
    from .account import open_api
    from .issuer import parse_due, request

    due_at = parse_due(due)
    api = await open_api(obj.profile)
    async with api:
        request_id = await request(obj.profile, api, to, list(needs), due_at, message, err)
    click.echo(request_id)


@issuer.command("requests")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def issuer_requests(obj: Ctx, as_json: bool) -> None:
    """This issuer's requests and their state."""
    from .issuer import sent_requests

    items = fetch_listing(obj, lambda _profile, api: sent_requests(api))
    if as_json:
        emit_json(items)
        return
    for it in items:
        grant = (
            f"  grant {it['grant']} ('vault redeem {it['grant']} --out DIR')" if it["grant"] else ""
        )
        click.echo(f"{it['id']}  to {it['to']}  due {it['due']}  {it['state']}{grant}")


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def inbox(ctx: click.Context, as_json: bool) -> None:
    """Deposited documents waiting, with issuer and certification status."""
    if ctx.invoked_subcommand is not None:
        return
    from .inbox import list_inbox

    items = fetch_listing(ctx.obj, list_inbox)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo("inbox empty")
    for it in items:
        if not it.get("valid"):
            click.echo(f"{it['id']}  INVALID: {it.get('problem')}")
        elif it["certified"]:
            click.echo(
                f"{it['id']}  {it['filename']}  {it['type']}  certified by "
                f"{it['issuer']} on {it['issued']}"
            )
        else:
            click.echo(
                f"{it['id']}  {it['filename']}  {it['type']}  NOT CERTIFIED "
                f"(claims to be from {it['claimed_issuer']!r}: {it['problem']})"
            )


@inbox.command("accept")
@click.argument("deposit_id")
@click.option("--to", "to", default=None, help="Where in the synced folder.")
@click.pass_obj
@run
async def inbox_accept(obj: Ctx, deposit_id: str, to: str | None) -> None:
    """Move a deposit into the synced folder, keeping its certificate."""
    from .account import open_api
    from .history import vault_path
    from .inbox import accept
    from .sync import SyncEngine

    profile = obj.profile
    profile.require_account()
    dest = vault_path(profile, to) if to else None
    api = await open_api(profile)
    async with api:
        engine = SyncEngine(profile, api, warn=err)
        try:
            path = await accept(profile, api, engine, deposit_id, dest)
        finally:
            engine.close()
    click.echo(path)


@cli.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def verify(obj: Ctx, path: str, as_json: bool) -> None:
    """Exit 0 with the issuer when the document is certified and valid."""
    from vault_core.errors import ServerUnavailable

    from .account import open_api
    from .history import vault_path
    from .inbox import verify_path
    from .sync import SyncEngine

    profile = obj.profile
    profile.require_account()
    vp = vault_path(profile, path)
    api = await open_api(profile)
    async with api:
        engine = SyncEngine(profile, api, warn=err)
        try:
            try:
                await engine.pull()
            except ServerUnavailable:
                err("server unreachable: verifying against the last synced records")
            result = verify_path(profile, engine, vp)
        finally:
            engine.close()
    if as_json:
        emit_json([result])
    else:
        click.echo(
            f"certified by {result['issuer']}, issued {result['issued']} "
            f"({result['type']}: {result['title']})"
        )


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def requests(ctx: click.Context, as_json: bool) -> None:
    """Requests for documents, with requester, needs, due date and state."""
    if ctx.invoked_subcommand is not None:
        return
    from .inbox import list_requests

    items = fetch_listing(ctx.obj, list_requests)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo("no requests")
    for it in items:
        who = it.get("requester") or f"{it.get('claimed_requester')} (NOT CERTIFIED)"
        click.echo(
            f"{it['id']}  {who}  needs {', '.join(it.get('needs') or [])}  "
            f"due {it.get('due')}  {it.get('state')}"
        )


@requests.command("answer")
@click.argument("request_id")
@click.argument("paths", nargs=-1, required=True)
@click.option("--expires", default="30d", show_default=True)
@click.pass_obj
@run
async def requests_answer(obj: Ctx, request_id: str, paths: tuple[str, ...], expires: str) -> None:
    """Answer a request by granting the requester access to those documents."""
    from .account import open_api
    from .history import vault_path
    from .inbox import answer_request
    from .shares import parse_duration
    from .sync import SyncEngine

    profile = obj.profile
    profile.require_account()
    seconds = parse_duration(expires)
    vpaths = [vault_path(profile, p) for p in paths]
    api = await open_api(profile)
    async with api:
        engine = SyncEngine(profile, api, warn=err)
        try:
            grant_id = await answer_request(profile, api, engine, request_id, vpaths, seconds, err)
        finally:
            engine.close()
    click.echo(grant_id)


@cli.group()
def trust() -> None:
    """Authorities whose certified issuers this profile trusts."""


@trust.command("add", context_settings={"ignore_unknown_options": True})  # keys may start with "-"
@click.argument("public_key")
@click.option("--name", required=True)
@click.pass_obj
def trust_add(obj: Ctx, public_key: str, name: str) -> None:
    """Pin an authority."""
    from vault_core.encoding import b64u

    from .inbox import trust_key_from_text

    key = trust_key_from_text(public_key)
    obj.profile.add_trust(b64u(key), name)
    click.echo(f"trusting {name}")


@trust.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def trust_list(obj: Ctx, as_json: bool) -> None:
    """Pinned authorities."""
    items = [
        {"id": k, "public_key": k, "name": v["name"]}
        for k, v in sorted(obj.profile.trust_list().items())
    ]
    if as_json:
        emit_json(items)
        return
    for it in items:
        click.echo(f"{it['name']}  {it['public_key']}")


@cli.command()
@click.option("--before", default=None, help="Start reminding this long before the due date.")
@click.option("--every", default=None, help="At most one reminder per request this often.")
@click.option("--off", is_flag=True, help="No reminders.")
@click.option("--on", "on", is_flag=True, help="Reminders again.")
@click.pass_obj
def reminders(obj: Ctx, before: str | None, every: str | None, off: bool, on: bool) -> None:
    """How early and how often requests are announced (you decide; default 3d / 1d)."""
    from .inbox import reminder_settings
    from .shares import parse_duration

    profile = obj.profile
    profile.require_account()
    cfg = dict(profile.config.get("reminders", {}))
    if off and on:
        raise UsageError("--on or --off, not both")
    if off:
        cfg["enabled"] = False
    if on:
        cfg["enabled"] = True
    if before:
        cfg["before"] = parse_duration(before)
    if every:
        cfg["every"] = parse_duration(every)
    profile.config["reminders"] = cfg
    try:
        s = reminder_settings(profile)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    profile.save_config()
    if not s.enabled:
        click.echo("reminders: off")
    else:
        click.echo(
            f"reminders: from {s.before // 3600} h before the due date, at most every "
            f"{s.every // 3600} h"
        )


def main() -> None:
    os.umask(0o077)  # profile files, state and downloaded documents: owner only
    try:
        cli.main(standalone_mode=False, prog_name="vault")
    except click.exceptions.Abort:
        err("aborted")
        sys.exit(EXIT_FAILURE)
    except click.UsageError as exc:
        err(f"usage error: {exc.format_message()}")
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        err(f"error: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except UsageError as exc:
        err(f"error: {exc.message}")
        sys.exit(exc.exit_code)
    except VaultError as exc:
        err(f"error: {exc.message}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(EXIT_FAILURE)
    except OSError as exc:
        err(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        import sqlite3  # (loaded by then: the local state is a SQLite database)

        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:  # the local state
            err(f"error: the disk is full ({exc}): free some space and run the command again")
            sys.exit(EXIT_FAILURE)
        err(f"internal error: {type(exc).__name__}: {exc}")
        if os.environ.get("VAULT_DEBUG"):
            raise
        sys.exit(EXIT_FAILURE)
    sys.exit(0)


if __name__ == "__main__":
    main()
