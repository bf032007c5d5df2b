"""Helper mandates (issue 21; SPEC §Mandates): ``vault mandate grant|revoke|log``,
``vault mandates`` (given and received), and the helper's ``vault act-for HANDLE ...``
(``requests``, ``requests answer``, ``inbox``, ``inbox accept``, ``upload``)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import i18n
from ..service.context import Context
from .common import LANG, cli, dated, duration, emit_json, err, run, say, vpaths, word


def _scopes(obj: Context, scopes: tuple[str, ...]) -> list[str]:
    """``read:PATH`` and ``upload:PATH`` name files or folders of the synced folder (relative
    to the current directory or absolute), as every PATH argument; the others as typed."""
    from vault_core.mandates import split_scope

    out = []
    for s in scopes:
        kind, path = split_scope(s)
        out.append(f"{kind}:{vpaths(obj, [path])[0]}" if path is not None else kind)
    return out


def _mandate_duration(text: str) -> int:
    from vault_core.mandates import parse_duration

    return parse_duration(text)


@cli.group()
def mandate() -> None:
    """Let a helper act for you with her own account (a mandate), revoke it, see what she did."""


@mandate.command("grant")
@click.option("--to", "to", required=True, help="The helper's account.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="read:PATH, upload:PATH, requests or inbox (repeat).",
)
@click.option("--duration", "length", required=True, help="1d, 30d, 6m (months), 1y...")
@click.option("--name", default=None, help="What you call her (default: her account).")
@click.pass_obj
@run
async def mandate_grant(
    obj: Context, to: str, scopes: tuple[str, ...], length: str, name: str | None
) -> None:
    """Give a mandate; the last line is its id."""
    from ..service import mandates

    seconds = _mandate_duration(length)
    given = await mandates.grant(obj, to, _scopes(obj, scopes), seconds, name)
    click.echo(
        say(
            "mandate given to {helper} ({name}): {scopes}, until {expires}",
            helper=given.helper,
            name=given.name,
            scopes=", ".join(given.scopes),
            expires=dated(given.expires_at),
        )
    )
    click.echo(given.id)  # data


@mandate.command("revoke")
@click.argument("mandate_id", metavar="ID")
@click.pass_obj
@run
async def mandate_revoke(obj: Context, mandate_id: str) -> None:
    """End a mandate at once."""
    from ..service import mandates

    await mandates.revoke(obj, mandate_id)
    click.echo(say("mandate {id} revoked", id=mandate_id))


@mandate.command("log")
@click.argument("mandate_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def mandate_log(obj: Context, mandate_id: str, as_json: bool) -> None:
    """What the helper did under this mandate (each action signed by her, checked here)."""
    from ..service import mandates

    items = await mandates.log(obj, mandate_id)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("nothing done under this mandate yet"))
    for a in items:
        click.echo(f"{dated(a.at)}  {i18n.translate(a.text, LANG)}")


@cli.command("mandates")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def mandates_list(obj: Context, as_json: bool) -> None:
    """Mandates you gave, and mandates you received."""
    from ..service import mandates

    items = await mandates.list_mandates(obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("no mandates"))
    for m in items:
        scopes, state, expires = ", ".join(m.scopes), word(m.state), dated(m.expires_at)
        if m.role == "given":
            line = say(
                "{id}  given to {helper} ({name}): {scopes}, {state}, until {expires}",
                id=m.id, helper=m.helper, name=m.name, scopes=scopes, state=state,
                expires=expires,
            )  # fmt: skip
        else:
            line = say(
                "{id}  from {owner}: {scopes}, {state}, until {expires}",
                id=m.id, owner=m.owner, scopes=scopes, state=state, expires=expires,
            )  # fmt: skip
        click.echo(line)
        if m.problem:
            err(i18n.translate(m.problem, LANG))


# -- the helper's side ---------------------------------------------------------------------


@cli.group("act-for")
@click.argument("owner", metavar="HANDLE")
@click.pass_context
def act_for(ctx: click.Context, owner: str) -> None:
    """Act for HANDLE under the mandate HANDLE gave you (with your own account)."""
    ctx.meta["vault.act_for"] = owner


def _owner(ctx: click.Context) -> str:
    return str(ctx.meta["vault.act_for"])


@act_for.group("requests", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def act_requests(ctx: click.Context, as_json: bool) -> None:
    """HANDLE's requests for documents."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import act_for as service

    items = await service.requests(ctx.obj, _owner(ctx))
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("no requests"))
    for r in items:
        if not r.valid:
            click.echo(f"{r.id}  {i18n.translate(r.problem or '', LANG)}")
            continue
        who = r.requester or say("{account} (not certified)", account=r.account)
        click.echo(
            say(
                "{id}  {who} asks for {needs}, due {due} ({state})",
                id=r.id,
                who=who,
                needs=", ".join(r.needs or []),
                due=dated(r.due),
                state=word(r.state),
            )
        )


@act_requests.command("answer")
@click.argument("request_id", metavar="ID")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--expires", default="30d", help="How long the requester may read them.")
@click.pass_context
@run
async def act_answer(
    ctx: click.Context, request_id: str, paths: tuple[str, ...], expires: str
) -> None:
    """Answer request ID with documents of HANDLE's vault (paths in HANDLE's vault)."""
    from ..service import act_for as service

    owner = _owner(ctx)
    gid = await service.answer(ctx.obj, owner, request_id, list(paths), duration(expires))
    click.echo(say("answered request {id} for {owner}", id=request_id, owner=owner))
    click.echo(gid)  # data


@act_for.command("upload")
@click.argument("local", metavar="PATH", type=click.Path(path_type=Path))
@click.option("--to", "to_dir", required=True, help="The folder of HANDLE's vault.")
@click.pass_context
@run
async def act_upload(ctx: click.Context, local: Path, to_dir: str) -> None:
    """Add a document (a file of yours) to HANDLE's vault, in DIR."""
    from ..service import act_for as service

    owner = _owner(ctx)
    path = await service.upload(ctx.obj, owner, local, to_dir)
    click.echo(say("added {path} to the vault of {owner}", path=path, owner=owner))


@act_for.group("inbox", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def act_inbox(ctx: click.Context, as_json: bool) -> None:
    """Documents deposited for HANDLE, waiting."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import act_for as service

    items = await service.inbox(ctx.obj, _owner(ctx))
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("the inbox is empty"))
    for d in items:
        if not d.valid:
            click.echo(f"{d.id}  {i18n.translate(d.problem or '', LANG)}")
            continue
        issuer = d.issuer or say("{account} (not certified)", account=d.from_)
        click.echo(f"{d.id}  {issuer}  {d.type}  {d.title or d.filename}")  # data


@act_inbox.command("accept")
@click.argument("deposit_id", metavar="ID")
@click.pass_context
@run
async def act_accept(ctx: click.Context, deposit_id: str) -> None:
    """Accept deposit ID into HANDLE's vault; the last line is its path there."""
    from ..service import act_for as service

    owner = _owner(ctx)
    path = await service.accept(ctx.obj, owner, deposit_id)
    click.echo(say("accepted deposit {id} into the vault of {owner}", id=deposit_id, owner=owner))
    click.echo(path)  # data
