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


class FrameStore:
    """Reads frames from a framesupplier frame store (docs/protocol.md) with its seqlock."""

    def __init__(self):
        self.path = None
        self.map = None

    def read(self, path, frame_id):
        if path != self.path or self.map is None or self.map.size() != os.path.getsize(path):
            if self.map is not None:
                self.map.close()
            with open(path, "rb") as f:
                self.map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self.path = path
        m = self.map
        magic, version, slots, slot_bytes, header_size, slot_header = struct.unpack_from("<6I", m, 0)
        if magic != 0x53465346 or version != 1:
            raise ValueError(f"{path} is not a frame store")
        offset = header_size + (frame_id % slots) * (slot_header + slot_bytes)
        seq_before = struct.unpack_from("<I", m, offset)[0]
        stored_id, width, height, fmt, length = struct.unpack_from("<QIIII", m, offset + 8)
        if seq_before % 2 == 1 or stored_id != frame_id:
            raise LookupError(f"frame {frame_id} was overwritten")
        data = m[offset + slot_header : offset + slot_header + length]  # a copy, checked below
        if struct.unpack_from("<I", m, offset)[0] != seq_before:
            raise LookupError(f"frame {frame_id} was overwritten while read")
        return data, STORE_FORMATS[fmt - 1]


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
            except LookupError as error:
                write_message(stdout, {"type": "result", "seq": frame["seq"], "output": {"error": str(error)}})
                continue
        else:
            data = frame["data"]
        plane = luma_plane(data, frame["width"], frame["height"], frame["format"])
        mean = sum(plane) / max(1, len(plane))
        write_message(stdout, {"type": "result", "seq": frame["seq"], "output": {"mean_brightness": round(mean, 3), "transport": transport}})


if __name__ == "__main__":
    sys.exit(main())
