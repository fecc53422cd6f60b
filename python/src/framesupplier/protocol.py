"""The model-server protocol's messages (docs/protocol.md, protocol 3): framing, the request schema, answers.

Every message is a 4-byte big-endian length and UTF-8 JSON (strict: no NaN or Infinity, as
``JSON.parse``). A request is checked in the order the protocol gives, first failure wins, with
the Node server's messages and ``field``s, so both servers answer a bad request alike. An error
answer fits the response schema whatever the request held: its values are echoed only when valid.
JSON objects from and to the wire are open (clients and handlers may add fields), hence ``Any``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from .errors import FrameError
from .frame import FORMATS

PROTOCOL_VERSION = 3
MAX_SAFE_INTEGER = 2**53 - 1
MAX_FRAME_DIMENSION = 16384
MAX_AGE_BUDGET_MS = 86_400_000

Message = dict[str, Any]
"""A JSON object as read from or written to the socket: open, any field a client or handler adds."""


def is_integer(v: object) -> bool:
    """An integer as JSON has it: an int, or a float without fraction (not a bool)."""
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and math.isfinite(v) and v.is_integer())


def is_number(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def frame_id_or_none(v: object) -> int | None:
    """A frame id to echo in an error: the request's when it is one, else none."""
    if not isinstance(v, (int, float)) or not is_integer(v):
        return None
    n = int(v)
    return n if 0 <= n <= MAX_SAFE_INTEGER else None


def echo_integer(v: Any) -> Any:
    """A request's integer as sent back: 7.0 read from JSON is 7."""
    return int(v) if isinstance(v, float) else v


def _check_string(name: str, v: object, lo: int, hi: int) -> None:
    if not isinstance(v, str):
        raise FrameError("ERR_SCHEMA", f"{name} must be string", name)
    if len(v) < lo:
        raise FrameError("ERR_SCHEMA", f"{name} must NOT have fewer than {lo} characters", name)
    if len(v) > hi:
        raise FrameError("ERR_SCHEMA", f"{name} must NOT have more than {hi} characters", name)


def _check_integer(name: str, v: Any, lo: int, hi: int) -> None:
    if not is_integer(v):
        raise FrameError("ERR_SCHEMA", f"{name} must be integer", name)
    if v < lo:
        raise FrameError("ERR_SCHEMA", f"{name} must be >= {lo}", name)
    if v > hi:
        raise FrameError("ERR_SCHEMA", f"{name} must be <= {hi}", name)


def check_request_id(v: object) -> None:
    if not (isinstance(v, str) or is_integer(v)):
        raise FrameError("ERR_SCHEMA", "request_id must be string,integer", "request_id")


def check_request(message: object) -> Message:
    """An inference request checked as the Node server's schema does (first failure wins); raises FrameError ERR_SCHEMA with its ``field``."""
    if not isinstance(message, dict):
        raise FrameError("ERR_SCHEMA", "request must be object", "request")
    for name in ("frame_reference", "frame_metadata", "camera_id", "model_id", "timestamp"):
        if name not in message:
            raise FrameError("ERR_SCHEMA", f"{name} is required", name)
    if "type" in message and message["type"] != "infer":
        raise FrameError("ERR_SCHEMA", "type must be equal to constant", "type")
    if "request_id" in message:
        check_request_id(message["request_id"])
    _check_string("frame_reference", message["frame_reference"], 1, 4096)
    meta = message["frame_metadata"]
    if not isinstance(meta, dict):
        raise FrameError("ERR_SCHEMA", "frame_metadata must be object", "frame_metadata")
    for name in ("frame_id", "width", "height", "format"):
        if name not in meta:
            raise FrameError("ERR_SCHEMA", f"frame_metadata.{name} is required", f"frame_metadata.{name}")
    _check_integer("frame_metadata.frame_id", meta["frame_id"], 0, MAX_SAFE_INTEGER)
    _check_integer("frame_metadata.width", meta["width"], 1, MAX_FRAME_DIMENSION)
    _check_integer("frame_metadata.height", meta["height"], 1, MAX_FRAME_DIMENSION)
    if not isinstance(meta["format"], str) or meta["format"] not in FORMATS:
        raise FrameError("ERR_SCHEMA", f"frame_metadata.format must be equal to one of the allowed values: one of {', '.join(FORMATS)}", "frame_metadata.format")
    _check_string("camera_id", message["camera_id"], 1, 256)
    _check_string("model_id", message["model_id"], 1, 256)
    if not is_number(message["timestamp"]):
        raise FrameError("ERR_SCHEMA", "timestamp must be number", "timestamp")
    if "frame_select" in message and message["frame_select"] not in ("exact", "newest"):
        raise FrameError("ERR_SCHEMA", "frame_select must be equal to one of the allowed values: one of exact, newest", "frame_select")
    if "max_age_ms" in message:
        v = message["max_age_ms"]
        if not is_number(v):
            raise FrameError("ERR_SCHEMA", "max_age_ms must be number", "max_age_ms")
        if v <= 0 or v > MAX_AGE_BUDGET_MS:
            raise FrameError("ERR_SCHEMA", f"max_age_ms must be > 0 and <= {MAX_AGE_BUDGET_MS}", "max_age_ms")
    if "urgent" in message and not isinstance(message["urgent"], bool):
        raise FrameError("ERR_SCHEMA", "urgent must be boolean", "urgent")
    return message


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_body(body: bytes) -> Any:
    """UTF-8 JSON (strict: no NaN or Infinity, as JSON.parse); raises ValueError."""
    return json.loads(body.decode("utf-8", errors="strict"), parse_constant=_no_constants)


def encode_message(message: Mapping[str, Any]) -> bytes:
    """A message framed: length prefix and compact UTF-8 JSON; ValueError or TypeError if it is not JSON."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    return len(body).to_bytes(4, "big") + body


def error_response(model_id: str, code: str, message: str, request: object = None, field: str | None = None, frame_id: int | None = None) -> Message:
    """An error answer that fits the response schema whatever the request held."""
    r = request if isinstance(request, dict) else {}
    out: Message = {}
    rid = r.get("request_id")
    if isinstance(rid, str) or is_integer(rid):
        out["request_id"] = echo_integer(rid)
    meta = r.get("frame_metadata")
    fid = frame_id if frame_id is not None else (meta.get("frame_id") if isinstance(meta, dict) else None)
    camera = r.get("camera_id")
    out.update(
        model_id=model_id,
        camera_id=camera if isinstance(camera, str) else None,
        frame_id=frame_id_or_none(fid),
        detections=[],
        metadata={"inference_time_ms": 0},
        error={"code": code, "message": message, **({} if field is None else {"field": field})},
    )
    return out


__all__ = [
    "MAX_AGE_BUDGET_MS",
    "MAX_FRAME_DIMENSION",
    "MAX_SAFE_INTEGER",
    "PROTOCOL_VERSION",
    "Message",
    "check_request",
    "check_request_id",
    "decode_body",
    "echo_integer",
    "encode_message",
    "error_response",
    "frame_id_or_none",
    "is_integer",
    "is_number",
]
