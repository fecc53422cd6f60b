# framesupplier's container image: Debian 12 slim, Node 22 (the npm registry's node@22),
# ffmpeg, the native addons built from source in the build stage, a non-root user.
#   podman build -t framesupplier .        (or docker build; container/build.sh does it here)
#   podman run --shm-size 256m -p 8080:8080 -v fs-state:/var/lib/framesupplier framesupplier
# BASE: any Debian 12 image (container/build.sh makes one with mmdebstrap where no registry is reachable).
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nodejs npm ca-certificates build-essential python3 pkg-config \
      libavformat-dev libavcodec-dev libswscale-dev libavutil-dev \
 && rm -rf /var/lib/apt/lists/*
# CA certificates the build's downloads need beyond Debian's (a proxy that inspects TLS): container/ca/*.crt,
# which container/build.sh fills from this machine's /usr/local/share/ca-certificates. Build stage only.
COPY container/ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# Node 22 from the npm registry's node@22 package (Debian 12's own Node is 18).
RUN npm install -g --no-audit --no-fund node@22 \
 && hash -r && node -e "if (+process.versions.node.split('.')[0] < 22) process.exit(1)"
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# The checkout's dependencies, for TypeScript (no install scripts: nothing here runs them).
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json LICENSE NOTICE README.md ./
COPY src src
COPY native native
COPY scripts scripts
COPY docs docs
COPY examples examples
COPY prebuilds prebuilds
COPY models models
# Exactly what npm users get: the packed package, installed the README's way (CPU ONNX Runtime,
# nothing downloaded outside the npm registry), its addons built here from source. ONNX Runtime's
# npm package carries its macOS and Windows binaries too (220 MB): this image is Linux, they go.
RUN node node_modules/typescript/bin/tsc -p tsconfig.json && npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir /app && cd /app && echo '{"name":"framesupplier-image","private":true}' > package.json \
 && FRAMESUPPLIER_BUILD_FROM_SOURCE=1 npm install /tmp/framesupplier-*.tgz --omit=dev --onnxruntime-node-install=skip --no-audit --no-fund --foreground-scripts \
 && rm -rf /app/node_modules/framesupplier/native/build/Release/obj.target /root/.npm \
 && rm -rf /app/node_modules/onnxruntime-node/bin/napi-v6/darwin /app/node_modules/onnxruntime-node/bin/napi-v6/win32

FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg ca-certificates libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/framesupplier --create-home framesupplier
COPY --from=build /usr/local/lib/node_modules/node/bin/node /usr/local/bin/node
COPY --from=build /app /app
# The built-in example's clip (OpenCV's vtest.avi, BSD-licensed) when the build context has one: container/build.sh copies it in.
COPY container/sample/ /usr/share/doc/opencv-doc/examples/data/
# LD_PRELOAD=libjemalloc.so.2: Debian's jemalloc is every process's malloc (the system, its model servers, ffmpeg):
# glibc's arenas kept the memory decoders free at every reconnect and grew without end (ADR 0074, bench SOAK-CHURN).
# MALLOC_CONF=tcache:false: jemalloc without per-thread caches, about 1.5 MB less a camera (ADR 0101).
# MALLOC_ARENA_MAX=2: glibc's arenas bounded from the start should jemalloc not load (ADR 0034).
ENV FRAMESUPPLIER_STATE_DIR=/var/lib/framesupplier \
    NODE_ENV=production \
    LD_PRELOAD=libjemalloc.so.2 \
    MALLOC_CONF=tcache:false \
    MALLOC_ARENA_MAX=2
USER framesupplier
WORKDIR /var/lib/framesupplier
VOLUME /var/lib/framesupplier
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/node_modules/framesupplier/dist/src/cli/main.js"]
# The built-in example, or mount a config and run: run /config/framesupplier.yaml --http 0.0.0.0:8080
CMD ["run", "--http", "0.0.0.0:8080"]
