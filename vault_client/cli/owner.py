"""The owner's commands: account and devices, sync, status, history and restore."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import click

from .. import i18n
from ..service.context import Context
from .common import LANG, cli, emit_json, err, read_secret, run, say, sync_summary, word

# ---------------------------------------------------------------------------------------------
# accounts and devices


def joining_options(fn: Any) -> Any:
    """--server, --user and --folder of the commands that make this profile a device."""
    for option in reversed(
        (
            click.option("--server", required=True, help="Server URL, e.g. http://127.0.0.1:8700"),
            click.option("--user", "handle", required=True, help="Account handle"),
            click.option("--folder", type=click.Path(path_type=Path), default=None),
        )
    ):
        fn = option(fn)
    return fn


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
async def init(obj: Context, server: str, handle: str, folder: Path | None) -> None:
    """Create an account; this profile becomes its first device."""
    from ..service import account

    passphrase = read_secret("VAULT_PASSPHRASE", say("New passphrase: "), confirm=True)
    created = await account.init(obj, server, handle, folder, passphrase)
    err(say("account {handle} created; folder {folder}", handle=handle, folder=created.folder))
    err(say("Write down this recovery key and keep it safe; it is shown only once:"))
    click.echo(created.recovery_key)
    await _mention_trust_roots(obj)


async def _mention_trust_roots(obj: Context) -> None:
    """A new device names the trust roots its server offers (never pinned without the owner's
    'vault trust roots accept')."""
    from vault_core.errors import VaultError

    from ..service import trust

    try:
        offer = await trust.roots(obj)
    except VaultError as exc:
        err(say("warning: {message}", message=i18n.error_sentence(exc, LANG)))
        return
    if offer.state in ("new", "changed"):
        err(say("this server offers {count} trust roots from {deployment}: 'vault trust roots' "
                "to see them, then accept them if their words match", count=len(offer.roots),
                deployment=offer.deployment))  # fmt: skip


@cli.command()
@joining_options
@click.pass_obj
@run
async def login(obj: Context, server: str, handle: str, folder: Path | None) -> None:
    """Add this profile as a new device of an existing account."""
    from ..service import account

    passphrase = read_secret("VAULT_PASSPHRASE", say("Passphrase: "))
    joined = await account.login(obj, server, handle, folder, passphrase)
    click.echo(
        say(
            "logged in as {handle}; device {device}; folder {folder}",
            handle=handle,
            device=joined.device_id,
            folder=joined.folder,
        )
    )
    await _mention_trust_roots(obj)


@cli.command()
@joining_options
@click.pass_obj
@run
async def recover(obj: Context, server: str, handle: str, folder: Path | None) -> None:
    """New device and new passphrase from the recovery key."""
    from ..service import account

    recovery = read_secret("VAULT_RECOVERY_KEY", say("Recovery key: "))
    new = read_secret("VAULT_PASSPHRASE", say("New passphrase: "), confirm=True)
    joined = await account.recover(obj, server, handle, folder, recovery, new)
    click.echo(
        say(
            "recovered {handle}; new passphrase set; device {device}",
            handle=handle,
            device=joined.device_id,
        )
    )


@cli.command()
@click.pass_obj
@run
async def passphrase(obj: Context) -> None:
    """Change the account passphrase (documents are not re-encrypted)."""
    from ..service import account

    obj.account()  # the current passphrase first
    new = read_secret("VAULT_NEW_PASSPHRASE", say("New passphrase: "), confirm=True)
    await account.change_passphrase(obj, new)
    click.echo(say("passphrase changed; other sessions were ended"))


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def devices(ctx: click.Context, as_json: bool) -> None:
    """List this account's devices."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import account

    items = await account.list_devices(ctx.obj)
    if as_json:
        emit_json(items)
        return
    for d in items:
        state = say("revoked") if d.revoked_at else say("active")
        mark = say(" (this device)") if d.this else ""
        if not d.verified:
            state += say(", NOT VERIFIED: not certified in the signed log (injected?)")
        click.echo(f"{d.id}  {d.name}  {state}{mark}")


@devices.command("revoke")
@click.argument("device_id")
@click.pass_obj
@run
async def devices_revoke(obj: Context, device_id: str) -> None:
    """Revoke a device: its sessions end at once and its later entries are refused."""
    from ..service import account

    await account.revoke_device(obj, device_id)
    click.echo(say("revoked {id}", id=device_id))


# ---------------------------------------------------------------------------------------------
# sync and documents


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return click.confirm(
        say("{question}. Continue?", question=i18n.translate(question, LANG)),
        default=False,
        err=True,
    )


@cli.command()
@click.option("--watch", is_flag=True, help="Keep syncing on local edits and server events.")
@click.option("--yes", is_flag=True, help="Confirm a sync that deletes most of the folder.")
@click.pass_obj
@run
async def sync(obj: Context, watch: bool, yes: bool) -> None:
    """Two-way sync of the folder."""
    from ..service import syncing

    confirm = (lambda q: True) if yes else _confirm
    if watch:
        await syncing.watch(obj, confirm)  # (its rounds' summaries arrive as sync.done events)
    else:
        report = await syncing.sync(obj, confirm)  # (the progress bar is gone by then)
        err(sync_summary(syncing.counts(report)))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def status(obj: Context, as_json: bool) -> None:
    """What is waiting to sync; inbox items; requests and due dates."""
    from ..service import syncing

    st = await syncing.status(obj)
    if as_json:
        emit_json([*st.pending, *st.notices])
        return
    if not st.pending:
        click.echo(say("up to date"))
    for p in st.pending:
        click.echo(f"{word(p.action):<14} {p.path}")
    for n in st.notices:
        click.echo(i18n.translate(n.text, LANG))


@cli.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(obj: Context, path: str, as_json: bool) -> None:
    """The versions of a file, a deleted one too."""
    from ..service import documents

    items = documents.history(obj, path)
    if as_json:
        emit_json(items)
        return
    for it in items:
        if it.deleted:
            what = say("deleted")
        elif LANG == "fr" and it.modified:
            when = i18n.format_datetime(datetime.datetime.fromisoformat(it.modified), LANG)
            what = say("{size}, modified {date}", size=i18n.format_size(it.size, LANG), date=when)
        else:
            what = say("{size} bytes, modified {date}", size=it.size, date=it.modified)
        click.echo(f"{it.version:>3}  {what}")


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
async def restore(obj: Context, path: str, version: int | None) -> None:
    """Bring back a version, or a deleted file, as a new version."""
    from ..service import documents, syncing

    done = await documents.restore(obj, path, version)
    err(say("restored {path} from version {version}", path=done.path, version=done.from_version))
    err(sync_summary(syncing.counts(done.report)))
