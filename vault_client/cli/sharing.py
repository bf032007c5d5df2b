"""Shares: create, list, revoke, access log; redeeming a link or a grant; grants received."""

from __future__ import annotations

from pathlib import Path

import click

from vault_core.errors import UsageError

from ..service.context import Context
from .common import cli, dated, duration, emit_json, err, read_secret, run, say, vpaths, word

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
    obj: Context,
    paths: tuple[str, ...],
    expires: str,
    to: str | None,
    max_uses: int | None,
    password: bool,
) -> None:
    """Grant access to files or folders of the synced folder."""
    from ..service import shares

    seconds = duration(expires)
    if password and to:
        raise UsageError("--password applies to links, not to --to grants")
    scope = vpaths(obj, paths)
    link_password = (
        read_secret("VAULT_LINK_PASSWORD", say("Link password: "), confirm=True)
        if password
        else None
    )
    created = await shares.create(obj, scope, seconds, to, max_uses, link_password)
    click.echo(created.link or created.grant_id)


@share.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def share_list(obj: Context, as_json: bool) -> None:
    """Grants with their state and remaining uses."""
    from ..service import shares

    items = await shares.list_shares(obj)
    if as_json:
        emit_json(items)
        return
    for it in items:
        if it.max_uses is None:
            uses = say("unlimited")
        else:
            uses = say("{n} uses left", n=it.remaining_uses)
        who = say(" to {handle}", handle=it.to) if it.to else ""
        click.echo(
            say(
                "{id}  {state} expires {expires}  {uses}{who}",
                id=it.id,
                state=f"{word(it.state):<8}",
                expires=dated(it.expires_at),
                uses=uses,
                who=who,
            )
        )


@share.command("revoke")
@click.argument("grant_id")
@click.pass_obj
@run
async def share_revoke(obj: Context, grant_id: str) -> None:
    """End a grant at once."""
    from ..service import shares

    await shares.revoke(obj, grant_id)
    click.echo(say("revoked {id}", id=grant_id))


@share.command("log")
@click.argument("grant_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def share_log(obj: Context, grant_id: str, as_json: bool) -> None:
    """Each access: when, which document, by which account if known."""
    from ..service import shares

    items = await shares.log(obj, grant_id)
    if as_json:
        emit_json(items)
        return
    for it in items:
        who = say(" by {handle}", handle=it.account) if it.account else ""
        what = it.document if it.event == "document" else say("opened the share")
        click.echo(f"{dated(it.at)}  {what}{who}")


@cli.command()
@click.argument("link_or_grant")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None)
@click.option("--list", "list_only", is_flag=True, help="Only list the documents.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def redeem(
    obj: Context, link_or_grant: str, out: Path | None, list_only: bool, as_json: bool
) -> None:
    """Fetch and decrypt what a share covers (a link, or a grant made to this account)."""
    from ..service import redeem as service

    if not list_only and out is None:
        raise UsageError("give --out DIR (or --list)")
    password = None
    if service.is_link(link_or_grant) and service.parse_link(link_or_grant).has_password:
        password = read_secret("VAULT_LINK_PASSWORD", say("Link password: "))
    done = await service.redeem(obj, link_or_grant, None if list_only else out, password)
    if as_json:
        emit_json(done.items)
    elif list_only:
        for it in done.items:
            cert = say("  certified by {issuer}", issuer=it.certified_by) if it.certified_by else ""
            click.echo(say("{name}  {size} bytes{cert}", name=it.name, size=it.size, cert=cert))
    else:
        for it in done.items:
            cert = (
                say("  (certified by {issuer})", issuer=it.certified_by) if it.certified_by else ""
            )
            click.echo(f"{it.name}{cert}")
    if not list_only:
        err(say("{n} document(s) written to {out}", n=len(done.written), out=out))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def shared(obj: Context, as_json: bool) -> None:
    """Grants made to this account, with their ids."""
    from ..service import redeem as service

    items = await service.shared(obj)
    if as_json:
        emit_json(items)
        return
    for it in items:
        click.echo(
            say("{id}  from {handle}  {state}", id=it.id, handle=it.from_, state=word(it.state))
        )
