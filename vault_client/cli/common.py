"""What every command shares: the ``vault`` group, secrets from the environment or a prompt,
the terminal observer of the service's event bus, JSON output, path and duration arguments."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import getpass
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from vault_core.errors import UsageError

from .. import i18n
from ..profile import default_home
from ..service.context import Context
from ..service.events import (
    PROGRESS_ADVANCE,
    PROGRESS_START,
    PROGRESS_STOP,
    RECOVERY,
    REMINDER,
    SERVER_UNAVAILABLE,
    SHARE_OPENED,
    SYNC_DONE,
    WARNING,
    Event,
)
from ..service.results import to_json

LANG = i18n.language()  # the reader's language, from LC_ALL / LC_MESSAGES / LANG


def err(message: str) -> None:
    click.echo(message, err=True)


def say(template: str, **values: Any) -> str:
    """A status line in the reader's language (``template`` is its English msgid)."""
    return i18n.t(template, LANG, **values)


def word(value: Any) -> str:
    """A keyword of the data shown to a person (a state, an action: ``active``, ``upload``)
    in the reader's language; itself in English."""
    return i18n.translate(str(value), LANG)


def dated(value: Any) -> str:
    """A date of the data (ISO 8601, UTC: ``2026-12-07T09:00:00Z``, or a day ``2026-12-15``)
    as the reader writes it: in French the local time, ``7 déc. 2026, 10:00``, or the day,
    ``15 déc. 2026``; in English as it is."""
    if LANG != "fr" or not isinstance(value, str):
        return str(value)
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    if len(value) == len("2026-12-15"):  # a day (a due date, a certificate's issue)
        from babel.dates import format_date

        return str(format_date(moment.date(), "d MMM y", locale="fr_FR"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return i18n.format_datetime(moment.astimezone(), LANG)


def sync_summary(n: dict[str, Any]) -> str:
    """``synced: 1 uploaded, 0 downloaded, 0 deleted, 141 bytes sent`` in the reader's
    language, from a round's counts (service.syncing.counts)."""
    parts = [
        say(
            "synced: {uploaded} uploaded, {downloaded} downloaded, {deleted} deleted",
            uploaded=n["uploaded"],
            downloaded=n["downloaded"],
            deleted=n["deleted"],
        )
    ]
    if n["conflicts"]:
        parts.append(say("{n} conflict copies", n=n["conflicts"]))
    if n["skipped"]:
        parts.append(say("{n} skipped", n=n["skipped"]))
    # English keeps the exact count (scripts read it); French says it as a reader would
    size = i18n.format_size(n["bytes"], LANG) if LANG == "fr" else f"{n['bytes']} bytes"
    parts.append(say("{size} sent", size=size))
    return ", ".join(parts)


def read_secret(env: str, prompt: str, confirm: bool = False) -> str:
    """A secret from the environment, else a prompt without echo; never from argv."""
    value = os.environ.get(env)
    if value is not None:
        if not value:
            raise UsageError(f"${env} is empty")
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal: set ${env}")
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass(say("Again: ")) != value:
        raise UsageError("the two entries differ")
    if not value:
        raise UsageError("empty secret")
    return value


def notify(text: str) -> None:
    """One line on stderr, and a desktop notification where the desktop offers one."""
    print(text, file=sys.stderr, flush=True)
    if shutil.which("notify-send") and (
        os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("DISPLAY")
    ):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["notify-send", "Coffre-fort", text], timeout=5, check=False)


class Terminal:
    """The CLI's observer: warnings and notices on stderr, a progress bar on a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, event: Event) -> None:
        kind = event.kind
        if kind == PROGRESS_START:
            if self._bar is None:
                from ..progress import TerminalProgress

                self._bar = TerminalProgress()
            self._bar.start(event.data["total"])
        elif kind == PROGRESS_ADVANCE:
            if self._bar is not None:
                self._bar.advance(event.data["path"])
        elif kind == PROGRESS_STOP:
            self.stop()
        elif kind in (SHARE_OPENED, REMINDER, RECOVERY):
            notify(i18n.translate(event.text, LANG))
        elif kind == SYNC_DONE:
            if event.data.get("first") or event.data.get("changed"):  # (no line per idle round)
                print(sync_summary(event.data), file=sys.stderr, flush=True)
        elif kind in (WARNING, SERVER_UNAVAILABLE):
            print(i18n.translate(event.text, LANG), file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def kinds(self) -> list[str]:
        out = [WARNING, SYNC_DONE, SERVER_UNAVAILABLE, SHARE_OPENED, REMINDER, RECOVERY]
        if sys.stderr.isatty():
            out += [PROGRESS_START, PROGRESS_ADVANCE, PROGRESS_STOP]
        return out


def passphrase_source() -> str:
    return read_secret("VAULT_PASSPHRASE", say("Passphrase: "))


def make_context(home: Path) -> Context:
    ctx = Context(home, passphrase=passphrase_source)
    terminal = Terminal()
    ctx.bus.subscribe(terminal, terminal.kinds())
    return ctx


def run(coro_fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
    """Run an async command body."""

    @functools.wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(coro_fn(*args, **kwargs))

    return wrapper


def emit_json(items: Any) -> None:
    click.echo(json.dumps(to_json(items), ensure_ascii=False, indent=None))


def vpaths(ctx: Context, paths: tuple[str, ...] | list[str]) -> list[str]:
    from ..service.documents import vault_path

    ctx.profile.require_account()
    return [vault_path(ctx.profile, p) for p in paths]


def duration(text: str) -> int:
    from ..service.values import parse_duration

    return parse_duration(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Profile directory (default: $VAULT_HOME or the user data directory).",
)
@click.version_option("0.1.0", prog_name="vault")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """End-to-end encrypted document vault."""
    ctx.obj = make_context(home or default_home())
    ctx.obj.check_permissions()
