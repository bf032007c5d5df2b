"""Citizens' asks: ``vault ask`` and ``vault asks`` (the owner), ``vault issuer asks`` and
``vault issuer fulfil`` (the administration)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import i18n
from ..service import Context
from .admin import issuer
from .common import LANG, cli, emit_json, err, run, say


@cli.command("ask")
@click.option("--to", "to", required=True, help="The administration's handle.")
@click.option("--type", "doc_type", required=True, help="The document, e.g. birth-certificate.")
@click.option("--message", default="", help="A few words for the administration.")
@click.pass_obj
@run
async def ask(obj: Context, to: str, doc_type: str, message: str) -> None:
    """Ask an administration for a document; prints the ask id."""
    from ..service import asks as service

    ask_id = await service.ask(obj, to, doc_type, message)
    err(say("asked {to} for {type}; the answer will arrive in your inbox", to=to, type=doc_type))
    click.echo(ask_id)  # data


@cli.command("asks")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def asks_sent(obj: Context, as_json: bool) -> None:
    """The documents you asked for, and whether they came."""
    from ..service import asks as service

    items = await service.sent(obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("no asks"))
    for a in items:
        if a.state == "fulfilled":
            where = say(" (in your inbox)") if a.in_inbox else ""
            click.echo(say("{id}  {to}  {type}  fulfilled by {issuer}: deposit {deposit}{where}",
                           id=a.id, to=a.to, type=a.type, issuer=a.issuer, deposit=a.deposit,
                           where=where))  # fmt: skip
        elif a.state == "open":
            click.echo(say("{id}  {to}  {type}  open (asked {created})", id=a.id, to=a.to,
                           type=a.type, created=a.created))  # fmt: skip
        else:
            click.echo(say("{id}  {to}  FORGED", id=a.id, to=a.to))
        if a.problem:
            click.echo(say("  warning: {problem}", problem=i18n.translate(a.problem, LANG)))


@issuer.command("asks")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def issuer_asks(obj: Context, as_json: bool) -> None:
    """The documents citizens asked this administration for."""
    from ..service import asks as service

    items = await service.received(obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("no asks"))
    for a in items:
        if not a.valid:
            click.echo(say("{id}  from {who}  FAILED VERIFICATION", id=a.id, who=a.from_))
            continue
        state = (
            say("fulfilled: deposit {deposit}", deposit=a.deposit)
            if a.state == "fulfilled"
            else say("open")
        )
        click.echo(say("{id}  from {who}  {type}  {created}  {state}", id=a.id, who=a.from_,
                       type=a.type, created=a.created, state=state))  # fmt: skip
        if a.message:
            click.echo(say("  message: {message}", message=a.message))


@issuer.command("fulfil")
@click.argument("ask_id")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--title", default=None)
@click.pass_obj
@run
async def issuer_fulfil(obj: Context, ask_id: str, file: Path, title: str | None) -> None:
    """Answer an ask with a certified deposit of FILE; prints the deposit id."""
    from ..service import asks as service

    deposit_id = await service.fulfil(obj, ask_id, file, title)
    err(say("ask {id} fulfilled", id=ask_id))
    click.echo(deposit_id)  # data
