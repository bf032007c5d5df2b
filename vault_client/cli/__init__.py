"""The ``vault`` command line (shared/CONTRACT.md): a thin face over the service layer.

Each command parses its arguments, reads the secrets it needs (``$VAULT_...`` or a prompt
without echo; never argv), calls one service function (:mod:`vault_client.service`), prints
the result and exits. Every failure prints one line on stderr and exits with a contract code:
0 ok, 1 other failure, 2 usage, 3 authentication, 4 integrity, 5 access refused. What the
service reports while it works (progress, warnings, server events, reminders) arrives on the
context's event bus, rendered by :class:`~.common.Terminal`.
"""

from __future__ import annotations

import os
import sys

import click

from vault_core.errors import EXIT_FAILURE, EXIT_USAGE, VaultError

from .. import i18n
from . import (  # noqa: F401 (each registers its commands)
    admin,
    appointments,
    asks,
    desktop,
    export,
    mandates,
    owner,
    recovery,
    sharing,
    trust_roots,
    web,
)
from .common import LANG, cli, err, say


def _click_message(exc: click.UsageError) -> str:
    """Click's own usage message (a missing option, an unknown command), in French from fr.po
    when the reader reads French; Click's English as is otherwise."""
    text = exc.format_message()
    if LANG != "fr":
        return text
    if isinstance(exc, click.BadParameter) and exc.message in text:  # "Invalid value for X: Y"
        text = text.replace(exc.message, i18n.translate(exc.message, LANG))
    return i18n.translate(text, LANG)


def main() -> None:
    os.umask(0o077)  # profile files, state and downloaded documents: owner only
    try:
        cli.main(standalone_mode=False, prog_name="vault")
    except click.exceptions.Abort:
        err(say("aborted"))
        sys.exit(EXIT_FAILURE)
    except click.UsageError as exc:
        err(say("usage error: {message}", message=_click_message(exc)))
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        err(say("error: {message}", message=exc.format_message()))
        sys.exit(exc.exit_code)
    except VaultError as exc:
        err(say("error: {message}", message=i18n.error_sentence(exc, LANG)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err(say("interrupted"))
        sys.exit(EXIT_FAILURE)
    except OSError as exc:
        detail = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        err(say("error: {message}", message=detail))
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        import sqlite3  # (loaded by then: the local state is a SQLite database)

        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:  # the local state
            err(
                say(
                    "error: the disk is full ({detail}): free some space and run the command again",
                    detail=exc,
                )
            )
            sys.exit(EXIT_FAILURE)
        err(say("internal error: {message}", message=f"{type(exc).__name__}: {exc}"))
        if os.environ.get("VAULT_DEBUG"):
            raise
        sys.exit(EXIT_FAILURE)
    sys.exit(0)
