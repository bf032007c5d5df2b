"""Audit of the client's messages (issue 22, "a French-speaking user reads French
everywhere"), over the source's AST:

* every error message raised in vault_client/ (a VaultError with a literal or an f-string,
  its fields as {placeholders}) has its own French in fr.po: translated, and by a msgid of
  its own shape, not only its class's generic sentence nor a template of another message
  that happens to match ("1 of 2 rows not sent" read as "{size} sent");
* the same for the service's warnings, event texts and 'vault status' notices;
* every say() template is a msgid of fr.po, filled with its own placeholders;
* no line of the CLI prints English without say(): data lines (ids, keys, URIs, paths,
  fingerprints alone) are marked ``# data`` on their line;
* the French keeps its placeholders; no entry of fr.po is dead.

Each failure lists the offenders as ``file:line: text``, so a new message is easy to find and
translate. The app's page shows the same French (vault_client/app/messages.py calls
i18n.error_sentence), so the app's request-validation errors (app/routes.py) are audited too.
A message made only of fields (``f"{path}: {exc.strerror}"``) has no words of its own: a French
reader gets its class's sentence.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import click
from babel.messages.pofile import read_po

from vault_client import i18n
from vault_core import errors

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "vault_client"
CLI = CLIENT / "cli"
PO = CLIENT / "i18n" / "fr.po"

# the classes whose message a person reads (the CLI's "error: ...", the app's sentence)
ERROR_CLASSES = frozenset(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.VaultError)
)
# English words: two letters or more (ids and keys are hexadecimal or base64, marked # data)
WORD = re.compile(r"[A-Za-z]{2,}")
FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# what a face prints, and the prompts (read_secret(ENV, PROMPT): the prompt only)
PRINTERS = frozenset({"echo", "err", "notify", "secho", "print", "confirm", "prompt", "getpass"})
PROMPTS = {"read_secret": 1}
# what gives the reader's language: a say() template, a translation of a message, a keyword
# or a date of the data (cli/common.py)
TRANSLATED = frozenset({"say", "translate", "error_sentence", "word", "dated"})


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@functools.cache
def _parse(path: Path) -> tuple[ast.Module, list[str]]:
    text = path.read_text(encoding="utf-8")
    return ast.parse(text, filename=str(path)), text.splitlines()


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def _marked_data(path: Path, node: ast.AST) -> bool:
    """``# data`` on one of the node's lines."""
    _, lines = _parse(path)
    first = getattr(node, "lineno", 1)
    last = getattr(node, "end_lineno", first) or first
    return any("# data" in lines[i - 1] for i in range(first, last + 1))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _template(node: ast.expr, local: dict[str, list[ast.expr]] | None = None) -> str | None:
    """The message's template: a literal as is, an f-string with each field as {name}
    (named after the expression: {handle}, {path}...), a concatenation of those; None when
    the text is not written in the source (a variable). A field that is a variable assigned
    one written text in the same function (``question = f"this sync would delete ..."``) is
    that text."""
    local = local or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and len(local.get(node.id, [])) == 1:
        return _template(local[node.id][0])  # message = f"..."; raise X(message)
    if isinstance(node, ast.JoinedStr):
        out = []
        for i, part in enumerate(node.values):
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            inner = None
            if isinstance(part.value, ast.Name) and len(local.get(part.value.id, [])) == 1:
                value = local[part.value.id][0]
                if _may_be_empty(value):  # where = f" ({report})" if report else ""
                    inner = "{" + part.value.id.lower() + OPTIONAL + "}"
                else:
                    inner = _template(value)
            out.append(inner if inner is not None else "{" + _field_name(part.value, i) + "}")
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left, local), _template(node.right, local)
        if left is not None or right is not None:
            return (left if left is not None else "{value}") + (
                right if right is not None else "{value}"
            )
    return None


OPTIONAL = "_or_empty"  # a field that may be empty: the message is checked both ways


def _may_be_empty(node: ast.expr) -> bool:
    """``""``, or ``... if ... else ""``."""
    if isinstance(node, ast.IfExp):
        return _may_be_empty(node.body) or _may_be_empty(node.orelse)
    return isinstance(node, ast.Constant) and node.value == ""


def _samples(template: str) -> list[str]:
    """The message as it reads: each field filled, then also the optional ones empty."""
    out = [_sample(template)]
    if OPTIONAL in template:
        empty = re.sub(r"\{[a-z0-9_]*" + OPTIONAL + r"\}", "", template)
        out.append(_sample(empty))
    return out


def _field_name(node: ast.expr, i: int) -> str:
    if isinstance(node, ast.Name):
        return node.id.lower()
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    return f"value{i}"


def _worded(template: str) -> bool:
    """A message with words of its own. ``f"{path}: {exc.strerror}"`` has none: a template
    "{path}: {error}" would catch every message with a colon, so the reader gets the class's
    sentence for it (what the system or the inner error said is not the client's text)."""
    return WORD.search(FIELD.sub("", template)) is not None


def _sample(template: str) -> str:
    """The template with each field filled by a sample value, as a message reads."""
    return FIELD.sub(lambda m: f"x{m.start()}", template.replace("{{", "{").replace("}}", "}"))


@functools.cache
def _raised() -> list[tuple[Path, ast.Raise, str]]:
    found: dict[tuple[Path, int], tuple[Path, ast.Raise, str]] = {}
    for path in _sources(CLIENT):
        tree, _ = _parse(path)
        scopes: list[ast.AST] = [tree, *_functions(tree)]  # a function's own raises last
        for scope in scopes:
            local = _assignments(scope) if scope is not tree else {}
            for node in ast.walk(scope):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                if _name(node.exc.func) not in ERROR_CLASSES or not node.exc.args:
                    continue
                template = _template(node.exc.args[0], local)
                if template is not None:
                    found[(path, node.lineno)] = (path, node, template)
    return list(found.values())


# what the service tells a person besides its errors: a warning (ctx.warn, warn), an event's
# text (bus.emit(KIND, text)), a notice of 'vault status' (Notice(id, kind, text)); the faces
# translate them (common.Terminal, the app)
TOLD = {"warn": 0, "emit": 1, "Notice": 2, "_failed": 1}
# and what a listing shows of a row or an item: replace(row, error=...), Deposit(problem=...)
TOLD_KEYWORDS = frozenset({"error", "problem"})


@functools.cache
def _told() -> list[tuple[Path, ast.Call, str]]:
    found: dict[tuple[Path, str], tuple[Path, ast.Call, str]] = {}
    for path in _sources(CLIENT):
        if path.is_relative_to(CLI):
            continue  # (the CLI's own lines: test_the_cli_prints_no_english_without_say)
        tree, _ = _parse(path)
        for scope in [tree, *_functions(tree)]:
            local = _assignments(scope) if scope is not tree else {}
            plain = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)]
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call):
                    continue
                shown = [k.value for k in node.keywords if k.arg in TOLD_KEYWORDS]
                i = TOLD.get(_name(node.func), -1)
                if 0 <= i < len(node.args):
                    shown.append(node.args[i])
                for arg in shown:
                    _told_arg(found, path, node, arg, local, plain)
    return list(found.values())


def _told_arg(
    found: dict[tuple[Path, str], tuple[Path, ast.Call, str]],
    path: Path,
    node: ast.Call,
    arg: ast.expr,
    local: dict[str, list[ast.expr]],
    plain: list[ast.expr],
) -> None:
    values = [arg]
    if isinstance(arg, ast.Name) and len(local.get(arg.id, [])) > 1:
        # text = f"..." in each branch, then Notice(.., text)
        values = [v for v in local[arg.id] if v in plain]
    for value in values:
        template = _template(value, local)
        if template is not None:
            found.setdefault((path, template), (path, node, template))


def test_every_warning_and_notice_has_its_own_french():
    """The warnings, event texts and notices a person reads (on stderr, in 'vault status', as
    a desktop notification, in the app) have their French in fr.po too."""
    catalog = i18n.french()
    missing = []
    for path, node, template in _told():
        if not _worded(template):
            continue
        for text in _samples(template):
            msgid = _msgid_for(text) if catalog.translate(text) else None
            if msgid is None or _skeleton(msgid) != _skeleton(_unfilled(template, text)):
                missing.append(f"{_where(path, node)}: {text!r}")
    assert not missing, (
        f"{len(missing)} warning(s) or notice(s) without their own French in fr.po:\n"
        + "\n".join(missing)
    )


def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    """name -> the values assigned to it in a function."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Name):
                        assigned.setdefault(t.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name):
                assigned.setdefault(node.target.id, []).append(node.value)
    return assigned


def _says() -> Iterator[tuple[Path, ast.Call]]:
    for path in _sources(CLIENT):
        tree, _ = _parse(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "say":
                yield path, node


def test_every_error_message_has_its_own_french():
    """A raise of a VaultError with a written message: the catalogue translates it (a msgid,
    or a template of the same shape), so a French reader never gets only the class's generic
    sentence ("L'opération a échoué.") in place of what went wrong."""
    catalog = i18n.french()
    missing, other = [], []
    for path, node, template in _raised():
        if not _worded(template):
            continue
        for text in _samples(template):
            if catalog.translate(text) is None:
                missing.append(f"{_where(path, node)}: {text!r}")
                continue
            msgid = _msgid_for(text)
            if msgid is not None and _skeleton(msgid) != _skeleton(_unfilled(template, text)):
                other.append(f"{_where(path, node)}: {text!r} read as {msgid!r}")
    assert not missing, (
        f"{len(missing)} error message(s) without French in vault_client/i18n/fr.po:\n"
        + "\n".join(missing)
    )
    assert not other, (
        "error message(s) translated by a template of another message (add their own):\n"
        + "\n".join(other)
    )


def _unfilled(template: str, text: str) -> str:
    """The template of a sample text (its optional fields left out when they are empty)."""
    if text == _sample(template):
        return template
    return re.sub(r"\{[a-z0-9_]*" + OPTIONAL + r"\}", "", template)


def _skeleton(template: str) -> list[str]:
    """The worded literal parts (``({method} {path})`` may be read as ``({request})``)."""
    return [part for part in FIELD.split(template)[::2] if WORD.search(part)]


def _msgid_for(text: str) -> str | None:
    """The msgid whose French Catalog.translate gives for ``text`` (same order)."""
    catalog = i18n.french()
    if text in catalog.exact and not FIELD.search(text):
        return text
    by_pattern = {i18n._pattern(m).pattern: m for m in catalog.exact if FIELD.search(m)}
    for pattern, _msgstr, _names in catalog.templates:
        if pattern.match(text):
            return by_pattern[pattern.pattern]
    return None


def test_every_say_template_is_a_msgid():
    catalog = i18n.french()
    bad = []
    for path, node in _says():
        if not node.args:
            continue
        template = node.args[0]
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            bad.append(
                f"{_where(path, node)}: say() of a text not written out: {ast.unparse(template)}"
            )
        elif template.value not in catalog.exact:
            bad.append(f"{_where(path, node)}: {template.value!r} is not a msgid of fr.po")
        else:
            names = set(FIELD.findall(template.value))
            given = {k.arg for k in node.keywords if k.arg}
            if names != given and all(k.arg for k in node.keywords):  # (not with **values)
                bad.append(f"{_where(path, node)}: {template.value!r} filled with {sorted(given)}")
    assert not bad, "\n".join(bad)


def _english(node: ast.expr) -> list[str]:
    """The English texts written in an expression (literal parts with a word), not counting
    what goes through say() or i18n."""
    out: list[str] = []

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Call) and _name(n.func) in TRANSLATED:
            return
        if isinstance(n, ast.Compare | ast.Subscript):  # (it.event == "document", d["key"])
            return
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            if WORD.search(n.value):
                out.append(n.value)
            return
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return out


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _printed(
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
) -> Iterator[tuple[ast.Call, list[ast.expr]]]:
    """Each call that shows text, with the arguments shown."""
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in PRINTERS:
            shown = [*node.args, *(k.value for k in node.keywords if k.arg in (None, "text"))]
            yield node, shown
        elif name in PROMPTS and len(node.args) > PROMPTS[name]:
            yield node, [node.args[PROMPTS[name]]]


def _names_in(node: ast.AST) -> set[str]:
    """The variables an expression shows (not those given to say() or a translation)."""
    if isinstance(node, ast.Call) and _name(node.func) in TRANSLATED:
        return set()
    if isinstance(node, ast.Name):
        return {node.id}
    return {name for child in ast.iter_child_nodes(node) for name in _names_in(child)}


def test_the_cli_prints_no_english_without_say():
    """click.echo / err / print / a prompt in vault_client/cli/: a text with words goes
    through say() (its English is the msgid, the French comes from fr.po); a data line
    (ids, keys, URIs, paths alone) is marked ``# data``. A variable printed is followed to
    its assignments in the same function (``mark = " (this device)"``)."""
    bad = []
    for path in _sources(CLI):
        tree, _ = _parse(path)
        for fn in _functions(tree):
            assigned = _assignments(fn)
            for call, shown in _printed(fn):
                if _marked_data(path, call):
                    continue
                texts: list[str] = []
                for arg in shown:
                    texts += _english(arg)
                    for name in _names_in(arg):
                        for value in assigned.get(name, []):
                            if not _marked_data(path, value):
                                texts += _english(value)
                for text in dict.fromkeys(texts):
                    bad.append(f"{_where(path, call)}: {text!r}")
    assert not bad, (
        f"{len(bad)} English text(s) printed by the CLI without say() (or a # data mark):\n"
        + "\n".join(bad)
    )


def test_the_french_keeps_the_placeholders_it_uses():
    """Each {placeholder} of a msgstr is one of its msgid (the French cannot invent a value),
    and the French of a status line (say()) keeps every value the English shows."""
    catalog = i18n.french()
    templates = {
        node.args[0].value
        for _, node in _says()
        if node.args and isinstance(node.args[0], ast.Constant)
    }
    bad = []
    for msgid, msgstr in catalog.exact.items():
        english, french = set(FIELD.findall(msgid)), set(FIELD.findall(msgstr))
        if not french <= english:
            bad.append(f"{msgid!r}: {sorted(french - english)} not in the English")
        if msgid in templates and english - french:
            bad.append(f"{msgid!r}: the French drops {sorted(english - french)}")
    assert not bad, "\n".join(bad)


def test_no_dead_entries_in_the_catalogue():
    """Every message of fr.po is said by some source: a say() template, a raised message of
    the same shape, or a message the server sends (vault_server/), the app (app/), the
    core (vault_core/) or Click writes. Class sentences (msgctxt "class") are by wire code."""
    with open(PO, "rb") as fh:
        po = read_po(fh, locale="fr")
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for root in (ROOT / "vault_client", ROOT / "vault_server", ROOT / "vault_core")
        for p in _sources(root)
    )
    raised = [text for _, _, template in [*_raised(), *_told()] for text in _samples(template)]
    # Click's own usage errors (cli/__init__.py translates them), some composed at run time
    sources += "\n".join(
        p.read_text(encoding="utf-8") for p in _sources(Path(click.__file__).parent)
    )
    for kind in (click.INT, click.IntRange(0, 1)):
        try:
            kind.convert("x", None, None)
        except click.BadParameter as exc:
            raised.append(exc.message)
    # composed at run time: the server's 429 (vault_server/limits.py)
    from vault_server.limits import Throttled

    raised += [
        str(Throttled(wait, what).message)
        for wait in (30, 600, 7200)
        for what in ("failed logins", "deposits and requests")
    ]
    says = {
        node.args[0].value
        for _, node in _says()
        if node.args and isinstance(node.args[0], ast.Constant)
    }
    dead = []
    for message in po:
        if not message.id or message.context == "class":
            continue
        msgid = str(message.id)
        if msgid in says:
            continue
        pattern = i18n._pattern(msgid)
        if any(pattern.match(text) for text in raised):
            continue
        # most of the message's literal pieces in the sources (a message composed of parts:
        # "... approvals{when}): ..." read as "... approvals): ..." when it is empty)
        pieces = [p.strip() for p in FIELD.split(msgid)[::2] if len(p.strip()) >= 4] or [msgid]
        if 2 * sum(piece in sources for piece in pieces) >= len(pieces):
            continue
        dead.append(repr(msgid))
    assert not dead, "fr.po entries no source says:\n" + "\n".join(dead)
