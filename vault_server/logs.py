"""Structured logging: one JSON object per line on stderr. Nothing secret is ever passed in."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.name == "vault_server.access":
            return msg  # already one JSON object
        out = {
            "ts": round(time.time(), 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": msg,
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, separators=(",", ":"))


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("vault_server")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # whatever other libraries say (aiohttp, asyncio, storage clients): warnings and worse,
    # on the same stream as JSON lines, never raw text
    other = logging.getLogger()
    other.handlers[:] = [handler]
    other.setLevel(logging.WARNING)
    # aiohttp's own access log prints the raw request line (query tokens included): never on.
    logging.getLogger("aiohttp.access").disabled = True
