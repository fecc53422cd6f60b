#!/usr/bin/env python3
"""A stock gRPC client of the v2 protocol: Debian's python3-grpcio with the
proto compiled by protoc and grpc_python_plugin, calling a server as any
Python program would (tritonclient's gRPC client is built the same way).

Usage: grpc_client.py --target HOST:PORT --model NAME [--token TOKEN]
Prints one JSON object: what each call answered (or its status, details and
the framesupplier-code trailer).
"""
import argparse
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import grpc


def compile_proto(proto):
    out = tempfile.mkdtemp(prefix="v2-client-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(["protoc", f"-I{os.path.dirname(proto)}", f"--python_out={out}", f"--grpc_out={out}",
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", os.path.basename(proto)], check=True)
    sys.path.insert(0, out)
    import grpc_predict_v2_pb2 as pb  # noqa: E402
    import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402
    return pb, pb_grpc


def failure(error):
    trailer = dict(error.trailing_metadata() or ()).get("framesupplier-code")
    return {"status": error.code().name, "details": error.details(), "code": trailer}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--token")
    parser.add_argument("--proto", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src", "kserve",
                                                        "grpc_predict_v2.proto"))
    args = parser.parse_args()
    pb, pb_grpc = compile_proto(os.path.normpath(args.proto))
    stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(args.target))
    auth = [("authorization", f"Bearer {args.token}")] if args.token else []
    out = {}

    def call(name, method, request, metadata=auth, timeout=30):
        try:
            out[name] = method(request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as error:
            out[name] = failure(error)
        return out[name]

    live = call("live", stub.ServerLive, pb.ServerLiveRequest(), metadata=[])
    out["live"] = live if isinstance(live, dict) else {"live": live.live}
    if args.token:
        call("no_token", stub.ModelMetadata, pb.ModelMetadataRequest(name=args.model), metadata=[])
    meta = call("metadata", stub.ModelMetadata, pb.ModelMetadataRequest(name=args.model))
    if not isinstance(meta, dict):
        out["metadata"] = {"name": meta.name, "versions": list(meta.versions), "platform": meta.platform,
                           "inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in meta.inputs],
                           "outputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in meta.outputs]}

    def frame_request(typed, outputs=("DETECTIONS", "CLASS_NAMES"), input_name="image", model=None):
        request = pb.ModelInferRequest(model_name=model or args.model, id="py-1")
        request.parameters["camera_id"].string_param = "python"
        request.parameters["frame_id"].int64_param = 7
        tensor = request.inputs.add(name=input_name, datatype="UINT8", shape=[1, 48, 64, 3])
        pixels = bytes([50]) * (48 * 64 * 3)
        if typed:
            tensor.contents.uint_contents.extend(pixels)
        else:
            request.raw_input_contents.append(pixels)
        for name in outputs:
            request.outputs.add(name=name)
        return request

    def decode(reply):
        result = {"model_name": reply.model_name, "model_version": reply.model_version, "id": reply.id,
                  "parameters": {k: getattr(v, v.WhichOneof("parameter_choice")) for k, v in reply.parameters.items()}, "outputs": {}}
        for i, t in enumerate(reply.outputs):
            raw = reply.raw_output_contents[i]
            if t.datatype == "FP32":
                values = list(struct.unpack(f"<{len(raw) // 4}f", raw))
            else:
                values, o = [], 0
                while o < len(raw):
                    (n,) = struct.unpack_from("<I", raw, o)
                    values.append(raw[o + 4:o + 4 + n].decode())
                    o += 4 + n
            result["outputs"][t.name] = {"datatype": t.datatype, "shape": list(t.shape), "values": values}
        return result

    for name, typed in (("infer_raw", False), ("infer_typed", True)):
        reply = call(name, stub.ModelInfer, frame_request(typed))
        if not isinstance(reply, dict):
            out[name] = decode(reply)
    call("unknown_output", stub.ModelInfer, frame_request(False, outputs=("DETECTIONS", "KEYPOINTS")))
    call("unknown_input", stub.ModelInfer, frame_request(False, input_name="INPUT0"))
    call("unknown_model", stub.ModelInfer, frame_request(False, model="nope"))
    call("unknown_model_metadata", stub.ModelMetadata, pb.ModelMetadataRequest(name="nope"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
