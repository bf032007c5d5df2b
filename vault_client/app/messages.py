"""One French sentence (and its English) for each failure the page can meet.

The service raises VaultError subclasses with an English message for logs and the CLI; the
page shows the person a sentence in their language chosen here by the error's class and,
for a few common cases, by what the message says. Unknown cases keep a generic sentence per
class: the page never shows a traceback or a bare code."""

from __future__ import annotations

import errno

from vault_core import errors as e

_BY_CLASS: list[tuple[type[e.VaultError], str]] = [
    (e.Locked, "Le coffre est verrouillé : déverrouillez-le avec votre phrase de passe."),
    (e.WeakParameters, "Le serveur propose une protection trop faible : connexion refusée."),
    (e.RollbackError, "Le serveur a renvoyé des données plus anciennes que celles déjà vues."),
    (
        e.IntegrityError,
        "Des données n'ont pas passé la vérification (modifiées ou falsifiées) : rien n'a été "
        "écrit.",
    ),
    (e.GrantUnavailable, "Ce partage a expiré, a été révoqué ou n'existe plus."),
    (e.AuthError, "Identifiant ou phrase de passe incorrects."),
    (e.AccessDenied, "Accès refusé."),
    (e.NotFound, "Introuvable."),
    (e.AlreadyExists, "Cela existe déjà."),
    (e.Conflict, "Le coffre a changé pendant l'opération : réessayez."),
    (e.QuotaExceeded, "L'espace de stockage du compte est plein."),
    (e.TooLarge, "C'est trop volumineux."),
    (e.RateLimited, "Trop d'essais : patientez quelques minutes avant de réessayer."),
    (e.ServerUnavailable, "Le serveur est injoignable : vérifiez l'adresse et votre connexion."),
    (e.Cancelled, "Opération annulée."),
    (e.UsageError, "Demande incorrecte."),
    (e.FormatError, "Données mal formées."),
    (e.LocalError, "L'opération locale a échoué."),
    (e.VaultError, "L'opération a échoué."),
]

_BY_TEXT: list[tuple[str, str]] = [
    ("launch link", "Ce lien de lancement a déjà servi ou a expiré : relancez « vault app »."),
    ("wrong passphrase", "La phrase de passe est incorrecte."),
    ("already holds account", "Ce profil contient déjà un coffre."),
    ("is not in the vault", "Ce document n'est pas (encore) dans le coffre : synchronisez."),
    ("not a file of the synced folder", "Ce fichier n'est pas dans le dossier synchronisé."),
    ("changed (was", "La clé de ce compte a changé : vérifiez-la avec la personne."),
    (
        "not certified by an authority you trust",
        "Cette demande n'est pas certifiée : pas de réponse.",
    ),
    ("not a valid", "Identifiant invalide."),
    ("at least 12 characters", "Au moins 12 caractères : plusieurs mots, par exemple."),
    ("too common", "Cette phrase de passe est trop connue."),
    ("must not contain your handle", "Elle ne doit pas contenir votre identifiant."),
    ("repeated characters", "Trop de caractères répétés."),
    ("too easy to guess", "Trop facile à deviner : ajoutez un ou deux mots."),
    ("cannot be inside the profile", "Le dossier ne peut pas être dans le profil."),
    ("server url", "L'adresse du serveur est incorrecte (exemple : https://coffre.example.org)."),
    ("not a url", "L'adresse du serveur est incorrecte (exemple : https://coffre.example.org)."),
    ("ignores", "Ce nom de fichier est ignoré par la synchronisation (fichier temporaire)."),
    ("refused file name", "Ce nom de fichier n'est pas accepté."),
    ("would delete", "Cette synchronisation supprimerait la plupart des fichiers : confirmez."),
]


def french(exc: e.VaultError) -> str:
    text = exc.message.lower()
    for needle, sentence in _BY_TEXT:
        if needle in text:
            return sentence
    for cls, sentence in _BY_CLASS:
        if isinstance(exc, cls):
            return sentence
    return "L'opération a échoué."


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
