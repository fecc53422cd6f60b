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

    it(`${decoder}: a token in the query (?token=…) leaves capture masked too`, async () => {
      const url = `rtsp://127.0.0.1:${hangup.port}/stream?token=${TOKEN}&channel=1`;
      const { cap } = capture({ source: url, decoder });
      const seen = observe(cap);
      await until(cap, 'backoff');
      await until(cap, 'connecting');
      await until(cap, 'backoff');
      assert.equal(cap.stats().source, url.replace(TOKEN, '***'));
      await cap.close();
      const out = seen();
      assert.ok(!out.includes(TOKEN), `token in ${out}`);
    });

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
  });

  it('leaves a URL without a password, and the text after a URL, as they are, though an @ comes later on the line', () => {
    for (const line of [
      'camera rtsp://cam.local:554/stream failed; mail ops@example.com',
      'camera rtsp://cam.local failed; mail ops@example.com',
      'a rtsp://cam1:554/s and rtsp://cam2 down; ops@example.com',
      '{"url":"rtsp://cam.local:554","to":"ops@example.com"}',
      '{"url":"rtsp://cam.local","to":"ops@example.com"}',
      '{"level":50,"msg":"open rtsp://cam.local:554 failed: refused","mail":"ops@example.com"}',
      '{"msg":"open \\"rtsp://cam.local:554 x\\" for ops@example.com"}',
      '{"msg":"rtsp://cam.local:554\\tdown, \\"ops@example.com\\""}',
      "from 'rtsp://cam.local:554/s': refused; 'ops@example.com'",
      "from 'rtsp://cam.local' (refused), ops@example.com",
      '"rtsp://cam.local:554" refused; write to ops@example.com',
      '\'rtsp://[::1]:554\',"ops@example.com"',
      '(rtsp://cam.local) down, mail ops@example.com',
      '<rtsp://cam.local:554> down: mail ops@example.com',
    ]) {
      assert.equal(maskCredentials(line), line);
    }
    // A password there still goes, and only it.
    assert.equal(maskCredentials('rtsp://admin:pw@cam1:554 down "q"; ops@example.com'), 'rtsp://admin:***@cam1:554 down "q"; ops@example.com');
    assert.equal(
      maskCredentials('{"msg":"open rtsp://admin:bad secret8@cam:554 failed","mail":"ops@example.com"}'),
      '{"msg":"open rtsp://admin:***@cam:554 failed","mail":"ops@example.com"}',
    );
    assert.equal(
      maskCredentials("from 'rtsp://admin:bad secret8@cam:554/s': refused; 'ops@example.com'"),
      "from 'rtsp://admin:***@cam:554/s': refused; 'ops@example.com'",
    );
  });

  it('masks a password with a blank however it is written out, and a text that reads both ways (the safe reading)', () => {
    assert.equal(maskCredentials('{"msg":"rtsp://admin:pa\\tss@cam/s"}'), '{"msg":"rtsp://admin:***@cam/s"}');
    assert.equal(maskCredentials('{"msg":"rtsp://admin:pa\\tss x@cam/s"}'), '{"msg":"rtsp://admin:***@cam/s"}');
    assert.equal(maskCredentials('{"msg":"rtsp://admin:pa\\"ss x@cam/s"}'), '{"msg":"rtsp://admin:***@cam/s"}');
    assert.equal(maskCredentials('rtsp://admin:p@ss w@cam/s'), 'rtsp://admin:***@cam/s');
    assert.equal(maskCredentials('rtsp://admin:a"b c@cam/s'), 'rtsp://admin:***@cam/s');
    assert.equal(maskCredentials('rtsp://admin:12 34@cam/s'), 'rtsp://admin:***@cam/s');
    assert.equal(maskCredentials('rtsp://John Doe:pw@cam/s'), 'rtsp://***@cam/s');
    // User cam.local, password '554 down; mail ops'? Or a port and a message? The first, since it could be.
    assert.equal(maskCredentials('rtsp://cam.local:554 down; mail ops@example.com'), 'rtsp://cam.local:***@example.com');
    assert.equal(maskCredentials("'rtsp://cam.local:554': down; mail ops@example.com"), "'rtsp://cam.local:***@example.com");
    assert.equal(maskCredentials('(rtsp://admin:a b@cam) down: mail ops@example.com'), '(rtsp://admin:***@example.com');
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

  // Lines whose URL ends where nothing else can be read (a path, a JSON string, a quote no userinfo holds), then text
  // with an @: no URL without a password changes, and of one with a password only the password does (in a JSON string;
  // elsewhere a password with a blank may run on to a later @). Letters that spell no secret's name.
  const textChars = fc.constantFrom(...'bcfgxyz019@:.,;!\'"()<>[]\\ \t'.split(''));
  const host = fc.constantFrom('cam.local', '10.0.0.5', '[::1]', 'h');
  const port = fc.constantFrom('', ':554', ':8554');
  const path = fc.constantFrom('', '/stream1', '/a/b?c=d', '/s#f');
  const url = (scheme: string, userinfo: string, h: string, p: string, rest: string): string => `${scheme}://${userinfo}${h}${p}${rest}`;
  const jsonLine = fc.constantFrom(
    (u: string, t: string) => JSON.stringify({ url: u, note: t }),
    (u: string, t: string) => JSON.stringify({ level: 50, msg: `open ${u}`, err: t }),
    (u: string, t: string) => JSON.stringify({ msg: `open "${u}" ${t}` }),
  );
  // ' and ( end a URL as a password's characters could: only with a path after the host is the URL's end certain.
  const quotedLine = fc.constantFrom(
    (u: string, t: string) => `"${u}"${t}`,
    (u: string, t: string) => `<${u}> ${t}`,
    (u: string, t: string) => `[${u}] ${t}`,
    (u: string, t: string) => `from '${u}/live': ${t}`,
    (u: string, t: string) => `(${u}/live) ${t}`,
  );
  const line = fc.oneof(jsonLine, quotedLine);
  const mailed = fc.tuple(fc.string({ unit: textChars, maxLength: 12 }), fc.string({ unit: textChars, maxLength: 12 })).map(([a, b]) => `${a}@${b}`);

  it('a URL without a password, then text with an @: the line is left as it is', () => {
    fc.assert(
      fc.property(fc.constantFrom('rtsp', 'http'), host, port, path, line, mailed, (scheme, h, p, rest, format, text) => {
        const out = format(url(scheme, '', h, p, rest), text);
        assert.equal(maskCredentials(out), out);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.constantFrom('rtsp', 'http'), host, port, fc.constantFrom('/stream1', '/a/b?c=d', '/s#f'), mailed, (scheme, h, p, rest, text) => {
        const out = `open ${url(scheme, '', h, p, rest)} ${text}`;
        assert.equal(maskCredentials(out), out);
      }),
      { numRuns: 300 },
    );
  });

  it('a URL with a password, then text with an @: the password goes; in a JSON string, nothing else does', () => {
    const chars = fc.constantFrom(..."abcXYZ019@:!$&'()*+,;=%._~- \t".split(''));
    const password = fc.string({ unit: chars, minLength: 1, maxLength: 16 }).map((p) => `§${p}§`);
    fc.assert(
      fc.property(fc.constantFrom('rtsp', 'http'), host, port, path, line, mailed, password, (scheme, h, p, rest, format, text, marked) => {
        const masked = maskCredentials(format(url(scheme, `admin:${marked}@`, h, p, rest), text));
        for (const form of [marked, JSON.stringify(marked).slice(1, -1)]) assert.ok(!masked.includes(form), masked);
        assert.ok(masked.includes(`${scheme}://admin:***@${h}`), masked);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.constantFrom('rtsp', 'http'), host, port, path, mailed, password, (scheme, h, p, rest, text, marked) => {
        const masked = maskCredentials(`open ${url(scheme, `admin:${marked}@`, h, p, rest)} ${text}`);
        assert.ok(!masked.includes(marked), masked);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.constantFrom('rtsp', 'http'), host, port, path, jsonLine, mailed, password, (scheme, h, p, rest, format, text, marked) => {
        const masked = maskCredentials(format(url(scheme, `admin:${marked}@`, h, p, rest), text));
        assert.equal(masked, format(url(scheme, 'admin:***@', h, p, rest), text));
      }),
      { numRuns: 1000 },
    );
  });
});
