/**
 * What a camera's source string is, by one set of rules for the config's
 * checks and the capture: an rtsp(s):// or http(s):// URL, a file (a path or
 * a file:// URL), an ffmpeg filter graph (lavfi:<graph>) or a video device
 * (v4l2:/dev/videoN, or the bare device path). Problems never quote more of
 * the source than its scheme: the rest of a malformed URL may be its password.
 */
import { fileURLToPath } from 'node:url';

export type SourceKind = 'rtsp' | 'http' | 'file' | 'lavfi' | 'v4l2';

/** The forms a source may take, for messages. */
export const SOURCE_FORMS = 'rtsp://, rtsps://, http(s)://, file://, a file path, lavfi:<graph> or v4l2:/dev/videoN';

export type ClassifiedSource =
  | {
      readonly kind: SourceKind;
      /** What the decoder opens: the URL, the path (a file:// URL's too), the graph or the device. */ readonly input: string;
      /** Given as a file:// URL (already absolute). */ readonly fileUrl: boolean;
    }
  /** `scheme`: not a form a source takes; `malformed`: a URL that does not parse; `incomplete`: the form, with its part missing. */
  | { readonly problem: string; readonly why: 'scheme' | 'malformed' | 'incomplete' };

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function classifySource(source: string): ClassifiedSource {
  const scheme = URL_SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'rtsp' || scheme === 'rtsps') return { kind: 'rtsp', input: source, fileUrl: false };
    if (scheme === 'http' || scheme === 'https') return { kind: 'http', input: source, fileUrl: false };
    if (scheme === 'file') {
      try {
        return { kind: 'file', input: fileURLToPath(source), fileUrl: true };
      } catch {
        return { problem: 'is a malformed file:// URL', why: 'malformed' };
      }
    }
    return { problem: `has an unsupported scheme '${scheme}': use ${SOURCE_FORMS}`, why: 'scheme' };
  }
  if (source.startsWith('lavfi:')) {
    const graph = source.slice('lavfi:'.length);
    return graph.length > 0
      ? { kind: 'lavfi', input: graph, fileUrl: false }
      : { problem: 'lavfi: needs a filter graph, e.g. lavfi:testsrc2=size=640x480:rate=30', why: 'incomplete' };
  }
  if (source.startsWith('v4l2:')) {
    const device = source.slice('v4l2:'.length);
    return device.length > 0 ? { kind: 'v4l2', input: device, fileUrl: false } : { problem: 'v4l2: needs a device, e.g. v4l2:/dev/video0', why: 'incomplete' };
  }
  if (/^\/dev\/video\d+$/.test(source)) return { kind: 'v4l2', input: source, fileUrl: false };
  if (/^[a-z][a-z0-9+.-]*:(?!\\)/i.test(source)) {
    return { problem: `must be ${SOURCE_FORMS} (a file whose name has a colon: start it with ./)`, why: 'scheme' };
  }
  return { kind: 'file', input: source, fileUrl: false };
}
