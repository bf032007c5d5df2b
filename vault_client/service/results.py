"""Result dataclasses as JSON (the CLI's ``--json``, the app's API).

Field names are the JSON keys; a trailing underscore is dropped (``from_`` gives ``"from"``).
Every field is always there (None when it does not apply), so a reader can rely on the keys.
"""

from __future__ import annotations

import dataclasses
from typing import Any

_PLAIN = (str, int, float, bool, type(None))
_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}  # class -> (attribute, JSON key)


def to_json(item: Any) -> Any:
    if isinstance(item, _PLAIN):
        return item
    if isinstance(item, list | tuple):
        return [to_json(v) for v in item]
    if isinstance(item, dict):
        return {k: to_json(v) for k, v in item.items()}
    cls = type(item)
    keys = _KEYS.get(cls)
    if keys is None:
        if not dataclasses.is_dataclass(item) or isinstance(item, type):
            return item
        keys = _KEYS[cls] = tuple((f.name, f.name.rstrip("_")) for f in dataclasses.fields(item))
    out = {}
    for name, key in keys:
        value = getattr(item, name)
        out[key] = value if isinstance(value, _PLAIN) else to_json(value)
    return out
