/**
 * A fall worker in the config (ADR 0132): `falls: true` or its options, every default filled in; the worker
 * tracks with the tracker's fall defaults under its own options, and is criticality critical unless it says
 * so itself; what the schema cannot say refused at its path and line (another criticality, a skip tolerance
 * above 0, track: false, a bed that is no zone of the camera); the line `config check` prints for it; a
 * vlm worker may ask on `fall`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainFalls, fallsOptionsOf, parseConfig, trackOptionsOf } from '../../src/config/index.js';
import { issuesOf, printed, yaml } from './helpers.js';

const file = (...lines: string[]): string =>
  yaml(
    'models: { person: { handler: person } }',
    'cameras:',
    '  room:',
    '    source: rtsp://10.0.0.5/main',
    '    zones: { bed: { polygon: [[0, 0.6], [0.5, 0.6], [0.5, 1], [0, 1]] } }',
    ...lines.map((l) => `    ${l}`),
  );

describe('config: falls', { timeout: 30_000 }, () => {
  it('takes falls: true with every default, tracks with the fall defaults, and holds the worker to criticality critical', () => {
    const config = parseConfig(file('workers: [{ id: people, model: person, maxFps: 5, falls: true }]'));
    const worker = config.cameras.room!.workers[0]!;
    assert.equal(worker.criticality, 'critical');
    assert.deepEqual(fallsOptionsOf(worker), {
      fallSeconds: 2,
      drop: 0.45,
      confirmSeconds: 1,
      downSeconds: 60,
      upSeconds: 2,
      beds: [],
      repeatSeconds: 120,
      expirySeconds: 3600,
      escalate: [],
    });
    assert.deepEqual(trackOptionsOf(worker), { highScore: 0.15, matchLastSeen: true });
    assert.deepEqual(explainFalls(config), [
      'room/people: falls (upright to down within 2 s, a drop of 0.45 of their height, down 1 s) and people down (lying or sitting on the floor 60 s outside the beds); no beds marked (lying anywhere counts); raised again every 120 s until acknowledged; no escalation steps; standing alerts kept across a restart in the state directory; criticality critical',
    ]);
  });

  it('takes its options and a tracker of its own over the fall defaults; an explicit critical is kept', () => {
    const config = parseConfig(
      file(
        'workers: [{ id: people, model: person, criticality: critical, track: { highScore: 0.3, confirmHits: 2 }, falls: { beds: [bed], downSeconds: 30, repeatSeconds: 60 } }]',
      ),
    );
    const worker = config.cameras.room!.workers[0]!;
    assert.deepEqual(fallsOptionsOf(worker)?.beds, ['bed']);
    assert.equal(fallsOptionsOf(worker)?.downSeconds, 30);
    assert.deepEqual(trackOptionsOf(worker), { highScore: 0.3, matchLastSeen: true, confirmHits: 2 });
    assert.match(explainFalls(config)[0]!, /lying or sitting on the floor 30 s outside the beds\); beds: bed; raised again every 60 s/);
    assert.equal(fallsOptionsOf(parseConfig(file('workers: [{ id: people, model: person, falls: false }]')).cameras.room!.workers[0]!), null);
  });

  it('refuses another criticality, a skip tolerance, track: false and a bed that is no zone, at their paths and lines', () => {
    assert.deepEqual(
      printed(
        issuesOf(
          file(
            'workers:',
            '  - { id: people, model: person, criticality: high, objective: { maxSkipRatio: 0.1 }, track: false, falls: { beds: [bed, sofa] } }',
          ),
        ),
      ),
      [
        'cameras.room.workers[0].criticality: is high, and a fall worker is life-critical: criticality critical (its default with falls) (line 7)',
        'cameras.room.workers[0].objective.maxSkipRatio: is 0.1, and a fall worker misses no frame its model can take: 0 (its default with falls) (line 7)',
        "cameras.room.workers[0].track: is false, and falls reads the worker's tracked people: drop it (falls tracks) (line 7)",
        'cameras.room.workers[0].falls.beds[1]: names no zone of this camera (zones: "bed"): draw the bed or sofa as a zone, then name it here (line 7)',
      ],
    );
    // inherited from defaults.workers: said where the falls are, and where it came from
    assert.deepEqual(printed(issuesOf(yaml('defaults: { workers: { criticality: normal } }', file('workers: [{ id: people, model: person, falls: true }]')))), [
      'cameras.room.workers[0].falls: is normal (from defaults.workers), and a fall worker is life-critical: criticality critical (its default with falls) (line 7)',
    ]);
    assert.deepEqual(printed(issuesOf(file('workers: [{ id: people, model: person, falls: { drop: 2, fallSeconds: 0 } }]'))).length, 2);
    assert.deepEqual(printed(issuesOf(file('workers: [{ id: people, model: person, falls: yes }]'))), [
      'cameras.room.workers[0].falls: must be true, false or a map of fall options (line 6)',
    ]);
  });

  it("takes escalation steps (one target or a list), says them without a webhook's path or query, and refuses steps out of order and MQTT steps with no broker", () => {
    const config = parseConfig(
      yaml(
        'mqtt: { url: "mqtt://broker:1883" }',
        file(
          'workers:',
          '  - id: people',
          '    model: person',
          '    falls:',
          '      escalate:',
          '        - { after: 0, notify: { mqtt: care/nurses } }',
          '        - { after: 120, notify: [{ webhook: "https://hooks.example/services/T0/SECRET?token=abc" }, { webhook: "https://pager.example/x", name: night manager, timeoutMs: 2000 }] }',
        ),
      ),
    );
    const falls = fallsOptionsOf(config.cameras.room!.workers[0]!)!;
    assert.deepEqual(falls.escalate, [
      { after: 0, notify: [{ mqtt: 'care/nurses' }] },
      {
        after: 120,
        notify: [
          { webhook: 'https://hooks.example/services/T0/SECRET?token=abc' },
          { webhook: 'https://pager.example/x', name: 'night manager', timeoutMs: 2000 },
        ],
      },
    ]);
    const line = explainFalls(config)[0]!;
    assert.match(line, /escalation: after 0 s to mqtt:care\/nurses, then after 120 s to webhook:https:\/\/hooks\.example\/… and night manager;/);
    assert.ok(!line.includes('SECRET') && !line.includes('token'));
    assert.deepEqual(
      printed(
        issuesOf(
          file(
            'workers:',
            '  - { id: people, model: person, falls: { escalate: [{ after: 60, notify: { mqtt: "care/#" } }, { after: 1, notify: { sms: "+44" } }] } }',
          ),
        ),
      ).sort(),
      [
        'cameras.room.workers[0].falls.escalate[0].notify.mqtt: must be a topic to publish on: no + or # wildcards (line 7)',
        'cameras.room.workers[0].falls.escalate[1].notify: must be { mqtt: <topic> } or { webhook: <url> } (line 7)',
        'cameras.room.workers[0].falls.escalate[0].notify.mqtt: tells on MQTT, and the config has no mqtt section: add one (mqtt: { url }), or tell a webhook (line 7)',
        'cameras.room.workers[0].falls.escalate[1].after: is 1, not after the step before it (60): list the steps in the order they are told (line 7)',
      ].sort(),
    );
    assert.deepEqual(
      printed(
        issuesOf(
          file(
            'workers:',
            '  - { id: people, model: person, falls: { escalate: [{ after: 60, notify: { mqtt: care/a } }, { after: 60, notify: [{ webhook: "https://x.example/" }, { mqtt: care/b }] }] } }',
          ),
        ),
      ),
      [
        'cameras.room.workers[0].falls.escalate[0].notify.mqtt: tells on MQTT, and the config has no mqtt section: add one (mqtt: { url }), or tell a webhook (line 7)',
        'cameras.room.workers[0].falls.escalate[1].after: is 60, not after the step before it (60): list the steps in the order they are told (line 7)',
        'cameras.room.workers[0].falls.escalate[1].notify[1].mqtt: tells on MQTT, and the config has no mqtt section: add one (mqtt: { url }), or tell a webhook (line 7)',
      ],
    );
  });

  it("lets a vlm worker ask on a fall, and keeps a fall worker's tracker lowScore within its highScore default", () => {
    const config = parseConfig(
      file(
        'workers:',
        '  - { id: people, model: person, falls: true }',
        '  - { id: look, vlm: { api: openai, url: "http://gpu:8000/v1", model: llava, prompt: "Is the person on the floor?", triggers: { objects: { of: people, on: [fall] } } } }',
      ),
    );
    assert.deepEqual(
      config.cameras.room!.workers[1] && 'vlm' in config.cameras.room!.workers[1] ? config.cameras.room!.workers[1].vlm.triggers.objects?.on : null,
      ['fall'],
    );
    assert.deepEqual(printed(issuesOf(file('workers: [{ id: people, model: person, track: { lowScore: 0.2 }, falls: true }]'))), [
      'cameras.room.workers[0].track.lowScore: (0.2) must not exceed highScore (0.15, its default) (line 6)',
    ]);
  });
});
