"""Messages in the reader's language: French when ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` says
French, English otherwise; one catalogue (``fr.po``, gettext's format, read with Babel) for the
CLI's error and status lines and the app's error sentences.

The service layer speaks English (its messages are for logs and programs). A face asks
:func:`translate` for the French of a message: an exact msgid, or a msgid *template* whose
``{placeholders}`` match the variable parts (``"no history for {path} (run 'vault sync'
first?)"``), which are carried into the French. :func:`error_sentence` falls back on the
sentence of the error's class (msgctxt ``class``, by wire code) when no template matches, so a
French reader always reads French. Sizes and dates follow the reader's locale (``1,2 Mo``,
``7 déc. 2026, 02:59``).

English costs nothing: the catalogue is read only when French is asked for.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LANGUAGES = ("en", "fr")
_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def language(env: Mapping[str, str] | None = None) -> str:
    """``fr`` or ``en`` from the POSIX locale variables (first one set wins, as gettext)."""
    source = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = source.get(name)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


class Catalog:
    """The French catalogue: exact messages, templates, class sentences."""

    def __init__(self, path: Path) -> None:
        from babel.messages.pofile import read_po

        with open(path, "rb") as fh:
            catalog = read_po(fh, locale="fr")
        self.exact: dict[str, str] = {}
        self.classes: dict[str, str] = {}
        templates: list[tuple[re.Pattern[str], str, list[str]]] = []
        for message in catalog:
            if not message.id or not message.string:
                continue
            msgid, msgstr = str(message.id), str(message.string)
            if message.context == "class":
                self.classes[msgid] = msgstr
                continue
            self.exact[msgid] = msgstr
            names = _FIELD.findall(msgid)
            if names:
                templates.append((_pattern(msgid), msgstr, names))
        # the most specific (longest literal text) first
        templates.sort(key=lambda t: -len(_FIELD.sub("", t[1])))
        self.templates = templates

    def translate(self, text: str) -> str | None:
        found = self.exact.get(text)
        if found is not None and not _FIELD.search(text):
            return found
        for pattern, msgstr, _names in self.templates:
            m = pattern.match(text)
            if m is not None:
                return _fill(msgstr, {k: v.strip("'\"") for k, v in m.groupdict().items()})
        return None


def _fill(text: str, values: Mapping[str, Any]) -> str:
    return _FIELD.sub(lambda f: str(values.get(f.group(1), f.group(0))), text)


def _pattern(template: str) -> re.Pattern[str]:
    out, pos, seen = ["^"], 0, set()
    for m in _FIELD.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        name = m.group(1)
        out.append(f"(?P<{name}>.+?)" if name not in seen else ".+?")
        seen.add(name)
        pos = m.end()
    out.append(re.escape(template[pos:]) + "$")
    return re.compile("".join(out), re.S)


@functools.lru_cache(maxsize=1)
def french() -> Catalog:
    return Catalog(HERE / "fr.po")


def translate(text: str, lang: str) -> str:
    """``text`` (English) in ``lang``; itself when the catalogue has nothing for it."""
    if lang != "fr":
        return text
    return french().translate(text) or text


def t(template: str, lang: str, **values: Any) -> str:
    """A status line from its template (a msgid), in ``lang``, with ``values`` filled in."""
    text = template
    if lang == "fr":
        text = french().exact.get(template, template)
    return _fill(text, values)


def error_sentence(exc: Any, lang: str) -> str:
    """What to tell a person about a VaultError: its message (English), or in French the
    translated message, else the sentence of its class."""
    message = str(getattr(exc, "message", exc))
    if lang != "fr":
        return message
    catalog = french()
    found = catalog.translate(message)
    if found is not None:
        return found
    code = str(getattr(exc, "code", "error"))
    return catalog.classes.get(code) or catalog.classes.get("error", message)


_UNITS = {"en": ("bytes", "KB", "MB", "GB", "TB"), "fr": ("octets", "Ko", "Mo", "Go", "To")}


def format_size(n: int, lang: str) -> str:
    """``1,2 Mo`` / ``1.2 MB`` (powers of 1000, as file managers show); bytes under 1000."""
    units = _UNITS.get(lang, _UNITS["en"])
    if n < 1000:
        return f"{n} {units[0]}"
    value = float(n)
    i = 0
    while value >= 1000 and i < len(units) - 1:
        value /= 1000
        i += 1
    if lang == "fr":
        from babel.numbers import format_decimal

        return f"{format_decimal(round(value, 1), format='#,##0.#', locale='fr_FR')} {units[i]}"
    return f"{value:.1f}".rstrip("0").rstrip(".") + f" {units[i]}"


def format_datetime(when: _dt.datetime, lang: str) -> str:
    """A date and time as the reader writes them (``7 déc. 2026, 02:59``)."""
    if lang == "fr":
        from babel.dates import format_datetime as babel_format

        return str(babel_format(when, "d MMM y, HH:mm", locale="fr_FR"))
    return when.strftime("%Y-%m-%dT%H:%M:%S")
