"""One French sentence (and its English) for each failure the page can meet.

The service raises VaultError subclasses with an English message for logs; the page shows
the person the French of that message from the client's one catalogue
(:mod:`vault_client.i18n`, the same wording as the CLI), else the sentence of the error's
class: the page never shows a traceback or a bare code."""

from __future__ import annotations

import errno

from vault_core import errors as e

from .. import i18n


def french(exc: e.VaultError) -> str:
    return i18n.error_sentence(exc, "fr")


def for_error(exc: BaseException) -> tuple[int, dict[str, str]]:
    """(HTTP status, body) for any failure of a handler."""
    if isinstance(exc, e.VaultError):
        status = exc.http_status if exc.http_status >= 400 else 400
        if isinstance(exc, e.IntegrityError | e.UsageError | e.LocalError) or status >= 500:
            status = 503 if isinstance(exc, e.ServerUnavailable) else 400
        return status, {"code": exc.code, "message": french(exc), "message_en": exc.message}
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            fr, en = "Le disque est plein : libérez de la place et réessayez.", "The disk is full."
        elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
            fr, en = "Ce fichier n'existe plus.", "The file is gone."
        elif exc.errno in (errno.EACCES, errno.EPERM):
            fr, en = "Accès au fichier refusé par le système.", "The system refused the access."
        else:
            fr, en = "L'opération sur le disque a échoué.", f"Local error: {exc.strerror}"
        return 400, {"code": "local", "message": fr, "message_en": en}
    return 500, {
        "code": "internal",
        "message": (
            "Une erreur inattendue s'est produite. Réessayez ; si elle revient, redémarrez "
            "l'application."
        ),
        "message_en": f"Internal error ({type(exc).__name__}).",
    }
