/**
 * Frame limits: publish() takes exactly the widths and heights the
 * model-server protocol takes, from one constant, so no published frame is
 * refused by every model server later (a 20000 × 1 frame used to pass).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseRequest } from '../../src/ipc/index.js';
import { FrameSupplier, MAX_FRAME_DIMENSION } from '../../src/supplier/index.js';

const request = (width: number, height: number): unknown => ({
  frame_reference: '/dev/shm/framesupplier/cam.frames',
  frame_metadata: { frame_id: 1, width, height, format: 'JPEG' },
  camera_id: 'cam',
  model_id: 'mock',
  timestamp: 1,
});

const accepts = (fn: () => unknown): boolean => {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
};

describe('frame limits', { timeout: 60_000 }, () => {
  it('publish() refuses a 20000 × 1 frame with ERR_INVALID_FRAME naming the limit; 16384 is accepted', () => {
    const supplier = new FrameSupplier().start();
    assert.throws(() => supplier.publish({ payload: new Uint8Array(20_000), width: 20_000, height: 1, format: 'gray' }), {
      code: 'ERR_INVALID_FRAME',
      message: /20000x1 exceeds the largest width and height, 16384/,
    });
    assert.equal(supplier.stats().published, 0);
    supplier.publish({ payload: new Uint8Array(MAX_FRAME_DIMENSION), width: MAX_FRAME_DIMENSION, height: 1, format: 'gray' });
    assert.equal(supplier.stats().published, 1);
    void supplier.close();
  });

  it('the supplier and the model-server schema accept the same widths and heights', () => {
    const supplier = new FrameSupplier().start();
    const dimension = fc.oneof(
      fc.integer({ min: 1, max: 3 * MAX_FRAME_DIMENSION }),
      fc.constantFrom(MAX_FRAME_DIMENSION - 1, MAX_FRAME_DIMENSION, MAX_FRAME_DIMENSION + 1),
    );
    fc.assert(
      fc.property(dimension, dimension, (width, height) => {
        const published = accepts(() => supplier.publish({ payload: new Uint8Array(1), width, height, format: 'jpeg' }));
        assert.equal(
          published,
          accepts(() => parseRequest(request(width, height))),
          `${width}x${height}`,
        );
      }),
    );
    void supplier.close();
  });
});
