/**
 * A private room's policy as a pure rule: null iff nothing is private, the installer's choices over the defaults,
 * and the config's privacyOf reads a camera's section into the same answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRIVACY_DEFAULTS, privacySetting } from '../../src/care/index.js';
import { privacyOf } from '../../src/config/index.js';

const BED = {
  name: 'bed',
  polygon: [
    [0, 0.4],
    [0.45, 0.4],
    [0.45, 1],
    [0, 1],
  ] as const,
} as const;

describe('care: a private room’s policy', { timeout: 30_000 }, () => {
  it('is null when neither the whole picture nor a zone is private', () => {
    assert.equal(privacySetting({ privateZones: [] }), null);
    assert.equal(privacySetting({ whole: false, show: 'skeleton', privateZones: [] }), null);
  });

  it('fills what the installer left out with the defaults, and keeps what they chose', () => {
    assert.deepEqual(privacySetting({ whole: true, privateZones: [] }), {
      areas: 'whole',
      show: PRIVACY_DEFAULTS.show,
      labels: PRIVACY_DEFAULTS.labels,
      margin: PRIVACY_DEFAULTS.margin,
      withinMs: PRIVACY_DEFAULTS.withinMs,
    });
    const chosen = privacySetting({ show: 'area', labels: ['person', 'dog'], margin: 0.1, withinMs: 500, privateZones: [BED] });
    assert.deepEqual(chosen, { areas: [BED], show: 'area', labels: ['person', 'dog'], margin: 0.1, withinMs: 500 });
  });

  it('is what the config reads a camera’s section into', () => {
    const camera = {
      privacy: { show: 'skeleton' as const },
      zones: {
        bed: { polygon: BED.polygon.map((p) => [...p]), private: true },
        door: {
          polygon: [
            [0, 0],
            [0.1, 0],
            [0.1, 0.1],
          ],
        },
      },
    };
    assert.deepEqual(privacyOf(camera as never), privacySetting({ show: 'skeleton', privateZones: [{ name: 'bed', polygon: BED.polygon }] }));
  });
});
