"""Messages in French (issue 22): the CLI's failures and status lines in French when the
locale is French, English otherwise, from the one catalogue the app uses too; exit codes
unchanged."""

from __future__ import annotations

import os
import re

import pytest

from vault_client import i18n
from vault_core.errors import EXIT_ACCESS, EXIT_AUTH, EXIT_FAILURE, EXIT_USAGE

from .test_deposits import admin  # noqa: F401 (the fixture: authority, issuer, owner)

FR = {"LANG": "fr_FR.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
EN = {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


def test_main_failures_in_both_languages(account, make_device, server):
    dev, _ = account()
    dev.write("a.txt", "a")
    fr = dev.run("sync", env={**FR, "VAULT_PASSPHRASE": "pas la bonne"}, check=False)
    en = dev.run("sync", env={**EN, "VAULT_PASSPHRASE": "pas la bonne"}, check=False)
    assert fr.returncode == en.returncode == EXIT_AUTH
    assert fr.stderr.strip() == "erreur : La phrase de passe est incorrecte."
    assert en.stderr.strip() == "error: wrong passphrase for this profile"

    dev.run("sync", env=EN)
    link = dev.run("share", "create", "a.txt", "--expires", "1h", "--max-uses", "1",
                   env=EN).stdout.strip().splitlines()[-1]  # fmt: skip
    other = make_device("C")
    other.run("redeem", link, "--out", str(other.folder.parent / "o1"), env=EN)
    fr = other.run("redeem", link, "--out", str(other.folder.parent / "o2"), env=FR, check=False)
    en = other.run("redeem", link, "--out", str(other.folder.parent / "o3"), env=EN, check=False)
    assert fr.returncode == en.returncode == EXIT_ACCESS
    assert fr.stderr.startswith("erreur : Ce partage a expiré")
    assert en.stderr.startswith("error: ") and "partage" not in en.stderr

    server.stop()
    fr = dev.run("sync", env=FR, check=False)
    en = dev.run("sync", env=EN, check=False)
    assert fr.returncode == en.returncode == EXIT_FAILURE
    assert re.fullmatch(
        r"erreur : Impossible de joindre le serveur http://127\.0\.0\.1:\d+ : vérifiez "
        r"l'adresse et votre connexion\.",
        fr.stderr.strip(),
    )
    assert en.stderr.strip().startswith("error: cannot reach the server at http://127.0.0.1:")


def test_status_lines_sizes_and_dates_in_french(account):
    dev, _ = account()
    dev.write("papiers/avis.txt", os.urandom(1_234_567))
    fr = dev.run("sync", env=FR)
    assert (
        fr.stderr.strip() == "synchronisé : 1 envoyé(s), 0 reçu(s), 0 supprimé(s), 1,2 Mo envoyé(s)"
    )
    assert dev.run("status", env=FR).stdout.strip() == "à jour"
    history = dev.run("history", "papiers/avis.txt", env=FR).stdout
    assert re.search(r"1  1,2 Mo, modifié le \d{1,2} \w+\.? 20\d\d, \d\d:\d\d", history)
    en = dev.run("status", env=EN).stdout.strip()
    assert en == "up to date"


def test_the_catalogue_is_whole():
    catalog = i18n.french()
    assert len(catalog.exact) > 50 and {"integrity", "unauthorized", "error"} <= set(
        catalog.classes
    )
    field = re.compile(r"\{([a-z_0-9]+)\}")
    for msgid, msgstr in catalog.exact.items():
        # every placeholder of the French is one the English message carries
        assert set(field.findall(msgstr)) <= set(field.findall(msgid)), msgid


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LC_ALL": "fr_CA.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_ALL": "C", "LANG": "fr_FR.UTF-8"}, "en"),
        ({"LC_MESSAGES": "fr_BE", "LANG": "de_DE"}, "fr"),
        ({}, "en"),
    ],
)
def test_the_language_follows_the_locale_variables(env, lang):
    assert i18n.language(env) == lang


def test_sizes():
    assert i18n.format_size(1_200_000, "fr") == "1,2 Mo"
    assert i18n.format_size(999, "fr") == "999 octets"
    assert i18n.format_size(3_000_000_000, "en") == "3 GB"


def test_the_servers_wait_reads_in_french() -> None:
    """The 429 of a login backoff or an issuer's pace: the wait in French, never the generic
    class sentence (which would hide how long)."""
    from vault_client import i18n
    from vault_core.errors import RateLimited

    for english, french in (
        ("Too many failed logins; try again in 10 minutes.",
         "Trop de connexions échouées ; réessayez dans 10 minutes."),
        ("Too many failed logins; try again in 3 hours.",
         "Trop de connexions échouées ; réessayez dans 3 heures."),
        ("Too many deposits and requests; try again in 45 seconds.",
         "Trop de dépôts et de demandes ; réessayez dans 45 secondes."),
    ):  # fmt: skip
        assert i18n.error_sentence(RateLimited(english), "fr") == french
        assert i18n.error_sentence(RateLimited(english), "en") == english


def test_a_recovery_line_in_french(account):
    """`vault recovery contacts` with no contacts: the hint in French, the command as is."""
    dev, _ = account()
    fr = dev.run("recovery", "contacts", env=FR)
    en = dev.run("recovery", "contacts", env=EN)
    assert fr.returncode == en.returncode == 0
    assert en.stdout.strip() == (
        "no trusted contacts ('vault recovery contacts set --threshold T HANDLE...')"
    )
    assert fr.stdout.strip() == (
        "aucun contact de confiance (« vault recovery contacts set --threshold T IDENTIFIANT... »)"
    )


def test_an_issuer_usage_error_in_french(admin):  # noqa: F811
    """`vault issuer request` without --message: its own French sentence (not the generic
    'Demande incorrecte.'), the same exit code (2)."""
    mairie = admin["mairie"]
    args = ("issuer", "request", "--to", "jean", "--need", "id-card", "--due", "2030-01-01")
    fr = mairie.run(*args, env=FR, check=False)
    en = mairie.run(*args, env=EN, check=False)
    assert fr.returncode == en.returncode == EXIT_USAGE
    assert en.stderr.strip() == "error: give the message: --message TEXT (or --template NAME)"
    assert fr.stderr.strip() == "erreur : Donnez le message : --message TEXTE (ou --template NOM)."


def test_a_batch_report_in_french(admin, tmp_path):  # noqa: F811
    """`vault issuer deposit-batch` with a row for an unknown account: the row's error, the
    summary and the final failure in French; the English run reads as before."""
    mairie = admin["mairie"]
    (tmp_path / "avis.pdf").write_bytes(b"%PDF-1.4 avis " + os.urandom(300))
    batch = tmp_path / "campagne.csv"
    batch.write_text(
        "handle;type;title;path\njean;tax-notice;Avis;avis.pdf\npersonne;tax-notice;Avis;avis.pdf\n",
        encoding="utf-8",
    )
    fr = mairie.run("issuer", "deposit-batch", str(batch), env=FR, check=False)
    en = mairie.run("issuer", "deposit-batch", str(batch), env=EN, check=False)
    assert fr.returncode == en.returncode == EXIT_FAILURE
    assert fr.stdout.strip() == "1 déposé(s), 0 déjà là, 1 en échec"
    pinned, *rest = fr.stderr.splitlines()
    assert re.fullmatch(r"clé de jean enregistrée : empreinte [A-Z2-7]{5}( [A-Z2-7]{5}){7}", pinned)
    assert rest == [
        "ligne 3 : aucun compte « personne »",
        "erreur : 1 ligne(s) sur 2 non envoyée(s)",
    ]
    # the second run finds the first row already there
    assert en.stdout.strip() == "0 deposited, 1 already there, 1 failed"
    assert en.stderr.splitlines() == [
        "line 3: no account 'personne'",
        "error: 1 of 2 rows not sent",
    ]


def test_clicks_usage_errors_in_french(make_device):
    """A missing option, an unknown option with its suggestion, a bad number: Click's English
    unchanged, French from fr.po; exit 2 both ways."""
    dev = make_device("X")
    for args, english, french in (
        (("issuer", "request"), "usage error: Missing option '--to'.",
         "erreur d'utilisation : Il manque l'option « --to »."),
        (("share", "create", "a", "--expire", "1h"),
         "usage error: No such option '--expire'. Did you mean '--expires'?",
         "erreur d'utilisation : Option inconnue : « --expire ». "
         "Vouliez-vous dire « --expires » ?"),
        (("share", "create", "a", "--expires", "1h", "--max-uses", "0"),
         "usage error: Invalid value for '--max-uses': 0 is not in the range x>=1.",
         "erreur d'utilisation : Valeur incorrecte pour « --max-uses » : 0 n'est pas dans "
         "l'intervalle x>=1."),
    ):  # fmt: skip
        en = dev.run(*args, env=EN, check=False)
        fr = dev.run(*args, env=FR, check=False)
        assert en.returncode == fr.returncode == EXIT_USAGE
        assert en.stderr.strip() == english
        assert fr.stderr.strip() == french


def test_listings_in_french(account):
    """`vault share list` and `vault status`: the words in French, the ids, dates and paths as
    they are; the English listing unchanged."""
    dev, _ = account()
    dev.write("a.txt", "a")
    dev.run("sync", env=EN)
    dev.run("share", "create", "a.txt", "--expires", "1h", "--max-uses", "2", env=EN)
    en = dev.run("share", "list", env=EN).stdout.strip()
    fr = dev.run("share", "list", env=FR).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}  active   expires \S+  2 uses left", en), en
    assert re.fullmatch(
        r"[0-9a-f]{32}  actif    expire le \d{1,2} \w+\.? 20\d\d, \d\d:\d\d  "
        r"encore 2 utilisation\(s\)",
        fr,
    ), fr
    dev.write("b.txt", "b")
    assert dev.run("status", env=EN).stdout.splitlines() == ["upload         b.txt"]
    assert dev.run("status", env=FR).stdout.splitlines() == ["envoi          b.txt"]


def test_a_mistyped_recovery_key_in_french(account, make_device, server):
    """`vault recover` with one character of the key changed: the core's checksum message in
    French (not the generic 'Données mal formées.'), the same exit code."""
    _dev, key = account()
    typo = ("B" if key[0] != "B" else "C") + key[1:]
    other = make_device("R")
    args = ("recover", "--server", server.url, "--user", "jean")
    env = {"VAULT_RECOVERY_KEY": typo, "VAULT_PASSPHRASE": "une autre phrase de passe solide"}
    en = other.run(*args, env={**EN, **env}, check=False)
    fr = other.run(*args, env={**FR, **env}, check=False)
    assert en.returncode == fr.returncode != 0
    assert en.stderr.strip() == "error: recovery key: checksum mismatch (typo?)"
    assert fr.stderr.strip() == (
        "erreur : Clé de récupération incorrecte : vérifiez-la (une faute de frappe ?)."
    )
