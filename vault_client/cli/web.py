"""``vault web check URL``: is the server's web access the signed release (exit 0), or does a
file differ (exit 4, naming it)?"""

from __future__ import annotations

import click

from vault_core import release
from vault_core.errors import IntegrityError

from ..service import Context
from .common import cli, dated, emit_json, run, say


@cli.group("web")
def web() -> None:
    """Owner web access (the page a server serves at /)."""


def file_line(f: release.FileCheck) -> str:
    if f.state == release.OK:
        return say("genuine: {name} ({path})", name=f.name, path=f.path)
    if f.state == release.DIFFERS:
        return say("DIFFERS: {name} ({path})", name=f.name, path=f.path)
    if f.state == release.MISSING:
        return say("NOT SERVED: {name} ({path})", name=f.name, path=f.path)
    return say("NOT IN THE RELEASE: {name} ({path})", name=f.name, path=f.path)


@web.command("check")
@click.argument("url")
@click.option("--key", "keys", multiple=True, help="Also trust this release key (base64url).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def web_check(obj: Context, url: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Check every file the server serves for web access against the signed release
    manifest: exit 0 when all are genuine, 4 when any differs."""
    from ..service import web as service

    result = await service.check(obj, url, keys)
    if as_json:
        emit_json(result.files)
    else:
        for f in result.files:
            click.echo(file_line(f))
    if result.differing:
        names = ", ".join(result.differing)
        raise IntegrityError(
            f"the web access of {result.server} is not the signed release: {names} "
            "(do not sign in there)"
        )
    if not as_json:
        click.echo(
            say(
                "all {count} files are genuine: release {release} signed on {date} by the key "
                "{key}",
                count=len({f.name for f in result.files}),
                release=result.release,
                date=dated(result.created),
                key=result.key,
            )
        )
