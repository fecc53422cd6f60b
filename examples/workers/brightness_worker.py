#!/usr/bin/python3
"""A framesupplier subprocess worker in Python: the mean brightness of each frame.

Protocol (docs/worker-protocol.md): on stdin and stdout, messages are a 4-byte
big-endian length then a MessagePack map. The supervisor sends a hello with
the transports it offers; we answer with the one we take, then answer every
frame with one result carrying its seq. The supervisor sends the next frame
only after our answer, so we always work on the freshest frame there is.

Needs only Debian's python3-msgpack. Set FRAMESUPPLIER_TRANSPORT=pipe to ask
for pixels in the message instead of a shared-memory reference.
"""
import mmap
import os
import struct
import sys

import msgpack

PROTOCOL = 1
STORE_FORMATS = ["NV12", "YUV420P", "RGB24", "BGR24", "RGBA", "BGRA", "GRAY", "JPEG", "PNG"]


def read_message(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None  # end of stream: the supervisor closed our stdin
    (length,) = struct.unpack(">I", header)
    body = stream.read(length)
    if len(body) < length:
        return None
    return msgpack.unpackb(body, raw=False)


def write_message(stream, message):
    body = msgpack.packb(message, use_bin_type=True)
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def frame_bytes(fmt, width, height):
    """What a frame of this format needs (docs/protocol.md), or None for compressed ones (JPEG, PNG)."""
    per_pixel = {"RGB24": 3, "BGR24": 3, "RGBA": 4, "BGRA": 4, "GRAY": 1}
    if fmt in per_pixel:
        return width * height * per_pixel[fmt]
    if fmt in ("NV12", "YUV420P"):
        return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    return None


class FrameStore:
    """Reads frames from a framesupplier frame store with its seqlock, making the
    checks of docs/protocol.md ("Reading a frame") so a bad slot is an error,
    never a read past the file (SIGBUS) or a torn frame."""

    def __init__(self):
        self.path = None
        self.map = None
        self.inode = None

    def _map(self, path):
        st = os.stat(path)
        # A store replaced by a new file (resized, or its writer restarted) is mapped again.
        if path == self.path and self.map is not None and self.inode == (st.st_dev, st.st_ino) and self.map.size() == st.st_size:
            return self.map
        if self.map is not None:
            self.map.close()
            self.map = None
        with open(path, "rb") as f:
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if m.size() < 64:
            m.close()
            raise LookupError(f"{path} is not a frame store")
        magic, version, slots, slot_bytes, header_size, slot_header = struct.unpack_from("<6I", m, 0)
        if magic != 0x53465346 or version != 1 or header_size != 64 or slot_header != 64 or slots < 1 or slot_bytes < 1 \
                or m.size() != 64 + slots * (64 + slot_bytes):
            m.close()
            raise LookupError(f"{path} is not a frame store")
        self.path, self.map, self.inode = path, m, (st.st_dev, st.st_ino)
        return m

    def read(self, path, frame_id):
        if frame_id < 1:
            raise LookupError(f"frame {frame_id} is not in the store (frame ids start at 1)")
        m = self._map(path)
        _, _, slots, slot_bytes, header_size, slot_header = struct.unpack_from("<6I", m, 0)
        offset = header_size + (frame_id % slots) * (slot_header + slot_bytes)
        seq_before = struct.unpack_from("<I", m, offset)[0]
        stored_id, width, height, fmt, length = struct.unpack_from("<QIIII", m, offset + 8)
        if seq_before % 2 == 1 or stored_id > frame_id:
            raise LookupError(f"frame {frame_id} was overwritten")
        if stored_id != frame_id:
            raise LookupError(f"frame {frame_id} is not in the store")
        if not (1 <= fmt <= len(STORE_FORMATS)) or width < 1 or height < 1 or not (1 <= length <= slot_bytes):
            raise ValueError(f"frame {frame_id}'s slot does not describe a frame it can hold")
        name = STORE_FORMATS[fmt - 1]
        needed = frame_bytes(name, width, height)
        if needed is not None and needed != length:
            raise ValueError(f"frame {frame_id} has {length} bytes; {name} {width}x{height} needs {needed}")
        data = m[offset + slot_header : offset + slot_header + length]  # a copy, checked below
        if struct.unpack_from("<I", m, offset)[0] != seq_before:
            raise LookupError(f"frame {frame_id} was overwritten while read")
        return data, name


def luma_plane(data, width, height, fmt):
    """The bytes to average: the Y plane of 4:2:0 formats, else every byte."""
    if fmt.lower() in ("nv12", "yuv420p", "gray"):
        return data[: width * height]
    return data


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    hello = read_message(stdin)
    if hello is None or hello.get("type") != "hello":
        print("expected a hello first", file=sys.stderr)
        return 2
    offered = hello.get("transports", [])
    wanted = os.environ.get("FRAMESUPPLIER_TRANSPORT", "shm")
    transport = wanted if wanted in offered else offered[0]
    write_message(stdout, {"type": "hello", "protocol": PROTOCOL, "transport": transport})
    print(f"brightness worker {hello.get('worker_id')} ready, transport {transport}", file=sys.stderr, flush=True)
    store = FrameStore()
    while True:
        frame = read_message(stdin)
        if frame is None:
            return 0
        if transport == "shm":
            try:
                data, _ = store.read(frame["frame_reference"], frame["frame_id"])
            except (LookupError, ValueError) as error:
                write_message(stdout, {"type": "result", "seq": frame["seq"], "output": {"error": str(error)}})
                continue
        else:
            data = frame["data"]
        plane = luma_plane(data, frame["width"], frame["height"], frame["format"])
        mean = sum(plane) / max(1, len(plane))
        write_message(stdout, {"type": "result", "seq": frame["seq"], "output": {"mean_brightness": round(mean, 3), "transport": transport}})


if __name__ == "__main__":
    sys.exit(main())
