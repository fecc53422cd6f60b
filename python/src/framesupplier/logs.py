"""The package's log: the ``framesupplier`` logger, and the JSON-lines format its CLI installs.

Everything the package logs goes through ``logging.getLogger("framesupplier")`` as one event
(the record's message, e.g. ``listening``, ``connection-error``, ``result-refused``) with its
fields in ``extra={"event_fields": {...}}``. A library user's own logging configuration decides
where it goes; ``python -m framesupplier.serve`` (and ``cli.serve_with_flags``, and
``worker.run`` when the logger has no handler yet) install ``json_log_handler()``, which writes one JSON object a line on stderr:
``{"level": "info", "event": "listening", ...fields}``, the same lines the Node server writes.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import sys
from typing import IO

LOGGER = logging.getLogger("framesupplier")

_LEVELS = {"WARNING": "warn", "CRITICAL": "fatal"}


def log_event(level: int, event: str, **fields: object) -> None:
    """One event on the ``framesupplier`` logger, its fields kept apart from the message for the JSON format."""
    LOGGER.log(level, event, extra={"event_fields": fields})


class JsonLineFormatter(logging.Formatter):
    """A record as one JSON object: ``level``, ``event`` (the message), then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "event_fields", None)
        line: dict[str, object] = {"level": _LEVELS.get(record.levelname, record.levelname.lower()), "event": record.getMessage()}
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def json_log_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing JSON lines to ``stream`` (default: stderr)."""
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    return handler


def install_json_logging(level: int = logging.INFO) -> logging.Handler:
    """The CLI's logging: JSON lines on stderr for the ``framesupplier`` logger (once; the handler is returned)."""
    for handler in LOGGER.handlers:
        if isinstance(handler.formatter, JsonLineFormatter):
            return handler
    handler = json_log_handler()
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    return handler


def install_fault_report() -> bool:
    """The commands' last word on a fatal signal (ADR 0109): Python's ``faulthandler`` on stderr, which writes every
    thread's Python stack when the process gets SIGSEGV, SIGFPE, SIGABRT, SIGBUS or SIGILL, then lets it die of it.

    Left as it is when already enabled (``PYTHONFAULTHANDLER``, ``-X faulthandler``). Installed as the command starts,
    before any frame store is mapped: the store's SIGBUS guard, set at the first mapping, then goes first and absorbs
    a truncated store's faults, handing on only the others. True once enabled.
    """
    if not faulthandler.is_enabled():
        faulthandler.enable(file=sys.stderr, all_threads=True)
    return faulthandler.is_enabled()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is at each record, so a stderr replaced later (a test's capture) is honoured."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # under the handler's lock (Handler.handle)
        super().emit(record)


__all__ = ["LOGGER", "JsonLineFormatter", "install_fault_report", "install_json_logging", "json_log_handler", "log_event"]
