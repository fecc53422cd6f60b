#!/usr/bin/env python3
"""A stand-in for the stock v2 inference servers: Triton, KServe and MLServer.

None of the three can be installed on the test machine (no wheels, no
containers), so this answers as they do, written from the Open Inference
Protocol's documents and each server's documented behaviour, not from
framesupplier's code (see docs/kserve.md, "What was tested"):

  triton    REST with the binary tensor data extension; "model_version": "1";
            errors {"error": "..."}: 404 for an unknown model or version, 400
            for an input or output the model does not have; 503 when its
            queue is full. gRPC: raw_output_contents; NOT_FOUND,
            INVALID_ARGUMENT, UNAVAILABLE.
  kserve    kserve's Python ModelServer: binary data supported; answers carry
            "model_version": null, "parameters": null and each JSON output's
            "parameters": null (pydantic's None); 404 {"error": "Model with
            name X does not exist."}; 400 for unknown outputs. gRPC: typed
            contents.
  mlserver  no binary extension: a body that is not JSON is FastAPI's 422
            {"detail": [...]}; "model_version": null; parameters with
            "content_type" and "headers": null; 404 {"error": "Model X not
            found"}; requested outputs it does not have are left out. gRPC:
            typed contents.

Two models: `detector` (framesupplier's detections convention: UINT8 image
[1, H, W, 3] in, DETECTIONS FP32 [N, 6] and CLASS_NAMES BYTES [N] out; one
detection whose confidence is the frame's mean brightness / 255) and `yolo`
(FP32 images [1, 3, 64, 64] in, a YOLOv8 head output0 FP32 [1, 6, 4] out: one
box of class 1, score 0.9, at the centre).

Faults for the tests, set with POST /standin/faults {"drop": n} (the next n
inferences close the connection unanswered; over gRPC they are aborted
UNAVAILABLE) or {"status": 503, "count": n} (the next n answered busy; over
gRPC RESOURCE_EXHAUSTED). GET /standin/stats: inferences answered, by how.

Usage: v2_standin.py --flavour triton|kserve|mlserver [--grpc] ; prints one
JSON line {"http": port, "grpc": port|null} once listening on 127.0.0.1.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ELEMENT = {"BOOL": ("?", 1), "UINT8": ("B", 1), "INT8": ("b", 1), "UINT16": ("H", 2), "INT16": ("h", 2),
           "UINT32": ("I", 4), "INT32": ("i", 4), "UINT64": ("Q", 8), "INT64": ("q", 8), "FP32": ("f", 4),
           "FP64": ("d", 8)}

MODELS = {
    "detector": {
        "inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, -1, -1, 3]}],
        "outputs": [{"name": "DETECTIONS", "datatype": "FP32", "shape": [-1, 6]},
                    {"name": "CLASS_NAMES", "datatype": "BYTES", "shape": [-1]}],
    },
    # As detector, but for 4-channel frames: a 3-channel one is refused as Triton refuses a shape its config does not take.
    "detector4": {
        "inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, -1, -1, 4]}],
        "outputs": [{"name": "DETECTIONS", "datatype": "FP32", "shape": [-1, 6]},
                    {"name": "CLASS_NAMES", "datatype": "BYTES", "shape": [-1]}],
    },
    "yolo": {
        "inputs": [{"name": "images", "datatype": "FP32", "shape": [1, 3, 64, 64]}],
        "outputs": [{"name": "output0", "datatype": "FP32", "shape": [1, 6, 4]}],
    },
}


class Refused(Exception):
    """An error answer: kind is notfound, invalid or busy."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


# ------------------------------------------------------------------ tensors

def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def decode_raw(datatype, shape, raw):
    """Binary tensor data (little endian, row major; BYTES length-prefixed) into a flat list."""
    if datatype == "BYTES":
        out, o = [], 0
        while o < len(raw):
            (n,) = struct.unpack_from("<I", raw, o)
            out.append(bytes(raw[o + 4:o + 4 + n]))
            o += 4 + n
        return out
    fmt, size = ELEMENT[datatype]
    if len(raw) != count(shape) * size:
        raise Refused("invalid", f"unexpected size {len(raw)} for input with shape {shape}")
    return list(struct.unpack(f"<{count(shape)}{fmt}", raw))


def encode_raw(datatype, values):
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v)) + v for v in values)
    fmt, _ = ELEMENT[datatype]
    return struct.pack(f"<{len(values)}{fmt}", *values)


def flat(data):
    if isinstance(data, list):
        return [x for item in data for x in flat(item)]
    return [data]


# ------------------------------------------------------------------ models

def run_model(name, inputs):
    """inputs: {name: (datatype, shape, flat values)} -> [(name, datatype, shape, flat values)]."""
    spec = MODELS[name]
    for given in inputs:
        if given not in [i["name"] for i in spec["inputs"]]:
            raise Refused("invalid", f"unexpected inference input '{given}' for model '{name}'")
    want = spec["inputs"][0]["name"]
    if want not in inputs:
        raise Refused("invalid", f"expected 1 inputs but got {len(inputs)} inputs for model '{name}'")
    datatype, shape, values = inputs[want]
    if datatype != spec["inputs"][0]["datatype"]:
        raise Refused("invalid", f"inference input '{want}' data-type is '{datatype}', but model '{name}' expects "
                                 f"'{spec['inputs'][0]['datatype']}'")
    expected = spec["inputs"][0]["shape"]
    if len(shape) != len(expected) or any(e != -1 and e != d for e, d in zip(expected, shape)):
        raise Refused("invalid", f"unexpected shape for input '{want}' for model '{name}'. Expected {expected}, got {shape}")
    if name.startswith("detector"):
        mean = (sum(values) / len(values)) if values else 0.0
        return [("DETECTIONS", "FP32", [1, 6], [0.25, 0.25, 0.75, 0.75, round(mean / 255, 3), 0.0]),
                ("CLASS_NAMES", "BYTES", [1], [b"person"])]
    head = [0.0] * (6 * 4)
    for k, v in ((0, 32.0), (1, 32.0), (2, 16.0), (3, 16.0), (5, 0.9)):
        head[k * 4] = v
    return [("output0", "FP32", [1, 6, 4], head)]


class Standin:
    def __init__(self, flavour):
        self.flavour = flavour
        self.lock = threading.Lock()
        self.drop = 0
        self.busy = (0, 503)
        self.stats = {"answered": 0, "dropped": 0, "busy": 0, "refused": 0, "binary_requests": 0, "json_requests": 0}

    def fault(self):
        """The fault for this inference: 'drop', a busy status, or None."""
        with self.lock:
            if self.drop > 0:
                self.drop -= 1
                self.stats["dropped"] += 1
                return "drop"
            n, status = self.busy
            if n > 0:
                self.busy = (n - 1, status)
                self.stats["busy"] += 1
                return status
        return None

    def count(self, what):
        with self.lock:
            self.stats[what] += 1

    def model(self, name, version):
        if name not in MODELS or (version not in (None, "", "1")):
            if self.flavour == "triton":
                v = "" if version in (None, "") else f" version {version}"
                raise Refused("notfound", f"Request for unknown model: '{name}'{v} is not found")
            if self.flavour == "kserve":
                raise Refused("notfound", f"Model with name {name} does not exist.")
            raise Refused("notfound", f"Model {name} not found" if version in (None, "") else f"Model {name} with version {version} not found")
        return MODELS[name]

    def metadata(self, name, version):
        spec = self.model(name, version)
        if self.flavour == "triton":
            return {"name": name, "versions": ["1"], "platform": "python", "inputs": spec["inputs"], "outputs": spec["outputs"]}
        if self.flavour == "kserve":
            return {"name": name, "versions": None, "platform": "", "inputs": spec["inputs"], "outputs": spec["outputs"]}
        np = {"content_type": "np"}
        return {"name": name, "versions": [], "platform": "",
                "inputs": [dict(i, parameters=np) for i in spec["inputs"]],
                "outputs": [dict(o, parameters=np) for o in spec["outputs"]], "parameters": np}

    def select(self, name, produced, requested):
        """The outputs to answer: all, or those asked for (an unknown one refused, but MLServer leaves it out)."""
        if requested is None:
            return produced
        names = [o[0] for o in produced]
        for r in requested:
            if r not in names and self.flavour != "mlserver":
                raise Refused("invalid", f"unexpected inference output '{r}' for model '{name}'")
        return [o for o in produced if o[0] in requested]


# ------------------------------------------------------------------ REST

def make_handler(standin):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, status, value, extra=None):
            body = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def refuse(self, error):
            status = {"notfound": 404, "invalid": 400, "busy": 503}[error.kind]
            standin.count("refused")
            self.send_json(status, {"error": str(error)})

        def body(self):
            n = int(self.headers.get("content-length", "0"))
            return self.rfile.read(n) if n > 0 else b""

        def route(self):
            parts = self.path.split("?")[0].strip("/").split("/")
            if parts[:2] != ["v2", "models"] or len(parts) < 3:
                return None, None, None
            name, rest = parts[2], parts[3:]
            version = None
            if rest[:1] == ["versions"] and len(rest) >= 2:
                version, rest = rest[1], rest[2:]
            return name, version, (rest[0] if rest else "")

        def do_GET(self):
            self.body()
            path = self.path.split("?")[0]
            if path in ("/v2/health/live", "/v2/health/ready"):
                return self.send_json(200, {"live": True} if path.endswith("live") else {"ready": True})
            if path == "/v2":
                extensions = {"triton": ["classification", "sequence", "model_repository", "binary_tensor_data", "parameters",
                                         "statistics"], "kserve": ["model_repository_extension"], "mlserver": []}[standin.flavour]
                return self.send_json(200, {"name": standin.flavour, "version": "standin", "extensions": extensions})
            if path == "/standin/stats":
                with standin.lock:
                    return self.send_json(200, dict(standin.stats))
            name, version, action = self.route()
            try:
                if name is None or action not in ("", "ready"):
                    return self.send_json(404, {"error": "Not Found"} if standin.flavour != "mlserver" else {"detail": "Not Found"})
                if action == "ready":
                    standin.model(name, version)
                    return self.send_json(200, {"name": name, "ready": True})
                return self.send_json(200, standin.metadata(name, version))
            except Refused as error:
                return self.refuse(error)

        def do_POST(self):
            body = self.body()
            if self.path == "/standin/faults":
                spec = json.loads(body)
                with standin.lock:
                    standin.drop = int(spec.get("drop", 0))
                    standin.busy = (int(spec.get("count", 0)), int(spec.get("status", 503)))
                return self.send_json(200, {"ok": True})
            name, version, action = self.route()
            if name is None or action != "infer":
                return self.send_json(404, {"error": "Not Found"})
            fault = standin.fault()
            if fault == "drop":
                # A server dropping connections under load: no answer, the connection closed.
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            try:
                standin.model(name, version)
                if fault is not None:
                    raise Refused("busy", "Exceeds maximum queue size" if standin.flavour == "triton" else "The server is busy")
                header_length = self.headers.get("inference-header-content-length")
                if header_length is not None and standin.flavour == "mlserver":
                    header_length = None  # MLServer does not know the header: the whole body is its JSON.
                json_bytes = body if header_length is None else body[:int(header_length)]
                try:
                    request = json.loads(json_bytes)
                except ValueError as error:
                    if standin.flavour == "mlserver":
                        return self.send_json(422, {"detail": [{"type": "json_invalid", "loc": ["body", error.pos if hasattr(error, "pos") else 0],
                                                                "msg": "JSON decode error", "input": {}, "ctx": {"error": str(error).split(":")[0]}}]})
                    raise Refused("invalid", f"failed to parse the request JSON buffer: {error}")
                standin.count("binary_requests" if header_length is not None else "json_requests")
                binary = body[int(header_length):] if header_length is not None else b""
                offset, inputs = 0, {}
                for t in request.get("inputs") or []:
                    size = ((t.get("parameters") or {}).get("binary_data_size"))
                    if size is not None:
                        values = decode_raw(t["datatype"], t["shape"], binary[offset:offset + size])
                        offset += size
                    else:
                        values = flat(t.get("data"))
                        if t["datatype"] == "BYTES":
                            values = [v.encode() for v in values]
                    inputs[t["name"]] = (t["datatype"], t["shape"], values)
                requested = None if request.get("outputs") is None else [o["name"] for o in request["outputs"]]
                outputs = standin.select(name, run_model(name, inputs), requested)
            except Refused as error:
                return self.refuse(error)
            params = request.get("parameters") or {}
            binary_all = params.get("binary_data_output") is True and standin.flavour != "mlserver"
            asked = {o["name"]: (o.get("parameters") or {}).get("binary_data") for o in (request.get("outputs") or [])}
            tail, listed = [], []
            for out_name, datatype, shape, values in outputs:
                as_binary = standin.flavour != "mlserver" and (asked.get(out_name) if asked.get(out_name) is not None else binary_all)
                entry = {"name": out_name, "datatype": datatype, "shape": shape}
                if as_binary:
                    raw = encode_raw(datatype, values)
                    entry["parameters"] = {"binary_data_size": len(raw)}
                    tail.append(raw)
                else:
                    data = [v.decode() for v in values] if datatype == "BYTES" else values
                    if standin.flavour == "kserve":
                        entry["parameters"] = None
                    elif standin.flavour == "mlserver":
                        entry["parameters"] = {"content_type": "np"}
                    entry["data"] = data
                listed.append(entry)
            answer = {"model_name": name, "model_version": "1" if standin.flavour == "triton" else None, "outputs": listed}
            if request.get("id") is not None or standin.flavour != "triton":
                answer["id"] = request.get("id")
            if standin.flavour == "kserve":
                answer["parameters"] = None
            elif standin.flavour == "mlserver":
                answer["parameters"] = {"content_type": "np", "headers": None}
            standin.count("answered")
            header = json.dumps(answer).encode()
            if not tail:
                return self.send_json(200, answer)
            payload = header + b"".join(tail)
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("inference-header-content-length", str(len(header)))
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return None

    return Handler


# ------------------------------------------------------------------ gRPC

CONTENTS = {"BOOL": "bool_contents", "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
            "UINT64": "uint64_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
            "INT64": "int64_contents", "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents"}


def compile_proto(proto):
    """The v2 proto compiled with protoc and Debian's grpc_python_plugin into a temporary directory, imported."""
    out = tempfile.mkdtemp(prefix="v2-standin-")
    subprocess.run(["protoc", f"-I{os.path.dirname(proto)}", f"--python_out={out}", f"--grpc_out={out}",
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", os.path.basename(proto)], check=True)
    sys.path.insert(0, out)
    import grpc_predict_v2_pb2 as pb  # noqa: E402
    import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402
    return pb, pb_grpc


def serve_grpc(standin, proto):
    import grpc
    from concurrent import futures
    pb, pb_grpc = compile_proto(proto)
    status_of = {"notfound": grpc.StatusCode.NOT_FOUND, "invalid": grpc.StatusCode.INVALID_ARGUMENT, "busy": grpc.StatusCode.RESOURCE_EXHAUSTED}

    class Service(pb_grpc.GRPCInferenceServiceServicer):
        def ServerLive(self, request, context):
            return pb.ServerLiveResponse(live=True)

        def ServerReady(self, request, context):
            return pb.ServerReadyResponse(ready=True)

        def ModelReady(self, request, context):
            try:
                standin.model(request.name, request.version)
            except Refused as error:
                context.abort(status_of[error.kind], str(error))
            return pb.ModelReadyResponse(ready=True)

        def ServerMetadata(self, request, context):
            return pb.ServerMetadataResponse(name=standin.flavour, version="standin", extensions=[])

        def ModelMetadata(self, request, context):
            try:
                m = standin.metadata(request.name, request.version)
            except Refused as error:
                context.abort(status_of[error.kind], str(error))
            tensor = pb.ModelMetadataResponse.TensorMetadata
            return pb.ModelMetadataResponse(
                name=m["name"], versions=m["versions"] or [], platform=m["platform"],
                inputs=[tensor(name=t["name"], datatype=t["datatype"], shape=t["shape"]) for t in m["inputs"]],
                outputs=[tensor(name=t["name"], datatype=t["datatype"], shape=t["shape"]) for t in m["outputs"]])

        def ModelInfer(self, request, context):
            fault = standin.fault()
            if fault == "drop":
                context.abort(grpc.StatusCode.UNAVAILABLE, "Connection reset by peer")
            try:
                standin.model(request.model_name, request.model_version)
                if fault is not None:
                    raise Refused("busy", "Exceeds maximum queue size")
                inputs = {}
                raw = list(request.raw_input_contents)
                standin.count("binary_requests" if raw else "json_requests")
                for i, t in enumerate(request.inputs):
                    shape = list(t.shape)
                    if raw:
                        values = decode_raw(t.datatype, shape, raw[i])
                    else:
                        values = list(getattr(t.contents, CONTENTS[t.datatype]))
                    inputs[t.name] = (t.datatype, shape, values)
                requested = [o.name for o in request.outputs] or None
                outputs = standin.select(request.model_name, run_model(request.model_name, inputs), requested)
            except Refused as error:
                standin.count("refused")
                context.abort(status_of[error.kind], str(error))
            reply = pb.ModelInferResponse(model_name=request.model_name, model_version="1" if standin.flavour == "triton" else "",
                                          id=request.id)
            for out_name, datatype, shape, values in outputs:
                tensor = reply.outputs.add(name=out_name, datatype=datatype, shape=shape)
                if standin.flavour == "triton":
                    reply.raw_output_contents.append(encode_raw(datatype, values))
                else:
                    getattr(tensor.contents, CONTENTS[datatype]).extend(values)
            standin.count("answered")
            return reply

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavour", choices=["triton", "kserve", "mlserver"], required=True)
    parser.add_argument("--grpc", action="store_true")
    parser.add_argument("--proto", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src", "kserve",
                                                        "grpc_predict_v2.proto"))
    args = parser.parse_args()
    standin = Standin(args.flavour)
    http = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(standin))
    http.daemon_threads = True
    grpc_port = None
    if args.grpc:
        _server, grpc_port = serve_grpc(standin, os.path.normpath(args.proto))
    print(json.dumps({"http": http.server_address[1], "grpc": grpc_port}), flush=True)
    try:
        http.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
