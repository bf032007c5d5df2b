"""``vault trust roots`` (the trust roots this server's operator ships, and their state here)
and ``vault trust roots accept`` (pin them, after comparing their words)."""

from __future__ import annotations

import click

from vault_core.errors import IntegrityError

from ..service import Context
from ..service.trust import RootsOffer
from .admin import trust
from .common import emit_json, err, run, say


def show_roots(offer: RootsOffer) -> None:
    """The list as the owner compares it: the deployment, each authority with its words."""
    click.echo(say("trust roots of {deployment} (operator: {words})", deployment=offer.deployment,
                   words=offer.signer_words))  # fmt: skip
    for r in offer.roots:
        mark = say(" (new)") if r in offer.added else ""
        click.echo(
            say("  {name}, fingerprint {words}{mark}", name=r.name, words=r.words, mark=mark)
        )
    for name in offer.removed:
        click.echo(say("  {name}, no longer listed (still trusted here)", name=name))


@trust.group("roots", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def trust_roots(ctx: click.Context, as_json: bool) -> None:
    """The trust roots this server offers (never pinned without 'accept'); exit 4 when the
    list changed since you accepted it."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import trust as service

    offer = await service.roots(ctx.obj)
    if as_json:
        emit_json(offer)
    elif offer.state == "none":
        click.echo(say("this server offers no trust roots"))
    else:
        show_roots(offer)
        if offer.state == "new":
            err(say("not trusted yet: compare the words, then 'vault trust roots accept'"))
        elif offer.state == "accepted":
            err(say("accepted"))
    if offer.state == "changed":
        raise IntegrityError(
            "the server's trust roots changed since you accepted them: compare the words, then "
            "'vault trust roots accept'"
        )


@trust_roots.command("accept")
@click.option("--digest", default=None, help="Accept only the list with this digest (--json).")
@click.pass_obj
@run
async def trust_roots_accept(obj: Context, digest: str | None) -> None:
    """Trust the server's trust roots (each authority is pinned as with 'vault trust add')."""
    from ..service import trust as service

    offer = await service.accept_roots(obj, digest)
    show_roots(offer)
    err(say("trusting the {count} trust roots of {deployment}", count=len(offer.roots),
            deployment=offer.deployment))  # fmt: skip
