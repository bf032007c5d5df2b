"""Administrations and what they send: authority, issuer, inbox, verify, requests, trust,
reminders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault_core.errors import UsageError

from .. import i18n
from ..service.context import Context
from .common import LANG, cli, dated, duration, emit_json, err, read_secret, run, say, vpaths, word

if TYPE_CHECKING:
    from ..service.batches import BatchReport

# ---------------------------------------------------------------------------------------------
# administrations: authority, issuer, inbox, verify, requests, trust


@cli.group()
def authority() -> None:
    """An authority certifies issuers' signing keys."""


@authority.command("init")
@click.pass_obj
def authority_init(obj: Context) -> None:
    """Create an authority key; the last line of stdout is its public key."""
    from ..service import issuer

    new_store = None
    if issuer.needs_new_key_store(obj):
        new_store = read_secret(
            "VAULT_PASSPHRASE", say("New passphrase for this key store: "), confirm=True
        )
    pk = issuer.authority_init(obj, new_store)
    err(say("authority key created; give this public key to the profiles that should trust it:"))
    click.echo(pk)


@authority.command("invite")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.option("--name", default=None, help="The authority's name (remembered for next time).")
@click.pass_obj
def authority_invite(obj: Context, out: Path, name: str | None) -> None:
    """Write an invitation to trust this authority; the last line of stdout is its URI."""
    from ..service import trust as service

    inv = service.invite(obj, out, name)
    err(say("invitation for {name} written to {path}", name=inv.name, path=inv.path))
    err(say("fingerprint: {words}  (print these words on your letters)", words=inv.words))
    click.echo(inv.uri)


@authority.command("certify")
@click.option("--issuer-key", required=True)
@click.option("--name", required=True)
@click.option("--valid", default="365d", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
@click.pass_obj
def authority_certify(obj: Context, issuer_key: str, name: str, valid: str, out: Path) -> None:
    """Write a certificate for an issuer key."""
    from ..service import issuer

    issuer.authority_certify(obj, issuer_key, name, duration(valid), out)
    click.echo(say("certificate for {name} written to {out}", name=name, out=out))


@cli.group()
def issuer() -> None:
    """Administrations: deposit certified documents, ask for documents."""


@issuer.command("init")
@click.option("--name", required=True)
@click.pass_obj
def issuer_init(obj: Context, name: str) -> None:
    """Create the issuer signing key; the last line of stdout is its public key."""
    from ..service import issuer as service

    pk = service.issuer_init(obj, name)
    err(say("issuer key created; have an authority certify it ('vault authority certify')"))
    click.echo(pk)


@issuer.command("set-cert")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def issuer_set_cert(obj: Context, file: Path) -> None:
    """Install the certificate for this issuer key."""
    from ..service import issuer as service

    cert = service.set_cert(obj, file)
    click.echo(say("certificate installed: {name}", name=cert.name))


@issuer.command("deposit")
@click.option("--to", "to", required=True)
@click.option("--type", "doc_type", required=True)
@click.option("--title", default=None)
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
@run
async def issuer_deposit(
    obj: Context, to: str, doc_type: str, title: str | None, file: Path
) -> None:
    """Sign a document and deposit it, encrypted, in HANDLE's inbox; prints the deposit id."""
    from ..service import issuer as service

    click.echo(await service.deposit(obj, to, doc_type, file, title))


def _batch_output(result: BatchReport, as_json: bool, report: Path | None, sent_word: str) -> None:
    from vault_core.errors import VaultError

    if as_json:
        emit_json([result])
    else:
        for row in result.rows:
            if row.status in ("failed", "pending"):
                error = i18n.translate(row.error, LANG) if row.error else say("not reached")
                err(say("line {line}: {error}", line=row.line, error=error))
        counts = {"sent": result.sent, "already": result.already, "failed": result.failed}
        if sent_word == "deposited":
            summary = say("{sent} deposited, {already} already there, {failed} failed", **counts)
        else:
            summary = say("{sent} sent, {already} already there, {failed} failed", **counts)
        click.echo(summary)
    if result.failed:
        where = f" ({report})" if report is not None else ""
        raise VaultError(f"{result.failed} of {len(result.rows)} rows not sent{where}")


def _batch_options(ids: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """FILE.csv, --report and --json: what every batch command takes."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option("--json", "as_json", is_flag=True)(fn)
        fn = click.option(
            "--report",
            "report",
            type=click.Path(path_type=Path),
            default=None,
            help=f"Write each row's status, {ids} id and error to this CSV file.",
        )(fn)
        return click.argument("batch", metavar="FILE.csv", type=click.Path(path_type=Path))(fn)

    return wrap


@issuer.command("deposit-batch")
@_batch_options("deposit")
@click.pass_obj
@run
async def issuer_deposit_batch(
    obj: Context, batch: Path, report: Path | None, as_json: bool
) -> None:
    """Deposit every row of a CSV file (handle,type,title,path); safe to run again."""
    from ..service import batches as service

    result = await service.deposit_batch(obj, batch, report)
    _batch_output(result, as_json, report, "deposited")


@issuer.command("request-batch")
@_batch_options("request")
@click.pass_obj
@run
async def issuer_request_batch(
    obj: Context, batch: Path, report: Path | None, as_json: bool
) -> None:
    """Send a checklist request to every row of a CSV file (handle,template,due,message)."""
    from ..service import batches as service

    result = await service.request_batch(obj, batch, report)
    _batch_output(result, as_json, report, "sent")


@issuer.group("template")
def issuer_template() -> None:
    """Request checklists: the documents to ask for, a due delay, a message."""


@issuer_template.command("create")
@click.argument("name")
@click.option("--need", "needs", multiple=True, required=True, help="A document type (repeat).")
@click.option("--due-in", "due_in", default=None, help="Due this long after sending (e.g. 30d).")
@click.option("--message", default=None)
@click.pass_obj
def issuer_template_create(
    obj: Context, name: str, needs: tuple[str, ...], due_in: str | None, message: str | None
) -> None:
    """Save a checklist under NAME."""
    from ..service import issuer as service

    t = service.template_create(
        obj, name, list(needs), duration(due_in) if due_in else None, message
    )
    click.echo(say("template {name}: {needs}", name=t.name, needs=", ".join(t.needs)))


@issuer_template.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def issuer_template_list(obj: Context, as_json: bool) -> None:
    """The saved checklists."""
    from ..service import issuer as service

    items = service.templates(obj)
    if as_json:
        emit_json(items)
        return
    for t in items:
        click.echo(
            say(
                "{name}  {needs}  ({days} d)  {message}",
                name=t.name,
                needs=", ".join(t.needs),
                days=t.due_in // 86400,
                message=t.message,
            )
        )


@issuer.command("request")
@click.option("--to", "to", required=True)
@click.option("--need", "needs", multiple=True)
@click.option("--template", "template", default=None, help="A saved checklist (its documents).")
@click.option("--due", default=None, help="The due date (a template gives a default).")
@click.option("--message", default=None)
@click.pass_obj
@run
async def issuer_request(
    obj: Context,
    to: str,
    needs: tuple[str, ...],
    template: str | None,
    due: str | None,
    message: str | None,
) -> None:
    """Ask for documents; prints the request id."""
    from ..service import issuer as service

    click.echo(await service.request_from(obj, to, list(needs), template, due, message))


@issuer.command("requests")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def issuer_requests(obj: Context, as_json: bool) -> None:
    """This issuer's requests and their state."""
    from ..service import issuer as service

    items = await service.sent_requests(obj)
    if as_json:
        emit_json(items)
        return
    for it in items:
        grant = (
            say(
                "  grant {grant} ('vault redeem {grant2} --out DIR')",
                grant=it.grant,
                grant2=it.grant,
            )
            if it.grant
            else ""
        )
        click.echo(
            say(
                "{id}  to {to}  due {due}  {state}{grant}",
                id=it.id,
                to=it.to,
                due=dated(it.due),
                state=word(it.state),
                grant=grant,
            )
        )
        if it.provided:
            click.echo(say("  provided: {types}", types=", ".join(sorted(it.provided))))
        missing = [i["type"] for i in it.items or [] if i["state"] == "missing"]
        if missing and it.provided:
            click.echo(say("  missing: {types}", types=", ".join(missing)))
        if it.problem:
            click.echo(say("  warning: {problem}", problem=i18n.translate(it.problem, LANG)))


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def inbox(ctx: click.Context, as_json: bool) -> None:
    """Deposited documents waiting, with issuer and certification status."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import inbox as service

    items = await service.list_deposits(ctx.obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("inbox empty"))
    for it in items:
        problem = i18n.translate(it.problem, LANG) if it.problem else it.problem
        if not it.valid:
            click.echo(say("{id}  INVALID: {problem}", id=it.id, problem=problem))
        elif it.certified:
            click.echo(
                say(
                    "{id}  {filename}  {type}  certified by {issuer} on {issued}",
                    id=it.id,
                    filename=it.filename,
                    type=it.type,
                    issuer=it.issuer,
                    issued=dated(it.issued),
                )
            )
        else:
            click.echo(
                say(
                    "{id}  {filename}  {type}  NOT CERTIFIED "
                    "(claims to be from {claimed}: {problem})",
                    id=it.id,
                    filename=it.filename,
                    type=it.type,
                    claimed=repr(it.claimed_issuer),
                    problem=problem,
                )
            )


@inbox.command("accept")
@click.argument("deposit_id")
@click.option("--to", "to", default=None, help="Where in the synced folder.")
@click.pass_obj
@run
async def inbox_accept(obj: Context, deposit_id: str, to: str | None) -> None:
    """Move a deposit into the synced folder, keeping its certificate."""
    from ..service import inbox as service

    dest = vpaths(obj, [to])[0] if to else None
    click.echo(await service.accept(obj, deposit_id, dest))


@cli.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True)
@click.option("--offline", is_flag=True, help="Check a file of an export, without the server.")
@click.option("--certificate", type=click.Path(path_type=Path), default=None)
@click.option("--trust", "trust", multiple=True, help="Authority key or invitation (offline).")
@click.pass_obj
@run
async def verify(
    obj: Context,
    path: str,
    as_json: bool,
    offline: bool,
    certificate: Path | None,
    trust: tuple[str, ...],
) -> None:
    """Exit 0 with the issuer when the document is certified and valid."""

    from ..service import inbox as service

    result: Any
    if offline:
        from ..service import export

        result = export.verify_offline(obj, Path(path), certificate, list(trust))
    elif certificate is not None or trust:
        raise UsageError("--certificate and --trust go with --offline")
    else:
        result = await service.verify(obj, vpaths(obj, [path])[0])
    if as_json:
        emit_json([result])
    else:
        click.echo(
            say(
                "certified by {issuer}, issued {issued} ({type}: {title})",
                issuer=result.issuer,
                issued=dated(result.issued),
                type=result.type,
                title=result.title,
            )
        )


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run
async def requests(ctx: click.Context, as_json: bool) -> None:
    """Requests for documents, with requester, needs, due date and state."""
    if ctx.invoked_subcommand is not None:
        return
    from ..service import requests as service

    items = await service.list_requests(ctx.obj)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo(say("no requests"))
    for it in items:
        who = it.requester or say("{name} (NOT CERTIFIED)", name=it.claimed_requester)
        click.echo(
            say(
                "{id}  {who}  needs {needs}  due {due}  {state}",
                id=it.id,
                who=who,
                needs=", ".join(it.needs or []),
                due=dated(it.due),
                state=word(it.state),
            )
        )
        if it.items and len(it.items) > 1:
            for entry in it.items:
                click.echo(say("  item {type}: {state}", type=entry["type"],
                               state=word(entry["state"])))  # fmt: skip


@requests.command("answer")
@click.argument("request_id")
@click.argument("paths", nargs=-1, required=True)
@click.option("--expires", default="30d", show_default=True)
@click.option("--for", "item", default=None, help="The item (document type) these answer.")
@click.pass_obj
@run
async def requests_answer(
    obj: Context, request_id: str, paths: tuple[str, ...], expires: str, item: str | None
) -> None:
    """Answer a request, all at once or item by item over several days (each answer grants
    the requester every document given so far)."""
    from ..service import requests as service

    seconds = duration(expires)
    click.echo(await service.answer(obj, request_id, vpaths(obj, paths), seconds, item))  # data


@cli.group()
def trust() -> None:
    """Authorities whose certified issuers this profile trusts."""


# A base64url key may start with "-": it is taken whole as the argument, never as options
# (no short option here, so not even "-h" inside a key such as "-Xh..." asks for the help).
@trust.command(
    "add", context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]}
)
@click.argument("source", metavar="FILE|URI|KEY")
@click.option("--name", default=None, help="Name a bare key (or rename the invitation's).")
@click.pass_obj
def trust_add(obj: Context, source: str, name: str | None) -> None:
    """Pin an authority from its invitation (file or vault-trust: URI) or its public key."""
    from ..service import trust as service

    added = service.add(obj, source, name)
    click.echo(say("trusting {name}", name=added.name))
    click.echo(say("fingerprint: {words}", words=added.words))
    err(say("compare these words with the authority's letter or screen; if they differ, remove it"))


@trust.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def trust_list(obj: Context, as_json: bool) -> None:
    """Pinned authorities."""
    from ..service import trust as service

    items = service.list_authorities(obj)
    if as_json:
        emit_json(items)
        return
    for it in items:
        click.echo(f"{it.name}  {it.public_key}  ({it.words})")  # data


@cli.command()
@click.option("--before", default=None, help="Start reminding this long before the due date.")
@click.option("--every", default=None, help="At most one reminder per request this often.")
@click.option("--off", is_flag=True, help="No reminders.")
@click.option("--on", "on", is_flag=True, help="Reminders again.")
@click.pass_obj
def reminders(obj: Context, before: str | None, every: str | None, off: bool, on: bool) -> None:
    """How early and how often requests are announced (you decide; default 3d / 1d)."""
    from ..service import requests as service

    if off and on:
        raise UsageError("--on or --off, not both")
    enabled = False if off else (True if on else None)
    s = service.set_reminders(
        obj,
        enabled=enabled,
        before=duration(before) if before else None,
        every=duration(every) if every else None,
    )
    if not s.enabled:
        click.echo(say("reminders: off"))
    else:
        click.echo(
            say(
                "reminders: from {before} h before the due date, at most every {every} h",
                before=s.before // 3600,
                every=s.every // 3600,
            )
        )
