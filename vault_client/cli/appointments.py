"""Appointments: ``vault issuer appointment`` (an issuer books one), ``vault appointments``
(the owner's list) and ``vault appointments ics`` (an iCalendar file)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import i18n
from ..service import Context
from .admin import issuer
from .common import LANG, cli, duration, emit_json, err, run, say


@issuer.command("appointment")
@click.option("--to", "to", required=True, help="The owner's handle.")
@click.option("--at", "at", required=True, help="Local date and time, e.g. 2026-12-15T10:30.")
@click.option("--place", required=True, help="Where (address, office, room).")
@click.option("--bring", "bring", multiple=True, help="A document type to bring (repeatable).")
@click.option("--message", default="", help="A few words for the owner.")
@click.option("--duration", "length", default="30m", show_default=True)
@click.pass_obj
@run
async def issuer_appointment(
    obj: Context, to: str, at: str, place: str, bring: tuple[str, ...], message: str, length: str
) -> None:
    """Book an appointment with an owner; prints its id."""
    from ..service import appointments as service
    from ..service.values import parse_due

    booked = await service.book(
        obj, to, parse_due(at), place, list(bring), message, duration(length)
    )
    click.echo(booked)  # data


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def appointments(ctx: click.Context, as_json: bool) -> None:
    """Appointments booked with you: time, place, what to bring and whether you have it."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import appointments as service

    items = await service.list_appointments(ctx.obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("no appointments"))
    for a in items:
        who = a.issuer or say("{name} (NOT CERTIFIED)", name=a.claimed_issuer)
        line = say("{id}  {at}  {who}  at {place}", id=a.id, at=a.at, who=who, place=a.place)
        if a.past:
            line += say(" (past)")
        click.echo(line)
        for t in a.bring:
            if t in a.held:
                click.echo(say("  bring {type}: in your vault ({paths})", type=t,
                               paths=", ".join(a.held[t])))  # fmt: skip
            else:
                click.echo(say("  bring {type}: not in your vault", type=t))
        if a.problem:
            click.echo(say("  warning: {problem}", problem=i18n.translate(a.problem, LANG)))


@appointments.command("ics")
@click.argument("appointment_id")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.pass_obj
@run
async def appointments_ics(obj: Context, appointment_id: str, out: Path) -> None:
    """Write one appointment as an iCalendar file (for a phone's or a computer's calendar)."""
    from ..service import appointments as service

    written = await service.export_ics(obj, appointment_id, out)
    err(say("appointment written to {path}", path=written))
