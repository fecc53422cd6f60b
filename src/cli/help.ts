/**
 * The `framesupplier` command's help: the overview (`framesupplier --help`)
 * and one page per command (`framesupplier run --help`), each listing every
 * flag the command takes. Written for someone who installed the package and
 * has this text and docs/ only.
 */
import { fileURLToPath } from 'node:url';

/** The package's docs/ folder where it is installed (this file is dist/src/cli/help.js): a user cannot guess node_modules' place. */
const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));

export const OVERVIEW = `usage: framesupplier <command> [options]
       framesupplier <command> --help     every option of a command
       framesupplier --version

commands:
  run [config.yaml]     runs the cameras, models and workers of a config file;
                        without one, the built-in example
  demo                  one camera feeding workers of different speeds, with a live view
  model-server          serves a model over a Unix socket (and KServe v2 over HTTP and gRPC)
  shm write             writes one frame into a shared-memory frame store
  infer                 sends one request to a model server and prints the answer
  models check FILE     loads an ONNX model, says what it is, runs it on the sample clip
  config check FILE     validates a config file
  watchdog config.yaml  watches a running system from outside: raises the care cameras'
                        silence alarm (MQTT, a webhook) when it stops answering
  config schema         prints the config file's JSON Schema, for editors

Docs, in ${DOCS}: install.md, configuration.md (every config key), deploy.md
(container, systemd), running.md (the dashboard, HTTP API, MQTT, Prometheus).
`;

const RUN = `usage: framesupplier run [config.yaml] [options]

Runs the cameras, model servers and workers of a config file (docs/configuration.md).
Without one, the built-in example: OpenCV's vtest.avi clip as two cameras, a person
model shared by both, and the dashboard on http://127.0.0.1:8080/.
SIGINT (Ctrl-C) or SIGTERM ends it cleanly; a second one ends it at once.

options:
  --log-level LEVEL        trace, debug, info (default; or the config's logLevel), warn,
                           error, fatal, silent
  --log-format json|pretty one JSON object per line (level names, not numbers), or
                           readable lines; default: pretty on a terminal, else json
  --log-file PATH          append the log to PATH; default: stderr, except with the live
                           view on a terminal, where it goes to a file in the temp directory
  --view auto|tty|plain|none
                           the live view on stdout: tty redraws in place, plain prints a
                           block every interval, none prints nothing; default auto: tty on
                           a terminal, none otherwise (a service, a container, a pipe)
  --view-interval-ms N     how often the view is redrawn (default 500 on a terminal,
                           2000 in plain)
  --duration S             stop after S seconds (default 0: run until signalled)
  --http HOST:PORT|off     serve the HTTP API and dashboard there (overrides the config's
                           http: section; off: none)
  --save-config            write changes made through the HTTP API back to the config file
  --cluster URL[,URL…]     join a cluster over NATS (e.g. nats://10.0.0.5:4222); the
                           file's cameras become the cluster's, spread over its nodes
  --node-id ID             this node's id in the cluster (default: the config's, else the
                           id made at first start and kept in the state directory)
  --capacity N             how many cameras this node takes on (default 1)
  --heartbeat-file PATH|none
                           the file a thread rewrites every second while the event loop
                           runs, for \`framesupplier watchdog\` (default: heartbeat in the
                           state directory; none: no file)
  --help                   this text

Under systemd (Type=notify, WatchdogSec=; docs/deploy.md) it says READY=1 once
started and pings the watchdog only while its event loop runs: a blocked or stopped
process is restarted.

environment:
  FRAMESUPPLIER_STATE_DIR  where the HTTP token and this installation's id are kept
                           (default: $XDG_STATE_HOME/framesupplier, else
                           ~/.local/state/framesupplier)
  FRAMESUPPLIER_HTTP_TOKEN the HTTP API's token when the config sets none, at least
                           16 characters (else one made at first start, kept in the
                           state directory)
`;

const DEMO = `usage: framesupplier demo [options]

One camera feeding workers of very different speeds, with a live view of what each
gets: every worker takes the freshest frame it can use, none queues.

options:
  --source SOURCE   rtsp://, http(s)://, a file, lavfi:<graph>, v4l2:/dev/videoN, or
                    synthetic (no ffmpeg); default: OpenCV's vtest.avi when installed
                    (Debian's opencv-doc), looped, else ffmpeg's test pattern
  --fps N           frames per second (default 10 for the clip, else 30)
  --duration S      seconds to run (default 0: until Ctrl-C)
  --width W         frame width (default 640)
  --height H        frame height of the test pattern and of synthetic (default 360); the
                    clip and other sources keep their aspect ratio (the clip: 640x480)
  --help            this text
`;

const MODEL_SERVER = `usage: framesupplier model-server --handler mock|person|onnx
         (--socket PATH | --http HOST:PORT | --grpc HOST:PORT | several) [options]

Serves a model: over a Unix socket, frames passed by shared-memory reference
(docs/protocol.md), and over TCP with the KServe v2 protocol, REST (--http)
and gRPC (--grpc), for Triton's, KServe's and framesupplier's clients
(docs/kserve.md).
Prints one JSON line when it listens; SIGTERM or SIGINT ends it after the requests
in flight.

options:
  --handler NAME          mock (a test model), person (people and their poses), onnx
                          (a YOLO detector in ONNX format)
  --socket PATH           the Unix socket to listen on
  --http HOST:PORT        also answer KServe v2 REST requests on TCP (Triton's
                          port: 8000)
  --grpc HOST:PORT        also answer KServe v2 gRPC calls on TCP (Triton's port:
                          8001)
  --http-max-in-flight N  KServe inferences at once, per transport (default 4)
  --http-max-connections N
                          KServe connections held at once, per transport (default
                          256); over it the oldest that sent nothing is closed
  --http-max-connections-per-address N
                          the same from one client address (default 64)
  --http-token TOKEN      the Bearer token REST requests and gRPC calls must carry
                          (needed beyond loopback; better from the environment,
                          see below)
  --model-id ID           the id requests name (default: the handler's)
  --shm-dir DIR           where the frame stores are (default /dev/shm/framesupplier)
  --frame-access auto|copy
                          auto: read frames through a mapping of the store when the
                          native addon loads, else copies; copy: always copies
  --concurrency N         inferences at once (default: the handler's model threads)
  --help                  this text

limits (defaults in docs/protocol.md):
  --max-connections N  --max-message-bytes N  --max-queued-requests N
  --max-pending-response-bytes N  --write-stall-timeout-ms N
  --partial-message-timeout-ms N  --idle-timeout-ms N  --handler-timeout-ms N
  --close-linger-ms N  --shutdown-grace-ms N

mock handler:
  --delay-ms N            how long each inference takes (default 0)
  --mock-touch pages|none read one byte per page of the frame (default) or none
  --batch N               take batches of up to N waiting requests, each call
                          --delay-ms + n x --delay-per-frame-ms (an accelerator's stand-in)
person handler:
  --network movenet-multipose|centernet
                          the detector (default movenet-multipose: boxes and poses
                          in one pass)
  --threads N             model threads, each a copy of the model on one core
                          (default: the machine's cores, at most 4)
  --min-confidence X      0 to 1 (default 0.15 for movenet-multipose, 0.4 for centernet)
  --pose-max-people N     people posed per frame, the most confident first (default 5;
                          0: none)
  --input-size N          the network's input size (movenet-multipose; default 448)
  --precision fp32|int8   int8: the networks quantised, faster at a small measured
                          accuracy cost (default fp32)
onnx handler:
  --model FILE.onnx       the model file (required)
  --classes FILE          class names, one a line
  --layout auto|v5|v8|v11|e2e
                          the output layout (default auto: read from the model; e2e:
                          end-to-end exports, [1, N, 6])
  --input-size N          for a model without a fixed input size (default 640)
  --min-confidence X      0 to 1
  --iou X                 the overlap above which boxes merge, 0 to 1
  --threads N             model threads, each a session of its own (default 1)
  --batch N               run every waiting request, up to N, in one session run whenever
                          the model is free, never waiting for more (default 1; needs an
                          input with a free batch axis: an export with dynamic=True)
person and onnx handlers (ONNX Runtime):
  --intra-op-threads N    ONNX Runtime's threads in each model thread, 1 (default) or 2
  --execution-providers P[,P…]
                          cpu (default), cuda, tensorrt, webgpu, dml, coreml, in order of
                          preference; one that cannot start is an error, never a fallback

environment:
  FRAMESUPPLIER_KSERVE_TOKEN  the REST and gRPC token, kept out of the process list
`;

const SHM = `usage: framesupplier shm write --camera ID --input FILE --width W --height H
         --format F [--shm-dir DIR] [--slots N]

Writes one frame (raw pixels from FILE) into the camera's shared-memory frame store
and prints its reference as JSON, for \`framesupplier infer --ref-json\`.

options:
  --camera ID      the camera whose store it goes into
  --input FILE     the raw frame's bytes
  --width W        frame width
  --height H       frame height
  --format F       RGB24, BGR24, GRAY, NV12 or YUV420P
  --shm-dir DIR    where the stores are (default /dev/shm/framesupplier)
  --slots N        the store's slots when it is made (default 8)
  --help           this text
`;

const INFER = `usage: framesupplier infer --socket PATH --camera ID --model-id ID
         (--ref-json JSON | --frame-reference P --frame-id N --width W --height H --format F)
         [--timeout-ms N]

Sends one inference request to a model server and prints the response as JSON.

options:
  --socket PATH          the model server's socket
  --camera ID            the camera the frame is from
  --model-id ID          the model asked
  --ref-json JSON        the reference \`framesupplier shm write\` printed
  --frame-reference P    or the frame's store path …
  --frame-id N           … its frame id …
  --width W  --height H  … its size …
  --format F             … and pixel format (RGB24, BGR24, GRAY, NV12, YUV420P)
  --timeout-ms N         how long to wait for the answer (default 10000)
  --help                 this text
`;

const CONFIG = `usage: framesupplier config check FILE
       framesupplier config schema

  check FILE   validates a config file (docs/configuration.md): prints the resolved
               config, secrets masked, or every problem as path: message (line N),
               and exits 2; then looks for the files it names that run needs (a
               worker's module or program named by a path, an onnx model's files):
               each missing one is a line with run's code, and exits 2
  schema       prints the config file's JSON Schema, for editors
  --help       this text
`;

const MODELS = `usage: framesupplier models check FILE.onnx [options]

Loads a YOLO model as the onnx handler would (the same checks and errors),
prints its input, output, the layout read from it and its classes, then runs it
on frames of OpenCV's sample clip (Debian's opencv-doc) or --source, and prints
what it found and how fast: frames per CPU-second with one model thread (what a
core gives, even on a loaded machine), frames/s and the latency. Run it before
putting a model in the config.

options:
  --classes FILE           class names, one a line or JSON (default: COCO's for 80 classes)
  --layout auto|v5|v8|v11|e2e
                           the output layout (default auto: read from the output)
  --input-size N           for a model without a fixed input size (default 640)
  --min-confidence X       0 to 1 (default 0.25)
  --source FILE            the video to read frames from (default: the sample clip)
  --frames N               frames timed, one a second of the video (default 20)
  --help                   this text
`;

const WATCHDOG = `usage: framesupplier watchdog config.yaml [options]

Watches \`framesupplier run\` from outside its process (its own systemd unit, docs/care.md):
while run's event loop runs, a thread of it rewrites a heartbeat file every second; when
the file has not changed for the silence (run stopped, blocked, crashed, never started),
this raises the silence alarm of every care camera of the config, reason system-down, on
the config's MQTT broker (the same topics and Home Assistant sensor as run's own alarm)
and/or a webhook, and logs it (code ERR_SYSTEM_DOWN). It clears when the heartbeat moves.

options:
  --heartbeat-file PATH    the file run writes (default: heartbeat in the state directory,
                           as run's default; both must see the same FRAMESUPPLIER_STATE_DIR)
  --silence S              seconds without a heartbeat before the alarm (default: the
                           shortest care silence of the config, else 30)
  --webhook URL            POST each raise, change and clear there as JSON
                           ({ type: new|update|end, alarm })
  --log-level LEVEL        trace, debug, info (default; or the config's logLevel), warn,
                           error, fatal, silent
  --log-format json|pretty as run's
  --help                   this text
`;

const PAGES: Readonly<Record<string, string>> = {
  models: MODELS,
  run: RUN,
  demo: DEMO,
  'model-server': MODEL_SERVER,
  shm: SHM,
  infer: INFER,
  config: CONFIG,
  watchdog: WATCHDOG,
};

/** A command's help page, or the overview for anything else. */
export function helpFor(command: string | undefined): string {
  return (command === undefined ? undefined : PAGES[command]) ?? OVERVIEW;
}
