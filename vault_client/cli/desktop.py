"""``vault app``: the desktop app of this profile (the daemon and its local web UI)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..service.context import Context
from .common import cli, make_context


@cli.command()
@click.option(
    "--home",
    "app_home",
    type=click.Path(path_type=Path),
    default=None,
    help="Profile directory (the same as `vault --home DIR app`).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Local port (0: any).")
@click.option("--no-browser", is_flag=True, help="Only print the launch URL.")
@click.pass_obj
def app(obj: Context, app_home: Path | None, port: int, no_browser: bool) -> None:
    """Start the desktop app on 127.0.0.1; the last line of stdout is its launch URL."""
    from ..app.server import run

    if app_home is not None:
        obj = make_context(app_home)
        obj.check_permissions()
    sys.exit(run(obj.home, port, open_browser=not no_browser))
