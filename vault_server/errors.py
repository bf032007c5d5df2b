"""Server-only error shapes (all derive from vault_core.errors, so the codes stay shared)."""

from __future__ import annotations

from typing import Any

from vault_core.errors import Conflict


class HeadConflict(Conflict):
    """The log head moved: fetch the new entries and retry."""

    def __init__(self, head: int) -> None:
        super().__init__()
        self.head = head

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "head": self.head}
