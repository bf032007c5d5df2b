"""Result dataclasses as JSON (the CLI's ``--json``, the app's API).

Field names are the JSON keys; a trailing underscore is dropped (``from_`` gives ``"from"``).
Every field is always there (None when it does not apply), so a reader can rely on the keys.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def to_json(item: Any) -> Any:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {
            f.name.rstrip("_"): to_json(getattr(item, f.name)) for f in dataclasses.fields(item)
        }
    if isinstance(item, list | tuple):
        return [to_json(v) for v in item]
    if isinstance(item, dict):
        return {k: to_json(v) for k, v in item.items()}
    return item
