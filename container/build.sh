#!/usr/bin/env bash
# Builds framesupplier's container image with podman and smoke-tests it: the built-in example
# runs, /readyz answers, people are found. Prints the build time, the image size and the
# example's RSS. Not part of the test suite (too heavy for CI); run by hand:
#   bash container/build.sh [TAG]          (default framesupplier:latest)
# Where no image registry is reachable, the Debian 12 base is made locally with mmdebstrap
# (from the machine's apt mirror) and imported, and the script says so.
# podman here runs containers with runc (Debian's crun refuses hybrid cgroups) and explicit
# ulimits; --network host because the machine's sandbox has no container networking.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-framesupplier:latest}
say() { printf 'container: %s\n' "$*" >&2; }
podman_() { podman --runtime runc "$@"; }
limits=(--ulimit nofile=1024:4096 --ulimit nproc=1024:4096)

base=docker.io/library/debian:bookworm-slim
if ! podman_ image exists "$base" && ! podman_ pull -q "$base" >/dev/null 2>&1; then
  base=localhost/debian:bookworm-slim-local
  if ! podman_ image exists "$base"; then
    say "no registry reachable: making the Debian 12 base with mmdebstrap from this machine's apt mirror"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      bookworm - http://deb.debian.org/debian | podman_ import - "$base" >/dev/null
  fi
  say "base: $base (made locally)"
fi

# The built-in example's clip, when this machine has it (Debian's opencv-doc).
clip=/usr/share/doc/opencv-doc/examples/data/vtest.avi
if [ -s "$clip" ]; then cp "$clip" container/sample/vtest.avi; else say "no $clip here: the image's example falls back to ffmpeg's test pattern (no people)"; fi

# This machine's own CAs (a TLS-inspecting proxy's), for the build stage's downloads.
rm -f container/ca/*.crt
for ca in /usr/local/share/ca-certificates/*.crt; do [ -e "$ca" ] && cp "$ca" container/ca/; done

start=$(date +%s)
podman_ build -q --format docker --network host "${limits[@]}" --build-arg "BASE=$base" -t "$tag" . >/dev/null
built=$(( $(date +%s) - start ))
size=$(podman_ image inspect "$tag" --format '{{.Size}}')
say "built $tag in ${built}s; image size $(( size / 1024 / 1024 )) MiB"

# Smoke test: the example on a free port, its /readyz, people in its results.
name=framesupplier-smoke-$$
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
state=$(mktemp -d)
chmod 0777 "$state"
cleanup() { podman_ rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
podman_ run -d --name "$name" --network host "${limits[@]}" --shm-size 256m -v "$state:/var/lib/framesupplier" \
  "$tag" run --http "127.0.0.1:$port" --view plain --view-interval-ms 2000 >/dev/null
ready=""
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 1
done
[ -n "$ready" ] || { podman_ logs "$name" | tail -30 >&2; say "FAIL: /readyz did not answer"; exit 1; }
say "/readyz: $(curl -fsS "http://127.0.0.1:$port/readyz")"
people=""
for _ in $(seq 1 60); do
  if podman_ logs "$name" 2>&1 | grep -q 'result street/people #[0-9]*: person'; then people=yes; break; fi
  sleep 1
done
[ -n "$people" ] || { podman_ logs "$name" | tail -30 >&2; say "FAIL: no person results"; exit 1; }
say "person results: $(podman_ logs "$name" 2>&1 | grep -m1 'result street/people')"
sleep 20
pid=$(podman_ inspect "$name" --format '{{.State.Pid}}')
# The container's processes (framesupplier, its model server, ffmpeg where used): the tree under its first process.
rss_kb=$(ps -e -o pid=,ppid=,rss= | awk -v root="$pid" '
  { parent[$1] = $2; rss[$1] = $3 }
  END { for (p in rss) { q = p; while (q != "" && q != root && q != 0 && q != 1) q = parent[q]; if (q == root) s += rss[p] } print s + 0 }')
say "example RSS (the process and its model server): $(( rss_kb / 1024 )) MiB"
echo "{\"build_s\":$built,\"image_mib\":$(( size / 1024 / 1024 )),\"rss_mib\":$(( rss_kb / 1024 ))}"
say "OK"
