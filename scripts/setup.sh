#!/usr/bin/env bash
# Installs what framesupplier needs and builds it. Idempotent and quiet when
# nothing changed; npm start / test / bench run it first.
#   (every mode: ffmpeg and libjemalloc2, the allocator npm start, the systemd unit and the image preload)
#   setup.sh run    ffmpeg, sample media (Debian's opencv-doc: vtest.avi), npm deps, build
#   setup.sh test   ffmpeg, the tests' clip (opencv-doc: vtest.avi), the RTSP test server (GStreamer + python3-gi),
#                   mosquitto, promtool (prometheus), nats-server, chromium, npm deps, build
#   setup.sh bench  ffmpeg, npm deps, build; SOAK-CHURN's RTSP server (GStreamer) and mosquitto
# Runs on a fresh Debian machine as root (or with sudo); needs Node.js and npm. framesupplier
# runs on Node 22 or newer: on a machine with an older Node, the npm scripts use Node 22 from
# the npm registry's node@22 package (a devDependency: node_modules/.bin/node, first on the
# PATH of every npm script).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

say() { printf 'setup: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
# The machine's own Node, before npm puts node@22 first on PATH (npm test, npm start run this script).
machine_node=$(node --version 2>/dev/null || echo none)
if [ "$node_major" -lt 18 ]; then
  say "Node.js and npm are needed to install (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

missing_packages() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
  done
}

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

apt_install() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    say "need root (or sudo) to install: ${missing[*]}"
    return 1
  fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# OpenCV's sample clip (vtest.avi), from Debian's opencv-doc. Installed is not
# enough: images that drop /usr/share/doc (a dpkg path-exclude, as in Docker's
# Debian) leave the package "installed" without the file, so check for it, and
# reinstall with that one directory let through if it is missing. Debian may
# also ship it gzipped (src/capture/sample-media.ts decompresses it then).
sample_clip=/usr/share/doc/opencv-doc/examples/data/vtest.avi
sample_clip_present() { [ -s "$sample_clip" ] || [ -s "$sample_clip.gz" ]; }
ensure_sample_clip() {
  apt_install opencv-doc || return 1
  sample_clip_present && return 0
  say "opencv-doc is installed but $sample_clip is missing (dpkg path-exclude?); reinstalling it with its examples included"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install --reinstall -y -qq --no-install-recommends \
    -o "DPkg::Options::=--path-include=/usr/share/doc/opencv-doc/examples/data/*" opencv-doc >&2 || return 1
  sample_clip_present
}

apt_install ffmpeg
# Debian's jemalloc, the malloc the system runs with (npm start, the systemd unit and the image preload it: ADR 0074):
# glibc's arenas keep what decoders free at each camera reconnect. The tests check its figures; SOAK-CHURN compares.
apt_install libjemalloc2 || say "could not install libjemalloc2; framesupplier will run on glibc's malloc (docs/deploy.md)"
# The in-process decoder (native/, decoder: 'native') builds against libav*'s headers.
native_packages=(libavformat-dev libavcodec-dev libswscale-dev libavutil-dev pkg-config)
case "$mode" in
  test | bench) apt_install "${native_packages[@]}" ;;
  run) apt_install "${native_packages[@]}" || say "could not install libav development packages; capture will use ffmpeg processes" ;;
esac
case "$mode" in
  run)
    # Sample media for the demo; without it the demo falls back to an ffmpeg test pattern.
    ensure_sample_clip || say "could not install opencv-doc's vtest.avi; the demo will use a test pattern"
    ;;
  test)
    # The tests' clip: capture and person-detection tests need it (never ../shared).
    if [ -z "${FRAMESUPPLIER_SAMPLE_MEDIA:-}" ] && ! ensure_sample_clip; then
      say "the tests need $sample_clip (Debian's opencv-doc); install it or set FRAMESUPPLIER_SAMPLE_MEDIA to a copy"
      exit 1
    fi
    # python3-gi + GStreamer: the capture tests' RTSP server; python3-msgpack: the example Python worker.
    apt_install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
      gstreamer1.0-plugins-good gstreamer1.0-plugins-bad python3-msgpack
    # The real peers the tests start on loopback: an MQTT broker (and its clients), Prometheus'
    # promtool, a NATS server, and a browser for the dashboard (driven by playwright-core).
    apt_install mosquitto mosquitto-clients prometheus nats-server chromium
    # The KServe v2 tests' other side: no Triton, KServe or MLServer installs here (no wheels, no containers), so a
    # Python stand-in answers as they do (test/kserve/standin/), over REST and over gRPC with Debian's grpcio and the
    # v2 proto compiled by protoc and its gRPC Python plugin; the same stock grpcio calls framesupplier's gRPC server.
    apt_install python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc
    # The Python package (python/): its pytest tests, its types (mypy --strict), the PyTorch example model, pip
    # install without an index.
    apt_install python3-numpy python3-pytest python3-torch python3-setuptools mypy
    ;;
  bench)
    # SOAK-CHURN's other sides: a real RTSP server it kills and restarts (GStreamer, test/capture/rtsp_server.py)
    # and a broker it stops and starts (mosquitto).
    apt_install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
      gstreamer1.0-plugins-bad mosquitto
    ;;
  *) say "unknown mode $mode (run, test, bench)"; exit 2 ;;
esac
# The careful Python + OpenCV loop P1, P2, P3 and D1 run beside framesupplier (bench/pipeline/plain_loop.py, with
# /usr/bin/python3), and the test that checks it (test/bench/plain-loop.test.ts). The decode floor beside it
# (bench/floor/decode_floor.c) is built at the end of this script (bench mode), with cc and the libav* headers installed above.
case "$mode" in
  test | bench) apt_install python3-opencv python3-numpy ;;
esac

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  # onnxruntime-node's install script would fetch CUDA extras from outside the npm
  # registry; its CPU binaries ship in the package, which is all we use.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2
fi
# The Node the project runs on: the machine's when it is 22 or newer, else node@22's.
run_major=$(PATH="$PWD/node_modules/.bin:$PATH" node -p 'process.versions.node.split(".")[0]')
if [ "$run_major" -lt 22 ]; then
  say "Node.js 22 or newer is required, and node_modules/.bin/node is $(PATH="$PWD/node_modules/.bin:$PATH" node --version)"
  exit 1
fi
if [ "$node_major" -lt 22 ] && [ ! -f node_modules/.node-22-noted ]; then
  say "this machine has Node ${machine_node}; npm start, npm test and npm run bench use Node $(node_modules/.bin/node --version) from the npm registry's node@22 package"
  touch node_modules/.node-22-noted
fi

# The native decoder: rebuilt when its source (native/*.c, *.h: the decoder's core and glue, the mapper; native/test/
# holds the core's test program, no addon's source) is newer than the module. Node's headers come
# from Debian's nodejs (/usr/include/node) when present, else node-gyp fetches them.
# Two modules: the decoder (libav*) and the store mapper model servers read frames through.
addons=(native/build/Release/framesupplier_decoder.node native/build/Release/framesupplier_shm.node)
native_stale() {
  local addon f
  for addon in "${addons[@]}"; do
    [ ! -f "$addon" ] && return 0
    for f in native/*.c native/*.h native/binding.gyp; do
      [ -e "$f" ] && [ "$f" -nt "$addon" ] && return 0
    done
  done
  return 1
}
if native_stale; then
  say "building the native decoder (node-gyp)"
  nodedir=()
  [ -f /usr/include/node/node_api.h ] && nodedir=(--nodedir=/usr)
  if ! npm run --silent build:native -- "${nodedir[@]}" >&2; then
    if [ "$mode" = run ]; then say "the native decoder did not build; capture will use ffmpeg processes"; else exit 1; fi
  fi
fi

say "building (tsc)"
npx --no-install tsc -p tsconfig.json >&2
# The decode floor P1 and P2 print (bench/floor/decode_floor.c: libavcodec alone, in process), built now so a
# missing compiler or header is said before the benchmarks run, not in their JSON lines.
if [ "$mode" = bench ]; then
  node -e "import('./dist/bench/pipeline/plain-loop.js').then((m) => m.decodeFloorBinary())" >&2 ||
    say "the decode floor did not build (cc and the libav* headers); P1 and P2 will print it without figures"
fi
