"""Progress on a terminal for long syncs (rich); nothing at all when stderr is not a tty."""

from __future__ import annotations

import sys
from typing import Any


class TerminalProgress:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[path]}", style="dim"),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None

    def start(self, total: int) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task("syncing", total=total, path="")
        else:
            self._progress.update(self._task, total=total, completed=0)

    def advance(self, path: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, path=path[-40:])

    def stop(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


def terminal_progress() -> TerminalProgress | None:
    return TerminalProgress() if sys.stderr.isatty() else None
