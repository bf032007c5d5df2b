"""Trusted-contact recovery: ``vault recovery contacts [set]``, ``start``, ``pending``,
``approve``, ``veto``, ``finish`` (issue 21; SPEC §Trusted contacts)."""

from __future__ import annotations

from pathlib import Path

import click

from ..service.context import Context
from .common import cli, dated, duration, emit_json, err, read_secret, run, say


def _delay_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@cli.group()
def recovery() -> None:
    """Recovery through trusted contacts (t of n, a delay, a veto)."""


@recovery.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def contacts(ctx: click.Context, as_json: bool) -> None:
    """List the trusted contacts, the threshold and the delay."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import recovery as service

    items = await service.list_contacts(ctx.obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(
            say("no trusted contacts ('vault recovery contacts set --threshold T HANDLE...')")
        )
        return
    first = items[0]
    click.echo(
        say(
            "{threshold} of {n} contacts, delay {delay}",
            threshold=first.threshold,
            n=len(items),
            delay=_delay_text(first.delay),
        )
    )
    for c in items:
        click.echo(f"{c.handle}  {c.fingerprint}")  # data


@contacts.command("set")
@click.option("--threshold", "threshold", type=int, required=True, help="Approvals needed.")
@click.option("--delay", "delay", default="72h", help="Wait after the approvals (e.g. 72h).")
@click.argument("handles", nargs=-1, required=True)
@click.pass_obj
@run
async def contacts_set(obj: Context, threshold: int, delay: str, handles: tuple[str, ...]) -> None:
    """Split a new recovery secret THRESHOLD of N among these accounts (old shares stop
    working)."""
    from ..service import recovery as service

    items = await service.set_contacts(obj, list(handles), threshold, duration(delay))
    click.echo(
        say(
            "trusted contacts set: {threshold} of {n} ({handles}), delay {delay}",
            threshold=threshold,
            n=len(items),
            handles=", ".join(c.handle for c in items),
            delay=_delay_text(items[0].delay),
        )
    )


@recovery.command()
@click.option("--server", required=True, help="Server URL, e.g. http://127.0.0.1:8700")
@click.option("--user", "handle", required=True, help="The account to recover")
@click.pass_obj
@run
async def start(obj: Context, server: str, handle: str) -> None:
    """From an empty profile: ask the account's trusted contacts for a recovery."""
    from ..service import recovery as service

    started = await service.start(obj, server, handle)
    err(
        say(
            "recovery of {handle} started: read this code out to your trusted contacts; "
            "{threshold} must approve, then wait {delay}, then run "
            "'vault recovery finish {id}'",
            handle=handle,
            threshold=started.threshold,
            delay=_delay_text(started.delay),
            id=started.id,
        )
    )
    click.echo(say("code: {code}", code=started.code))
    click.echo(started.id)


@recovery.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def pending(obj: Context, as_json: bool) -> None:
    """Recoveries waiting for your approval, with their codes."""
    from ..service import recovery as service

    items = await service.pending(obj)
    if as_json:
        emit_json(items)
        return
    for p in items:
        mark = say(", approved by you") if p.approved else ""
        click.echo(
            say(
                "{id}  {account}  code {code}  started {created}"
                "  ({approvals} of {threshold} approvals{mark})",
                id=p.id,
                account=p.account,
                code=p.code,
                created=dated(p.created),
                approvals=p.approvals,
                threshold=p.threshold,
                mark=mark,
            )
        )


@recovery.command()
@click.argument("recovery_id", metavar="ID")
@click.pass_obj
@run
async def approve(obj: Context, recovery_id: str) -> None:
    """Approve (only once you have checked the code with the person)."""
    from ..service import recovery as service

    done = await service.approve(obj, recovery_id)
    click.echo(
        say(
            "approved recovery {id} of {account} ({approvals} of {threshold})",
            id=done.id,
            account=done.account,
            approvals=done.approvals,
            threshold=done.threshold,
        )
    )


@recovery.command()
@click.argument("recovery_id", metavar="ID")
@click.pass_obj
@run
async def veto(obj: Context, recovery_id: str) -> None:
    """Cancel a recovery of your account."""
    from ..service import recovery as service

    await service.veto(obj, recovery_id)
    click.echo(say("recovery {id} vetoed", id=recovery_id))


@recovery.command()
@click.argument("recovery_id", metavar="ID")
@click.option("--folder", type=click.Path(path_type=Path), default=None)
@click.pass_obj
@run
async def finish(obj: Context, recovery_id: str, folder: Path | None) -> None:
    """After the delay, with enough approvals: new device and new passphrase."""
    from ..service import recovery as service

    new = read_secret("VAULT_PASSPHRASE", say("New passphrase: "), confirm=True)
    joined = await service.finish(obj, recovery_id, folder, new)
    click.echo(
        say(
            "recovered {handle}; new passphrase set; device {device}",
            handle=joined.handle,
            device=joined.device_id,
        )
    )
