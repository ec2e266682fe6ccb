"""Structured logs: one JSON object per line on stderr.

Every record carries `at` (UTC, ISO 8601), `level`, `logger` and `event` (the message);
context goes in as keyword fields through `log(logger, level, event, **fields)` and comes
out as keys of the same object, so `jq 'select(.job == "j-12")'` follows one job.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

_FIELDS_ATTR = "makerfarm_fields"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(getattr(record, _FIELDS_ATTR, {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Route every logger through the JSON formatter; quieten the chatty libraries."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("amqtt", "transitions", "alembic", "sqlalchemy", "trimesh", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log `event` with structured `fields` (they become keys of the JSON line)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={_FIELDS_ATTR: fields}, stacklevel=2)
