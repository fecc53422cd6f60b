"""Which frame a request gets, read from its store: ``frame_select``, ``max_age_ms``, then the frame itself.

The frame is chosen when a model thread takes the request, not when it was read: ``exact`` is the
frame the request names, ``newest`` the store's newest complete frame of the request's size and
format, never older than the one named (without one, the frame named is read as ``exact`` reads it,
and its checks answer: ERR_FRAME_OVERWRITTEN, ERR_FRAME_NOT_FOUND, ERR_SCHEMA). A frame older than the request's ``max_age_ms`` is ``FrameStale``
(answered ERR_FRAME_STALE without calling the model). Otherwise the frame is acquired (checks 1-9
of docs/protocol.md) and handed out as a ``Frame`` over its lease; check 10, the seqlock, is the
lease's release when the model is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import FrameError
from .frame import Frame, is_frame_format
from .protocol import Message
from .store import Lease, StoreReader


class FrameStale(Exception):
    """The frame chosen is older than the request's budget."""

    def __init__(self, frame_id: int, age_ms: float, budget_ms: float) -> None:
        super().__init__(f"frame {frame_id} was {round(age_ms)} ms old when taken, over the request's max_age_ms {budget_ms}")
        self.frame_id = frame_id


@dataclass(frozen=True)
class TakenFrame:
    frame: Frame
    lease: Lease
    request: Message
    """The request as used: its frame_metadata.frame_id is the frame taken (with ``newest``, maybe newer)."""


def take_frame(frames: StoreReader, request: Message) -> TakenFrame:
    """The request's frame, leased; raises FrameError (the protocol's codes) or FrameStale."""
    meta = request["frame_metadata"]
    reference = str(request["frame_reference"])
    wanted = int(meta["frame_id"])
    age_ms: float | None
    located = frames.locate(reference)  # once: the peek and the read use it
    fmt = meta["format"]
    if not is_frame_format(fmt):  # checked with the request; kept here for the type
        raise FrameError("ERR_SCHEMA", f"frame_metadata.format {fmt!r} is not a format", "frame_metadata.format")
    width, height = int(meta["width"]), int(meta["height"])
    newest = frames.peek(reference, "newest", located, (width, height, fmt)) if request.get("frame_select") == "newest" else None
    if newest is not None and newest.frame_id >= wanted:
        frame_id, age_ms = newest.frame_id, time.time() * 1000 - newest.wall_time_ms
    else:
        # None of the request's size as new as it: the frame named is read as "exact" reads it, and its check
        # answers (overwritten: frames were written over it; not found; ERR_SCHEMA: it is there, of another size).
        slot = frames.peek(reference, wanted, located)
        frame_id, age_ms = wanted, (None if slot is None else time.time() * 1000 - slot.wall_time_ms)
    budget = request.get("max_age_ms")
    if age_ms is not None and budget is not None and age_ms > budget:
        raise FrameStale(frame_id, age_ms, budget)
    lease = frames.acquire(reference, frame_id, width, height, fmt, located)
    used = request if frame_id == wanted else {**request, "frame_metadata": {**meta, "frame_id": frame_id}}
    frame = Frame(
        data=lease.data,
        width=lease.width,
        height=lease.height,
        format=lease.format,
        camera_id=str(request["camera_id"]),
        frame_id=frame_id,
        capture_time_ms=lease.wall_time_ms,
        request=used,
        _release=lease.release,
    )
    return TakenFrame(frame, lease, used)


__all__ = ["FrameStale", "TakenFrame", "take_frame"]
