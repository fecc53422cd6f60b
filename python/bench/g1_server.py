"""A G1 model behind framesupplier's Python server: ``g1_server.py --g1-model standin|noop|resnet50|tiny [--device D]
[--per-frame] --socket S --shm-dir D [every flag of python -m framesupplier.serve]``. Batched (``--max-batch``,
default 64) unless ``--per-frame``: then ``infer(frame)``, today's one frame a call."""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("G1_SERVER_SRC") or os.path.join(HERE, "..", "src"))  # another checkout's package, to compare
sys.path.insert(0, HERE)

import framesupplier.cli  # noqa: E402
from g1_models import WIDTH, load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--g1-model", required=True, dest="model")  # not --model: serve_with_flags' --model-id
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--per-frame", action="store_true")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--switch-interval-ms", type=float)
    own, _ = parser.parse_known_args()
    if own.switch_interval_ms:
        sys.setswitchinterval(own.switch_interval_ms / 1000)
    batched = load(own.model, own.device, 1 if own.per_frame else own.max_batch)
    if own.per_frame:
        return framesupplier.cli.serve_with_flags(lambda frame: batched([frame])[0], model_id="g1", socket="/tmp/g1.sock", input_long_side=WIDTH)
    return framesupplier.cli.serve_with_flags(batched, model_id="g1", socket="/tmp/g1.sock", input_long_side=WIDTH, max_batch=own.max_batch)


if __name__ == "__main__":
    sys.exit(main())
