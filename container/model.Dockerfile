# A Python model server's image (docs/deploy.md, "A model in its own container"): Debian 12's
# Python 3.11, NumPy and PyTorch, the framesupplier Python package from this repository, and the
# example PyTorch model. Build from the repository's root:
#   podman build -f container/model.Dockerfile -t framesupplier-model .
# Your own model: replace examples/models with your server script (framesupplier.cli.serve_with_flags),
# or your model module with ENTRYPOINT ["python3", "-m", "framesupplier.serve", "my_model:infer"].
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-numpy python3-torch python3-setuptools python3-pip python3-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
# The package and, beside it as in the repository, the SIGBUS guard's C source its extension compiles.
COPY python /tmp/framesupplier/python
COPY native/sigbus_guard.c native/sigbus_guard.h /tmp/framesupplier/native/
RUN python3 -m pip install --no-index --no-build-isolation --no-deps --break-system-packages /tmp/framesupplier/python \
 && rm -rf /tmp/framesupplier \
 && apt-get purge -y gcc libc6-dev python3-dev && apt-get autoremove -y
COPY examples/models /models
# The same uid as framesupplier's image: the frame stores (0600) and the socket (0600) are that user's.
RUN useradd --system --uid 10001 --user-group --no-create-home model
USER model
ENTRYPOINT ["python3", "/models/torch_server.py"]
