"""``Limits``: every per-connection bound of docs/protocol.md ("Connections and limits"), the Node server's defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .errors import ServerError

MAX_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class Limits:
    """Bounds in size and in time; each an integer from 1 to 2**31 - 1 (ERR_PY_INVALID_OPTION otherwise)."""

    max_connections: int = 1024
    max_message_bytes: int = 1_048_576
    partial_message_timeout_ms: int = 5_000
    idle_timeout_ms: int = 60_000
    max_queued_requests: int = 32
    max_pending_response_bytes: int = 1_048_576
    write_stall_timeout_ms: int = 10_000
    handler_timeout_ms: int = 10_000
    close_linger_ms: int = 1_000
    shutdown_grace_ms: int = 10_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > MAX_LIMIT:
                raise ServerError("ERR_PY_INVALID_OPTION", f"{f.name} must be an integer from 1 to {MAX_LIMIT}, got {value!r}")


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))

__all__ = ["LIMIT_NAMES", "Limits"]
