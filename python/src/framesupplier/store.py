"""Frames in a framesupplier frame store, read as NumPy arrays.

The store is specified in docs/protocol.md ("The frame store"): a file in a
tmpfs directory, a 64-byte header, then slots of one frame each under a
seqlock. A store is mapped read-only once and kept; a frame handed out is a
NumPy view of its bytes in the mapping (no copy), and whether it may have
been torn is decided when its reader is done with it (``Lease.release``):
the slot's ``seq`` unchanged, else ``ERR_FRAME_OVERWRITTEN``. A store
truncated under a mapping is survived (``_shmguard`` puts zero pages over it;
the frame is then ``ERR_FRAME_CORRUPT``); without that extension frames are
copied, as the Node server does without its addon. Every failure is a
``FrameError`` with the protocol's stable code, never a crash.
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .errors import FrameError
from .frame import FORMATS, FrameFormat

try:  # the optional C extension: without it, frames are copied
    from . import _shmguard as _guard_module

    _shmguard: ModuleType | None = _guard_module
except ImportError:  # pragma: no cover - depends on the build
    _shmguard = None

MAGIC = 0x53465346
VERSION = 1
HEADER_BYTES = 64
SLOT_HEADER_BYTES = 64
MAX_SLOTS = 1024
MAX_SLOT_BYTES = 2**31
DEFAULT_SHM_DIR = "/dev/shm/framesupplier"

FrameAccess = Literal["mapped", "copy"]
"""How a reader reads frames: views of a mapping (with the SIGBUS guard) or copies."""
FrameAccessChoice = Literal["auto", "copy"]
"""What a server is asked for: ``auto`` (mapped when the guard is built) or ``copy``."""


def frame_bytes(fmt: FrameFormat, width: int, height: int) -> int | None:
    """The bytes a raw frame of this format and size has; None for encoded ones (JPEG, PNG)."""
    per_pixel = {"RGB24": 3, "BGR24": 3, "RGBA": 4, "BGRA": 4, "GRAY": 1}
    if fmt in per_pixel:
        return width * height * per_pixel[fmt]
    if fmt in ("NV12", "YUV420P"):
        return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    return None


def store_file_bytes(slots: int, slot_bytes: int) -> int:
    return HEADER_BYTES + slots * (SLOT_HEADER_BYTES + slot_bytes)


def resolve_reference(reference: str, allowed_dir: str) -> str:
    """The real path of a frame_reference inside ``allowed_dir`` (protocol check 1 and 2)."""
    if not os.path.isabs(reference):
        raise FrameError("ERR_REFERENCE_OUTSIDE", f"frame_reference must be an absolute path, got {reference!r}")
    try:
        real_dir = os.path.realpath(allowed_dir, strict=True)
    except OSError:
        raise FrameError("ERR_FRAME_NOT_FOUND", f"the frame store directory {allowed_dir} does not exist") from None
    try:
        real = os.path.realpath(reference, strict=True)
    except OSError:
        # Refuse paths outside before saying anything about whether they exist.
        if not reference.startswith(real_dir + os.sep) or ".." in reference.split(os.sep):
            raise FrameError("ERR_REFERENCE_OUTSIDE", f"frame_reference {reference!r} is outside {allowed_dir}") from None
        raise FrameError("ERR_FRAME_NOT_FOUND", f"no frame store at {reference}") from None
    if not real.startswith(real_dir + os.sep):
        raise FrameError("ERR_REFERENCE_OUTSIDE", f"frame_reference {reference!r} resolves outside {allowed_dir}")
    return real


def _geometry(size: int, header: bytes) -> tuple[int, int] | str:
    if size < HEADER_BYTES or len(header) < HEADER_BYTES:
        return f"{size} bytes is smaller than the header"
    magic, version, slots, slot_bytes, header_size, slot_header = struct.unpack_from("<6I", header, 0)
    if magic != MAGIC or version != VERSION:
        return "bad magic or version"
    if header_size != HEADER_BYTES or slot_header != SLOT_HEADER_BYTES:
        return "bad header sizes"
    if not (1 <= slots <= MAX_SLOTS) or not (1 <= slot_bytes <= MAX_SLOT_BYTES):
        return f"slot_count {slots} or slot_bytes {slot_bytes} out of range"
    if size != store_file_bytes(slots, slot_bytes):
        return f"size {size} is not {store_file_bytes(slots, slot_bytes)} ({slots} slots of {slot_bytes} bytes)"
    return slots, slot_bytes


@dataclass(frozen=True)
class Located:
    """A reference checked inside the directory: its real path, and its ``lstat`` when that was the check."""

    reference: str
    path: str
    stat: os.stat_result | None


@dataclass(frozen=True)
class SlotInfo:
    """A frame's place in its store, from its slot header alone."""

    frame_id: int
    wall_time_ms: float


class _Mapping:
    """One store file mapped read-only, guarded against SIGBUS while it lives."""

    def __init__(self, path: str, fd: int, st: os.stat_result, slots: int, slot_bytes: int) -> None:
        self.key = (st.st_dev, st.st_ino, st.st_size)
        self.slots = slots
        self.slot_bytes = slot_bytes
        self.mm = mmap.mmap(fd, st.st_size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        self.array = np.frombuffer(self.mm, dtype=np.uint8)
        self.guard: int | None = None
        if _shmguard is not None:
            self.guard = _shmguard.guard(self.array.ctypes.data, st.st_size)
            # Unguarded only when the mapping itself goes (the last view of it collected).
            weakref.finalize(self.mm, _shmguard.unguard, self.guard)

    def broken(self) -> bool:
        return self.guard is not None and _shmguard is not None and bool(_shmguard.broken(self.guard))

    def u32(self, at: int) -> int:
        return int(struct.unpack_from("<I", self.mm, at)[0])

    def slot_header(self, index: int) -> tuple[int, bytes]:
        offset = HEADER_BYTES + index * (SLOT_HEADER_BYTES + self.slot_bytes)
        return offset, self.mm[offset : offset + SLOT_HEADER_BYTES]


_SeqCheck = Callable[[], FrameError | None]


class Lease:
    """A frame given to a reader: ``data`` is valid until ``release()``, which says whether it was torn."""

    def __init__(self, data: NDArray[np.uint8], width: int, height: int, fmt: FrameFormat, wall_time_ms: float, frame_id: int, check: _SeqCheck | None) -> None:
        self.data = data
        self.width = width
        self.height = height
        self.format = fmt
        self.wall_time_ms = wall_time_ms
        self.frame_id = frame_id
        self._check = check
        self._released = False
        self._outcome: FrameError | None = None
        self._lock = threading.Lock()

    def release(self) -> None:
        """Checks the seqlock now (once): raises ERR_FRAME_OVERWRITTEN or ERR_FRAME_CORRUPT if the bytes may be torn."""
        with self._lock:
            if not self._released:
                self._released = True
                if self._check is not None:
                    self._outcome = self._check()
        if self._outcome is not None:
            raise self._outcome


class StoreReader:
    """Reads frames by reference from stores inside one directory (a model server's ``shm_dir``)."""

    def __init__(self, shm_dir: str = DEFAULT_SHM_DIR, access: FrameAccessChoice = "auto") -> None:
        self.shm_dir = shm_dir
        self.access: FrameAccess = "mapped" if access == "auto" and _shmguard is not None else "copy"
        self.reason: str | None = None
        if self.access == "copy":
            self.reason = "asked for copies" if access == "copy" else "the framesupplier._shmguard extension is not built"
        self._maps: dict[str, _Mapping] = {}
        self._lock = threading.Lock()
        self._real_dir: str | None = None

    def locate(self, reference: str) -> Located:
        """The store a reference names, checked inside ``shm_dir`` (checks 1 and 2), for ``peek`` and ``acquire``.

        A reference that names a regular file directly in the directory (how framesupplier names its stores) costs
        one ``lstat``; anything else (a symlink, ``..``, a subdirectory) is resolved in full (``resolve_reference``)."""
        real_dir = self._real_dir
        if real_dir is None:
            try:
                real_dir = self._real_dir = os.path.realpath(self.shm_dir, strict=True)
            except OSError:
                real_dir = None
        if real_dir is not None and reference.startswith(real_dir + os.sep):
            name = reference[len(real_dir) + 1 :]
            if name not in ("", ".", "..") and os.sep not in name:
                try:
                    st = os.lstat(reference)
                except OSError:
                    raise FrameError("ERR_FRAME_NOT_FOUND", f"no frame store at {reference}") from None
                if stat.S_ISREG(st.st_mode):
                    return Located(reference, reference, st)
        return Located(reference, resolve_reference(reference, self.shm_dir), None)

    def _open(self, path: str, reference: str) -> tuple[int, os.stat_result, int, int]:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            raise FrameError("ERR_FRAME_NOT_FOUND", f"cannot open {reference}: {error.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise FrameError("ERR_FRAME_NOT_FOUND", f"{reference} is not a frame store: not a regular file")
            geometry = _geometry(st.st_size, os.pread(fd, HEADER_BYTES, 0))
            if isinstance(geometry, str):
                raise FrameError("ERR_FRAME_NOT_FOUND", f"{reference} is not a frame store: {geometry}")
            return fd, st, geometry[0], geometry[1]
        except BaseException:
            os.close(fd)
            raise

    def _mapping(self, path: str, reference: str, st: os.stat_result | None = None) -> _Mapping:
        """The path's mapping, mapped again when the file's inode or size changed (a store replaced)."""
        if st is None:
            try:
                st = os.stat(path, follow_symlinks=False)
            except OSError:
                raise FrameError("ERR_FRAME_NOT_FOUND", f"no frame store at {reference}") from None
        with self._lock:
            known = self._maps.get(path)
            if known is not None and known.key == (st.st_dev, st.st_ino, st.st_size) and not known.broken():
                return known
            fd, st, slots, slot_bytes = self._open(path, reference)
            try:
                mapping = _Mapping(path, fd, st, slots, slot_bytes)
            except (OSError, ValueError) as error:
                raise FrameError("ERR_FRAME_NOT_FOUND", f"cannot map {reference}: {error}") from None
            finally:
                os.close(fd)
            self._maps[path] = mapping
            if len(self._maps) > 256:  # references come from clients: keep the most recent
                self._maps.pop(next(iter(self._maps)))
            return mapping

    def peek(
        self,
        reference: str,
        which: int | Literal["newest"],
        located: Located | None = None,
        shape: tuple[int, int, FrameFormat] | None = None,
    ) -> SlotInfo | None:
        """The frame ``which`` names (or the store's newest complete one) from slot headers alone, or None.

        With ``newest`` and ``shape`` (width, height, format: the request's frame_metadata), only frames of that size
        and format are candidates: frames of another size (the camera's worker moved to its other stream) are not
        newer versions of the frame a request describes.
        """
        where = located or self.locate(reference)
        path = where.path
        if self.access == "mapped":
            m = self._mapping(path, reference, where.stat)
            slots = m.slots

            def header(i: int) -> bytes:
                return m.slot_header(i)[1]

        else:
            fd, _, slots, slot_bytes = self._open(path, reference)

            def header(i: int) -> bytes:
                return os.pread(fd, SLOT_HEADER_BYTES, HEADER_BYTES + i * (SLOT_HEADER_BYTES + slot_bytes))

        wanted_shape = None if shape is None else (shape[0], shape[1], FORMATS.index(shape[2]) + 1)
        try:

            def at(i: int, shaped: bool = False) -> SlotInfo | None:
                h = header(i)
                if len(h) < 40:
                    return None
                seq, _, frame_id, width, height, code = struct.unpack_from("<IIQIII", h, 0)
                if seq & 1 or frame_id == 0 or frame_id > 2**53 - 1:
                    return None
                if shaped and wanted_shape is not None and (width, height, code) != wanted_shape:
                    return None
                return SlotInfo(frame_id, struct.unpack_from("<d", h, 32)[0])

            if which != "newest":
                if not isinstance(which, int) or which < 1:
                    return None
                found = at(which % slots)
                return found if found is not None and found.frame_id == which else None
            newest: SlotInfo | None = None
            for i in range(slots):
                found = at(i, shaped=True)
                if found is not None and (newest is None or found.frame_id > newest.frame_id):
                    newest = found
            return newest
        finally:
            if self.access == "copy":
                os.close(fd)

    def acquire(self, reference: str, frame_id: int, width: int, height: int, fmt: FrameFormat, located: Located | None = None) -> Lease:
        """The frame, checked in the protocol's order (checks 1-9); check 10 is ``Lease.release()``."""
        where = located or self.locate(reference)
        path = where.path
        if not isinstance(frame_id, int) or frame_id < 1:
            raise FrameError("ERR_FRAME_NOT_FOUND", f"no frame {frame_id} in {reference}: frame ids start at 1")
        if self.access == "mapped":
            m = self._mapping(path, reference, where.stat)
            offset, h = m.slot_header(frame_id % m.slots)
            return self._checked(
                reference, frame_id, width, height, fmt, h, m.slot_bytes, lambda: m.u32(offset), lambda n: m.array[offset + 64 : offset + 64 + n], m
            )
        fd, _, slots, slot_bytes = self._open(path, reference)
        try:
            offset = HEADER_BYTES + (frame_id % slots) * (SLOT_HEADER_BYTES + slot_bytes)
            h = os.pread(fd, SLOT_HEADER_BYTES, offset)
            if len(h) < SLOT_HEADER_BYTES:
                raise FrameError("ERR_FRAME_CORRUPT", f"frame {frame_id} in {reference} is corrupt: the store was truncated")

            def seq_now() -> int:
                b = os.pread(fd, 4, offset)
                return int(struct.unpack("<I", b)[0]) if len(b) == 4 else -1

            def copy(n: int) -> NDArray[np.uint8]:
                data = os.pread(fd, n, offset + SLOT_HEADER_BYTES)
                if len(data) < n:
                    raise FrameError("ERR_FRAME_CORRUPT", f"frame {frame_id} in {reference} is corrupt: the store was truncated")
                return np.frombuffer(data, dtype=np.uint8)

            lease = self._checked(reference, frame_id, width, height, fmt, h, slot_bytes, seq_now, copy, None)
            lease.release()  # a copy: check 10 now, so the handler never sees a torn one
            return lease
        finally:
            os.close(fd)

    def _checked(
        self,
        reference: str,
        frame_id: int,
        width: int,
        height: int,
        fmt: FrameFormat,
        h: bytes,
        slot_bytes: int,
        seq_now: Callable[[], int],
        data_of: Callable[[int], NDArray[np.uint8]],
        mapping: _Mapping | None,
    ) -> Lease:
        seq, _, stored_id, w, hh, code, length, wall = struct.unpack_from("<IIQIIIId", h, 0)
        if seq & 1 or stored_id > frame_id:
            raise FrameError("ERR_FRAME_OVERWRITTEN", f"frame {frame_id} was overwritten by a newer frame")
        if stored_id != frame_id:
            raise FrameError("ERR_FRAME_NOT_FOUND", f"frame {frame_id} is not in {reference}")

        def settled(error: FrameError) -> FrameError:
            # Header fields read while a writer rewrote the slot may be torn: believe an error only if seq held.
            if seq_now() == seq:
                return error
            return FrameError("ERR_FRAME_OVERWRITTEN", f"frame {frame_id} was overwritten while it was read")

        stored_fmt = FORMATS[code - 1] if 1 <= code <= len(FORMATS) else None
        problem: str | None = None
        if stored_fmt is None:
            problem = f"format code {code} is not 1-{len(FORMATS)}"
        elif w < 1 or hh < 1:
            problem = f"size {w}x{hh}"
        elif length < 1 or length > slot_bytes:
            problem = f"byte_length {length} is not 1-{slot_bytes} (the slot size)"
        else:
            needed = frame_bytes(stored_fmt, w, hh)
            if needed is not None and needed != length:
                problem = f"byte_length {length}: {stored_fmt} {w}x{hh} needs {needed}"
        if problem is not None:
            raise settled(FrameError("ERR_FRAME_CORRUPT", f"frame {frame_id} in {reference} is corrupt: {problem}"))
        if (w, hh, stored_fmt) != (width, height, fmt):
            raise settled(
                FrameError("ERR_SCHEMA", f"frame_metadata says {width}x{height} {fmt}, the frame is {w}x{hh} {stored_fmt}", "frame_metadata")
            )
        try:
            data = data_of(length)
        except FrameError as error:
            raise settled(error) from None

        def check() -> FrameError | None:
            if mapping is not None and mapping.broken():
                return FrameError("ERR_FRAME_CORRUPT", f"frame {frame_id} in {reference}: the store was truncated or replaced while it was read")
            if seq_now() != seq:
                return FrameError("ERR_FRAME_OVERWRITTEN", f"frame {frame_id} was overwritten while it was read")
            return None

        assert stored_fmt is not None  # a problem otherwise
        return Lease(data, w, hh, stored_fmt, wall, frame_id, check)


__all__ = [
    "DEFAULT_SHM_DIR",
    "FORMATS",
    "HEADER_BYTES",
    "MAGIC",
    "SLOT_HEADER_BYTES",
    "VERSION",
    "FrameAccess",
    "FrameAccessChoice",
    "FrameError",
    "Lease",
    "Located",
    "SlotInfo",
    "StoreReader",
    "frame_bytes",
    "resolve_reference",
    "store_file_bytes",
]
