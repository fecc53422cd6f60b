/**
 * The v2 protocol's bodies against fixtures written from the published
 * specification (kserve/open-inference-protocol's REST document and the binary
 * tensor data extension, as Triton documents it): no Triton can be installed
 * here, so the spec's own examples are what the parser and encoder must agree
 * with. Round trips of random tensors are property-based.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DATATYPES,
  encodeInferRequest,
  encodeInferResponse,
  KServeError,
  numbers,
  parseInferRequest,
  parseInferResponse,
  parseModelMetadata,
  tensorFrame,
  frameTensor,
  detectionTensors,
  tensorsToDetections,
  type Tensor,
} from '../../src/kserve/index.js';
import { binaryToJson } from '../../src/kserve/protocol.js';
import { inferenceMethods, requestFromGrpc, requestToGrpc, toGrpcParameters, type GrpcInferRequest } from '../../src/kserve/grpc-proto.js';

const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof KServeError && e.code === c;

/** The binary extension's example request: two inputs as binary data, output0 asked for as binary. */
function specBinaryRequest(): { body: Buffer; headerLength: string } {
  const json = JSON.stringify({
    model_name: 'mymodel',
    inputs: [
      { name: 'input0', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
      { name: 'input1', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
    ],
    outputs: [{ name: 'output0', parameters: { binary_data: true } }, { name: 'output1' }],
  });
  const u32 = Buffer.alloc(16);
  [1, 2, 3, 4].forEach((v, i) => u32.writeUInt32LE(v, i * 4));
  return { body: Buffer.concat([Buffer.from(json), u32, Buffer.from([1, 0, 1])]), headerLength: String(Buffer.byteLength(json)) };
}

describe('KServe v2 protocol bodies', { timeout: 60_000 }, () => {
  it("parses the spec's JSON request (flat and nested data) and its binary-extension request", () => {
    const json = Buffer.from(
      JSON.stringify({
        id: '42',
        inputs: [
          { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
          { name: 'input1', shape: [3], datatype: 'BOOL', data: [true, false, true] },
          {
            name: 'nested',
            shape: [2, 2],
            datatype: 'FP32',
            data: [
              [1.5, 2],
              [3, 4],
            ],
          },
          { name: 'text', shape: [2], datatype: 'BYTES', data: ['ab', 'é'] },
        ],
        outputs: [{ name: 'output0' }],
      }),
    );
    const r = parseInferRequest(json, undefined);
    assert.equal(r.id, '42');
    assert.deepEqual([...numbers(r.inputs[0]!)], [1, 2, 3, 4]);
    assert.deepEqual(binaryToJson(r.inputs[1]!), [true, false, true]);
    assert.deepEqual([...numbers(r.inputs[2]!)], [1.5, 2, 3, 4]);
    assert.deepEqual(binaryToJson(r.inputs[3]!), ['ab', 'é']);
    assert.deepEqual(r.outputs, [{ name: 'output0', binary: false }]);

    const { body, headerLength } = specBinaryRequest();
    const b = parseInferRequest(body, headerLength);
    assert.deepEqual([...numbers(b.inputs[0]!)], [1, 2, 3, 4]);
    assert.deepEqual(binaryToJson(b.inputs[1]!), [true, false, true]);
    assert.deepEqual(b.outputs, [
      { name: 'output0', binary: true },
      { name: 'output1', binary: false },
    ]);
  });

  it("parses the spec's binary response: one output as binary data after the JSON, one as JSON", () => {
    const json = JSON.stringify({
      model_name: 'mymodel',
      outputs: [
        { name: 'output0', shape: [3, 2], datatype: 'FP32', parameters: { binary_data_size: 24 } },
        { name: 'output1', shape: [2, 2], datatype: 'UINT32', data: [0, 1, 2, 3] },
      ],
    });
    const fp = Buffer.from(new Float32Array([0.5, 1, 1.5, 2, 2.5, 3]).buffer);
    const r = parseInferResponse(Buffer.concat([Buffer.from(json), fp]), String(Buffer.byteLength(json)));
    assert.equal(r.model_name, 'mymodel');
    assert.deepEqual([...numbers(r.outputs[0]!)], [0.5, 1, 1.5, 2, 2.5, 3]);
    assert.deepEqual([...numbers(r.outputs[1]!)], [0, 1, 2, 3]);
  });

  it("parses the spec's model metadata (wildcard -1 dimensions)", () => {
    const m = parseModelMetadata({
      name: 'yolov8n',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, 640, 640] }],
      outputs: [{ name: 'output0', datatype: 'FP32', shape: [-1, 84, 8400] }],
    });
    assert.equal(m.inputs[0]!.shape[2], 640);
    assert.equal(m.outputs[0]!.shape[0], -1);
  });

  it('refuses, with a code, every body that does not fit: bad JSON, a bad header length, sizes that disagree, stray bytes', () => {
    const { body, headerLength } = specBinaryRequest();
    assert.throws(() => parseInferRequest(Buffer.from('{"inputs": ['), undefined), code('ERR_INVALID_JSON'));
    assert.throws(() => parseInferRequest(body, 'x'), code('ERR_SCHEMA'));
    assert.throws(() => parseInferRequest(body, String(body.byteLength + 1)), code('ERR_SCHEMA'));
    assert.throws(() => parseInferRequest(body.subarray(0, body.byteLength - 1), headerLength), code('ERR_KSERVE_TENSOR'));
    assert.throws(() => parseInferRequest(Buffer.concat([body, Buffer.from([0])]), headerLength), code('ERR_KSERVE_TENSOR'));
    const bad = (inputs: unknown): Buffer => Buffer.from(JSON.stringify({ inputs }));
    assert.throws(() => parseInferRequest(bad([{ name: 'a', shape: [2], datatype: 'FP32', data: [1] }]), undefined), code('ERR_KSERVE_TENSOR'));
    assert.throws(() => parseInferRequest(bad([{ name: 'a', shape: [1], datatype: 'UINT8', data: [256] }]), undefined), code('ERR_SCHEMA'));
    assert.throws(() => parseInferRequest(bad([{ name: 'a', shape: [1], datatype: 'INT3', data: [1] }]), undefined), code('ERR_SCHEMA'));
    assert.throws(() => parseInferRequest(bad([{ name: 'a', shape: [-1], datatype: 'UINT8', data: [] }]), undefined), code('ERR_SCHEMA'));
    assert.throws(() => parseInferRequest(bad('x'), undefined), code('ERR_SCHEMA'));
    assert.throws(() => parseInferRequest(Buffer.from('[]'), undefined), code('ERR_SCHEMA'));
  });

  it('a body cut at any byte is refused with a code, never accepted or thrown without one', () => {
    const { body, headerLength } = specBinaryRequest();
    for (let cut = 0; cut < body.byteLength; cut++) {
      assert.throws(
        () => parseInferRequest(body.subarray(0, cut), headerLength),
        (e: unknown) => e instanceof KServeError && /^ERR_/.test(e.code),
        `cut at ${cut}`,
      );
    }
  });

  it('round trip: any tensors, binary or JSON, come back as they went', () => {
    const numeric = DATATYPES.filter((d) => d !== 'BYTES' && d !== 'FP16' && d !== 'UINT64' && d !== 'INT64');
    const tensor = fc
      .record({
        name: fc.string({ minLength: 1, maxLength: 8 }),
        datatype: fc.constantFrom(...numeric),
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
      })
      .chain((t) => {
        const count = t.shape.reduce((a, b) => a * b, 1);
        const size = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, FP32: 4, FP64: 8 }[t.datatype as string] ?? 1;
        return fc.uint8Array({ minLength: count * size, maxLength: count * size }).map((data): Tensor => {
          // BOOL holds 0 or 1, floats finite: what JSON can carry.
          if (t.datatype === 'BOOL') data = data.map((b) => b & 1);
          if (t.datatype === 'FP32') data = new Uint8Array(Float32Array.from({ length: count }, (_, i) => data[i * 4]! - 100).buffer);
          if (t.datatype === 'FP64') data = new Uint8Array(Float64Array.from({ length: count }, (_, i) => data[i * 8]! / 7).buffer);
          return { ...t, data };
        });
      });
    fc.assert(
      fc.property(fc.array(tensor, { minLength: 1, maxLength: 4 }), fc.boolean(), (inputs, binary) => {
        const e = encodeInferRequest({ id: 'x', inputs }, { binaryInputs: binary });
        const back = parseInferRequest(e.body, e.headerLength === undefined ? undefined : String(e.headerLength));
        assert.equal(back.inputs.length, inputs.length);
        back.inputs.forEach((t, i) => {
          assert.equal(t.datatype, inputs[i]!.datatype);
          assert.deepEqual(t.shape, inputs[i]!.shape);
          assert.deepEqual(Buffer.from(t.data), Buffer.from(inputs[i]!.data));
        });
        const r = encodeInferResponse({ model_name: 'm', outputs: inputs }, () => binary);
        const rb = parseInferResponse(r.body, r.headerLength === undefined ? undefined : String(r.headerLength));
        rb.outputs.forEach((t, i) => assert.deepEqual(Buffer.from(t.data), Buffer.from(inputs[i]!.data)));
      }),
      { numRuns: 200 },
    );
  });

  it('frames and detections through the tensor convention and back', () => {
    const data = Buffer.alloc(4 * 2 * 3, 7);
    const t = frameTensor({ data, width: 4, height: 2, format: 'BGR24' });
    assert.deepEqual(t.shape, [1, 2, 4, 3]);
    assert.deepEqual(tensorFrame(t), { data, width: 4, height: 2, format: 'BGR24' });
    const nv12 = frameTensor({ data: Buffer.alloc(4 * 2 * 1.5), width: 4, height: 2, format: 'NV12' });
    assert.deepEqual(nv12.shape, [1, 3, 4]);
    assert.equal(tensorFrame(nv12).height, 2);
    assert.throws(() => tensorFrame({ ...t, datatype: 'FP32', data: Buffer.alloc(96) }), code('ERR_KSERVE_TENSOR'));
    assert.throws(() => tensorFrame({ ...t, shape: [1, 2, 4, 2], data: Buffer.alloc(16) }), code('ERR_KSERVE_TENSOR'));
    const detections = [
      {
        class_id: 0,
        class_name: 'person',
        confidence: 0.75,
        bbox: [0.125, 0.25, 0.5, 0.75] as [number, number, number, number],
        keypoints: [[0.25, 0.5, 0.5] as [number, number, number]],
      },
      { class_id: 2, class_name: 'car', confidence: 0.5, bbox: [0, 0, 1, 1] as [number, number, number, number] },
    ];
    assert.deepEqual(tensorsToDetections(detectionTensors(detections)), detections);
    assert.deepEqual(tensorsToDetections(detectionTensors([])), []);
    assert.throws(() => tensorsToDetections([]), code('ERR_KSERVE_RESPONSE'));
  });
});

describe('the gRPC wire form', { timeout: 60_000 }, () => {
  it('a request through protobuf and back is the same request: tensors as raw contents, parameters by kind (property)', async () => {
    const methods = await inferenceMethods();
    const infer = methods.ModelInfer!;
    const scalar = fc.oneof(
      fc.boolean(),
      fc.string({ maxLength: 12 }),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    );
    const tensor = fc
      .record({ name: fc.string({ minLength: 1, maxLength: 8 }), shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }) })
      .chain(({ name, shape }) =>
        fc
          .uint8Array({ minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) })
          .map((data): Tensor => ({ name, datatype: 'UINT8', shape, data })),
      );
    fc.assert(
      fc.property(
        fc.array(tensor, { minLength: 1, maxLength: 3 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), scalar, { maxKeys: 4 }),
        (inputs, parameters) => {
          const wire = infer.requestSerialize(requestToGrpc({ id: 'x', parameters, inputs }, 'm'));
          const back = requestFromGrpc(infer.requestDeserialize(wire) as GrpcInferRequest);
          assert.deepEqual(back.parameters ?? {}, { ...parameters });
          assert.equal(back.inputs.length, inputs.length);
          back.inputs.forEach((t, i) => {
            assert.deepEqual([t.name, t.datatype, t.shape], [inputs[i]!.name, 'UINT8', inputs[i]!.shape]);
            assert.deepEqual(Buffer.from(t.data), Buffer.from(inputs[i]!.data));
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('parameters of every kind survive toGrpcParameters and fromGrpcParameters', () => {
    const p = { b: true, s: 'cam', i: 7, big: 2 ** 40, f: 1700000000.25 };
    const wire = toGrpcParameters(p);
    assert.deepEqual(wire, {
      b: { bool_param: true },
      s: { string_param: 'cam' },
      i: { int64_param: 7 },
      big: { int64_param: 2 ** 40 },
      f: { double_param: 1700000000.25 },
    });
  });
});
