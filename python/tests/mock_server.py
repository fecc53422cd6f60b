"""The Node server's mock handler (src/models/mock.ts) on the Python server, for the shared protocol suite
(test/models/protocol-cases.test.ts) and the benchmarks: the same stub detections from (camera_id, frame_id),
after really reading the frame (one byte of every 4 KiB page). Flags: --delay-ms N, --touch pages|none,
--fail-camera ID (its requests raise: ERR_HANDLER_FAILED), and every flag serve() takes."""

import argparse
import sys
import time

import framesupplier
import framesupplier.cli


def fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for unit in text.encode("utf-16-le").hex(" ", 2).split():
        h = ((h ^ int.from_bytes(bytes.fromhex(unit), "little")) * 0x01000193) & 0xFFFFFFFF
    return h


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--touch", choices=("pages", "none"), default="pages")
    parser.add_argument("--fail-camera")
    parser.add_argument("--input-size", type=int)
    own, _ = parser.parse_known_args()

    def infer(frame: framesupplier.Frame):
        if own.fail_camera is not None and frame.camera_id == own.fail_camera:
            raise RuntimeError("this camera's frames make the model fail")
        if own.delay_ms > 0:
            time.sleep(own.delay_ms / 1000)
        h = fnv1a(f"{frame.camera_id}/{frame.frame_id}")
        detections = []
        for i in range(1 + h % 3):
            x = ((h >> (i * 3)) % 60) / 100
            y = ((h >> (i * 5 + 1)) % 60) / 100
            detections.append({"class_id": 0, "class_name": "person", "confidence": 0.5 + ((h >> i) % 50) / 100, "bbox": [x, y, x + 0.2, y + 0.35]})
        checksum = 0
        if own.touch == "pages":
            for byte in frame.data[::4096]:
                checksum = (checksum + int(byte) + 2**31) % 2**32 - 2**31
        return {"detections": detections, "metadata": {"handler": "mock", "frame_bytes": int(frame.data.nbytes), "checksum": checksum}}

    return framesupplier.cli.serve_with_flags(infer, model_id="mock", socket="/tmp/mock.sock", input_long_side=own.input_size)


if __name__ == "__main__":
    sys.exit(main())
