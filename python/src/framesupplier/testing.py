"""A frame store writer, for tests and tools: the writer's side of docs/protocol.md's
"The frame store" (the whole file allocated before a rename makes it visible,
frames written under the seqlock). framesupplier's own writers are in Node."""

from __future__ import annotations

import os
import struct
import time
from .frame import FORMATS, FrameFormat
from .store import HEADER_BYTES, MAGIC, SLOT_HEADER_BYTES, VERSION, store_file_bytes


class StoreWriter:
    """Writes frames into ``<directory>/<store_id>.frames``; ``write`` returns the frame's id."""

    def __init__(self, directory: str, store_id: str, slots: int = 8, slot_bytes: int = 64 * 48 * 3) -> None:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.path = os.path.join(directory, f"{store_id}.frames")
        self.slots = slots
        self.slot_bytes = slot_bytes
        tmp = os.path.join(directory, f".{store_id}.frames.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.posix_fallocate(fd, 0, store_file_bytes(slots, slot_bytes))
            os.pwrite(fd, struct.pack("<6I", MAGIC, VERSION, slots, slot_bytes, HEADER_BYTES, SLOT_HEADER_BYTES), 0)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.rename(tmp, self.path)
        self.fd = fd
        self.next_id = 1

    def slot_offset(self, frame_id: int) -> int:
        return HEADER_BYTES + (frame_id % self.slots) * (SLOT_HEADER_BYTES + self.slot_bytes)

    def write(self, data: bytes, width: int, height: int, fmt: FrameFormat, wall_time_ms: float | None = None) -> int:
        frame_id = self.next_id
        self.next_id += 1
        offset = self.slot_offset(frame_id)
        (seq,) = struct.unpack("<I", os.pread(self.fd, 4, offset))
        odd = seq | 1
        os.pwrite(self.fd, struct.pack("<I", odd), offset)
        os.pwrite(self.fd, bytes(data), offset + SLOT_HEADER_BYTES)
        wall = time.time() * 1000 if wall_time_ms is None else wall_time_ms
        os.pwrite(self.fd, struct.pack("<IQIIIId", 0, frame_id, width, height, FORMATS.index(fmt) + 1, len(data), wall), offset + 4)
        after = (odd + 1) & 0xFFFFFFFF
        os.pwrite(self.fd, struct.pack("<I", after if after != 0 else 2), offset)
        return frame_id

    def close(self) -> None:
        os.close(self.fd)
