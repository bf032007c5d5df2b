"""Export: the whole vault in its original bytes, with manifests in open formats."""

from __future__ import annotations

from pathlib import Path

import click

from ..service.context import Context
from .common import cli, emit_json, run, say


@cli.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="A directory (incremental: a second export writes only what changed) or FILE.zip.",
)
@click.option("--include-history", is_flag=True, help="Earlier versions too (history/PATH/vN).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@run
async def export_command(obj: Context, out: Path, include_history: bool, as_json: bool) -> None:
    """Every document of the vault, verified, with manifest.json and manifest.csv."""
    from ..service import export as service

    report = await service.export(obj, out, include_history)
    if as_json:
        emit_json([report])
        return
    click.echo(
        say(
            "exported {files} files ({certified} certified) to {out}: "
            "{written} written, {unchanged} unchanged, {removed} removed",
            files=report.files,
            certified=report.certified,
            out=report.out,
            written=report.written,
            unchanged=report.unchanged,
            removed=report.removed,
        )
    )
