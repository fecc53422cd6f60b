/**
 * No camera password leaves capture: not in stats() (source, lastError,
 * stderrTail), not in 'state' events, not in thrown errors; with the ffmpeg
 * process (whose stderr repeats the URL) and the native decoder alike. Real
 * ffmpeg against a port that refuses, a server that hangs up, and the real
 * RTSP server fixture. Plus the masking itself, property-based.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { StreamCapture, type CaptureErrorRecord, type CaptureState } from '../../src/capture/index.js';
import { credentialRedactor, maskCredentials } from '../../src/internal/redact.js';
import { FrameSupplier } from '../../src/supplier/index.js';
import { capture, captures, frames, h264Clip, RtspServer, until } from './fixtures.js';

const PASSWORD = 's3cretPW';
const TOKEN = 'abc123tokXY';
const withCredentials = (url: string): string => url.replace('rtsp://', `rtsp://admin:${PASSWORD}@`);

after(async () => {
  await Promise.all(captures.map((c) => c.close()));
});

/** Everything a capture lets out, as text: its stats and every state event so far. */
function observe(cap: StreamCapture): () => string {
  const events: [CaptureState, CaptureErrorRecord | null][] = [];
  cap.on('state', (state, lastError) => events.push([state, lastError]));
  return () => JSON.stringify({ stats: cap.stats(), events });
}

/** A port where a TCP connection is refused: one that was just listened on and closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A server that accepts and hangs up at once (a camera rejecting us). */
async function hangingUp(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('capture: no password leaves it', { timeout: 120_000 }, () => {
  let rtsp: RtspServer;
  let hangup: { server: Server; port: number };
  before(async () => {
    rtsp = await new RtspServer(await h264Clip()).start();
    hangup = await hangingUp();
  });
  after(async () => {
    await rtsp.kill();
    await new Promise((resolve) => hangup.server.close(resolve));
  });

  for (const decoder of ['ffmpeg', 'native'] as const) {
    it(`${decoder}: a refused and a hung-up connection: lastError, stderrTail, events carry no password`, async () => {
      for (const url of [`rtsp://admin:${PASSWORD}@127.0.0.1:${await closedPort()}/stream`, `rtsp://admin:${PASSWORD}@127.0.0.1:${hangup.port}/stream`]) {
        const { cap } = capture({ source: url, decoder });
        const seen = observe(cap);
        await until(cap, 'backoff');
        await until(cap, 'connecting'); // a second attempt, so its errors are in too
        await until(cap, 'backoff');
        const stats = cap.stats();
        assert.equal(stats.lastError?.code, 'ERR_SOURCE_OPEN_FAILED');
        assert.equal(stats.source, url.replace(PASSWORD, '***'));
        if (decoder === 'ffmpeg') {
          // ffmpeg names the URL in its error: what is left of it is the masked form.
          assert.ok(
            stats.stderrTail.some((line) => line.includes('admin:***@127.0.0.1')),
            stats.stderrTail.join('\n'),
          );
        }
        await cap.close();
        const out = seen();
        assert.ok(!out.includes(PASSWORD), `password in ${out}`);
      }
    });

    // A token in the query (?token=…), and a value the config took from the environment where no URL rule masks it
    // (?sig=…, given to capture as a secret).
    for (const [what, parameter, value, secrets] of [
      ['a token in the query (?token=…)', 'token', TOKEN, []],
      ['a value the config took from the environment (?sig=…)', 'sig', 'env-signature-value', ['env-signature-value']],
    ] as const) {
      it(`${decoder}: ${what} leaves capture masked too`, async () => {
        const url = `rtsp://127.0.0.1:${hangup.port}/stream?${parameter}=${value}&channel=1`;
        const { cap } = capture({ source: url, decoder, secrets });
        const seen = observe(cap);
        await until(cap, 'backoff');
        await until(cap, 'connecting');
        await until(cap, 'backoff');
        assert.equal(cap.stats().source, url.replace(value, '***'));
        await cap.close();
        const out = seen();
        assert.ok(!out.includes(value), `${parameter} in ${out}`);
      });
    }

    it(`${decoder}: streaming from the real RTSP server and losing it: stats and events carry no password`, async () => {
      const url = withCredentials(rtsp.url);
      const supplier = new FrameSupplier({ streamId: `secrets-${decoder}-${process.pid}` }).start();
      const { cap, sub } = capture({ source: url, decoder, supplier, output: { width: 192, height: 144 }, stallTimeoutMs: 3_000 });
      const seen = observe(cap);
      await frames(sub, 2);
      if (decoder === 'ffmpeg') {
        // "Input #0, rtsp, from 'rtsp://admin:…@…'": the URL is in the tail while streaming.
        assert.ok(
          cap.stats().stderrTail.some((line) => line.includes('admin:***@')),
          cap.stats().stderrTail.join('\n'),
        );
      }
      assert.ok(!seen().includes(PASSWORD), `password while streaming: ${seen()}`);
      await rtsp.kill();
      await until(cap, 'backoff');
      assert.ok(cap.stats().lastError !== null);
      await cap.close();
      await rtsp.start();
      const out = seen();
      assert.ok(!out.includes(PASSWORD), `password in ${out}`);
    });
  }

  it('errors thrown at construction do not echo a password, nor carry it in a cause', () => {
    const supplier = new FrameSupplier().start();
    for (const source of [`file://admin:${PASSWORD}@host/clip.mp4`, `rtsp:admin:${PASSWORD}@cam/stream`, `rtmp://admin:${PASSWORD}@cam/live`]) {
      let thrown: unknown = null;
      try {
        new StreamCapture({ source, supplier });
      } catch (error) {
        thrown = error;
      }
      assert.equal((thrown as { code?: string } | null)?.code, 'ERR_UNSUPPORTED_SOURCE', source);
      const text = inspect(thrown, { depth: 10 });
      assert.ok(!text.includes(PASSWORD), `password in ${text}`);
    }
  });
});

describe('credential masking', { timeout: 60_000 }, () => {
  it('masks the password of every URL in a text, keeps the user, and masks a bare userinfo (a token) whole', () => {
    assert.equal(
      maskCredentials("Input #0, rtsp, from 'rtsp://admin:pw@10.0.0.1:554/s1': and http://u:p@h/x"),
      "Input #0, rtsp, from 'rtsp://admin:***@10.0.0.1:554/s1': and http://u:***@h/x",
    );
    assert.equal(maskCredentials('rtsp://admin:p@ss:w@cam/s'), 'rtsp://admin:***@cam/s');
    assert.equal(maskCredentials('https://ghp_TOKEN@host/repo'), 'https://***@host/repo');
    assert.equal(maskCredentials('rtsp://cam.local:554/s?user=a@b mailto:me@example.com'), 'rtsp://cam.local:554/s?user=a@b mailto:me@example.com');
    assert.equal(maskCredentials('rtsp://admin:pw@cam'), 'rtsp://admin:***@cam');
    // A password with a space is no URL's, but typed and passed on as typed: masked to the last @ before the path.
    assert.equal(maskCredentials('"source":"rtsp://admin:bad secret8@127.0.0.1:1/s"'), '"source":"rtsp://admin:***@127.0.0.1:1/s"');
    assert.equal(maskCredentials('mqtt://u:Mq Pass 66@broker:1883 refused'), 'mqtt://u:***@broker:1883 refused');
    assert.equal(maskCredentials('rtsp://cam.local:554/s is down, mail admin@example.com'), 'rtsp://cam.local:554/s is down, mail admin@example.com');
    // No `user:` before the blank: the @ is the text's, not a password's (the line was masked to it).
    for (const line of [
      'rtsp://cam.local failed; mail ops@example.com',
      'rtsp://cam1 and rtsp://cam2 down; ops@example.com',
      'rtsp://10.0.0.7 timed out (ask admin@example.com)',
    ])
      assert.equal(maskCredentials(line), line);
    // With one, the safe reading: a password with a blank may run to it.
    assert.equal(maskCredentials('rtsp://cam:554 down; mail ops@example.com'), 'rtsp://cam:***@example.com');
  });

  it('a redactor also removes the source secret where it appears outside a URL, raw or percent-decoded', () => {
    const redact = credentialRedactor('rtsp://admin:p%40ssw0rd@cam/s');
    assert.equal(redact('auth failed for admin with p@ssw0rd (p%40ssw0rd)'), 'auth failed for admin with *** (***)');
  });

  it('no password survives, whatever its characters and wherever the URL is in the text', () => {
    const chars = fc.constantFrom(..."abcXYZ019@:!$&'()*+,;=%._~- \t".split(''));
    fc.assert(
      fc.property(
        fc.constantFrom('rtsp', 'rtsps', 'http', 'https'),
        fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
        fc.string({ unit: chars, minLength: 1, maxLength: 16 }),
        fc.string({ maxLength: 20 }),
        fc.constantFrom('', ':554', ':8554/stream1', '/a/b?c=d', "': Connection refused", ' end'),
        (scheme, user, password, prefix, suffix) => {
          const marked = `§${password}§`; // unique, so its absence proves the masking
          const url = `${scheme}://${user}:${marked}@cam.local`;
          const text = `${prefix} ${url}${suffix}`;
          const masked = maskCredentials(text);
          assert.ok(!masked.includes(marked), masked);
          assert.ok(masked.includes(`${scheme}://${user}:***@cam.local`), masked);
          assert.ok(!credentialRedactor(url)(text).includes(marked));
        },
      ),
      { numRuns: 500 },
    );
  });
});
