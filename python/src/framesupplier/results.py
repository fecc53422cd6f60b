"""A model's result as the protocol's answer: ``detections`` and ``metadata``, or a reason it does not fit.

The protocol's response carries detections (boxes) and a ``metadata`` object, nothing else. So a
handler returns a list of detections, or a mapping with only ``detections`` and ``metadata``; a
model that is not a detector (a classifier, an embedding, a colour) returns
``{"detections": [], "metadata": {...}}``. Anything else (other keys in the mapping, a bare
``None``, a detection without a box, a confidence of 2) is ``ResultError``, which the server answers
ERR_HANDLER_FAILED saying why, so a result is never taken silently as "nothing found" with the
user's keys dropped. NumPy scalars and arrays are made plain (lists and numbers) on the way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .protocol import is_integer, is_number

Detection = Mapping[str, Any]
"""``bbox`` [x1, y1, x2, y2] normalised 0-1, ``confidence`` 0-1, ``class_id``, ``class_name``, ``keypoints``, any extra key."""
InferResult = Sequence[Detection] | Mapping[str, Any]
"""A list of detections, or ``{"detections": [...], "metadata": {...}}``."""

RESULT_KEYS = ("detections", "metadata")
SERVER_METADATA = ("inference_time_ms", "wait_ms", "frame_age_ms", "batch_size", "batch_oldest_frame_age_ms")
"""The metadata fields the server sets on every answer (over a handler's own of the same name)."""


class ResultError(ValueError):
    """A handler's result that the protocol's answer cannot carry; the message says why (and names the keys)."""


def plain(value: Any, where: str) -> Any:
    """A value JSON can carry: NumPy scalars and arrays as numbers and lists, tuples as lists, mappings with string keys."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ResultError(f"{where} has a key that is not a string: {key!r}")
            out[key] = plain(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ResultError(f"{where} is {value}, which JSON cannot carry")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ResultError(f"{where} is a {type(value).__name__}, which JSON cannot carry")


def _unit(v: object, what: str) -> float:
    if not is_number(v) or not 0 <= float(v) <= 1:
        raise ResultError(f"{what} must be a number from 0 to 1, got {v!r}")
    return float(v)


def _detection(i: int, d: object) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise ResultError(f"detection {i} is a {type(d).__name__}, not a mapping with a bbox and a confidence")
    detection = plain(d, f"detection {i}")
    class_id = detection.get("class_id", 0)
    if not is_integer(class_id) or class_id < 0:
        raise ResultError(f"detection {i}: class_id must be an integer >= 0, got {class_id!r}")
    if "bbox" not in detection:
        raise ResultError(f"detection {i} has no bbox [x1, y1, x2, y2] (its keys: {', '.join(map(repr, detection))})")
    bbox = detection["bbox"]
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise ResultError(f"detection {i}: bbox must be [x1, y1, x2, y2], got {bbox!r}")
    if "confidence" not in detection:
        raise ResultError(f"detection {i} has no confidence")
    item: dict[str, Any] = {
        "class_id": int(class_id),
        "class_name": str(detection.get("class_name", f"class_{int(class_id)}")),
        "confidence": _unit(detection["confidence"], f"detection {i}: confidence"),
        "bbox": [_unit(v, f"detection {i}: bbox") for v in bbox],
    }
    if "keypoints" in detection:
        keypoints = detection["keypoints"]
        if not isinstance(keypoints, list) or not all(isinstance(k, list) and len(k) == 3 and all(is_number(c) for c in k) for k in keypoints):
            raise ResultError(f"detection {i}: keypoints must be [[x, y, score], ...]")
        item["keypoints"] = [[float(c) for c in k] for k in keypoints]
    for key, value in detection.items():
        if key not in item:
            item[key] = value
    return item


def normalise_result(result: object) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A handler's result as the answer's detections and metadata; ResultError if it does not fit."""
    detections: object = result
    metadata: dict[str, Any] = {}
    if isinstance(result, Mapping):
        others = [key for key in result if key not in RESULT_KEYS]
        if others:
            raise ResultError(
                f"a result mapping holds only 'detections' and 'metadata', not {', '.join(repr(k) for k in others)}: "
                "a model that is not a detector returns {'detections': [], 'metadata': {...its output...}}"
            )
        detections = result.get("detections", [])
        given = result.get("metadata", {})
        if not isinstance(given, Mapping):
            raise ResultError(f"the result's metadata is a {type(given).__name__}, not a mapping")
        metadata = plain(given, "metadata")
    if result is None:
        raise ResultError("the handler returned None: return [] when it found nothing")
    if isinstance(detections, (str, bytes, Mapping)) or not isinstance(detections, Iterable):
        raise ResultError(f"detections must be a list of detections, got a {type(detections).__name__}")
    return [_detection(i, d) for i, d in enumerate(detections)], metadata


__all__ = ["Detection", "InferResult", "RESULT_KEYS", "ResultError", "SERVER_METADATA", "normalise_result", "plain"]
