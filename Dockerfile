# syntax=docker/dockerfile:1.7
#
# Kopichat images. Two final targets:
#   lambda  AWS Lambda container image (handler api.lambda_handler.handler), without the offline
#           model.  make build  ->  docker buildx build --platform linux/amd64 --target lambda .
#   server  uvicorn (python -m api) for docker compose; it includes the offline model by default
#           (build arg KOPICHAT_EXTRAS=local; pass KOPICHAT_EXTRAS= to leave it out).
#
# Base images are pinned by tag and digest. The Lambda base is Python 3.13 on Amazon Linux 2023
# (glibc 2.34): the 3.11 base is Amazon Linux 2 (glibc 2.26), where tiktoken >= 0.12 has no wheel
# (it ships manylinux_2_28 only) and whose support ends in 2026. AWS republishes the Lambda base
# weekly; to take security fixes, bump the dated tag and its digest together
# (`docker buildx imagetools inspect public.ecr.aws/lambda/python:<tag>` prints the digest), then
# run `make test`: tests/deploy/test_lambda_dependencies.py resolves the whole Lambda dependency
# set for this image's Python and glibc, so a lock bump without a wheel for it fails there.
# Dependencies come from requirements.lock (pip freeze format) used as a constraints file.
# The lock must not contain a line for kopichat itself.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
ARG LAMBDA_IMAGE=public.ecr.aws/lambda/python:3.13.2025.12.15.13@sha256:995c3cd4acfc0681c21cf04fe9754560e30a5d9c5b011b8c405ad1927ca4fdb6

# ---------------------------------------------------------------------------------------------
# Lambda: build stage. The same base image is used, so wheels match the runtime's glibc and
# Python ABI, and the bytecode matches its interpreter. No compiler is needed: without [local]
# (the offline model, never in this image), every dependency ships a manylinux wheel.
FROM ${LAMBDA_IMAGE} AS lambda-build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY agent ./agent
COPY api ./api
COPY infra/lambda/migrate_handler.py /asset/
# Install without bytecode, then precompile all of it: /var/task is read-only on Lambda, so
# without .pyc files every cold start compiles every module again (about twice the import time).
# unchecked-hash: the .pyc files stay valid whatever timestamps the files get in the image
# layers, and Python never re-reads a source to check them.
RUN pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: --no-compile \
        --target /asset -c requirements.lock ".[aws]" \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /asset
# The language model, restricted to Kopichat's languages and uncompressed, next to the code: a
# cold start then maps it instead of decompressing py3langid's (agent/understanding/langid_model.py).
# Run from /asset, where the packages were installed.
WORKDIR /asset
RUN python -m agent.understanding.langid_model

# Lambda: final stage. Lambda runs the function as an unprivileged sandbox user whatever the
# image says, and the base image's bootstrap expects its default user. So no USER here.
# The one-shot migration function (see infra/template.yaml) uses this image too, with the
# command override ["migrate_handler.handler"]. That handler runs `python -m agent.migrate`.
FROM ${LAMBDA_IMAGE} AS lambda
ENV PYTHONDONTWRITEBYTECODE=1 \
    KOPICHAT_TIMEOUT_S=25 \
    KOPICHAT_PROMPTS_DIR=/var/task/prompts
COPY --from=lambda-build /asset ${LAMBDA_TASK_ROOT}
COPY prompts ${LAMBDA_TASK_ROOT}/prompts
CMD ["api.lambda_handler.handler"]

# ---------------------------------------------------------------------------------------------
# Server: build stage. It holds the compiler that llama-cpp-python needs (built from source).
# None of it reaches the final stage: only the virtualenv is copied.
FROM ${PYTHON_IMAGE} AS server-build
ARG KOPICHAT_EXTRAS=local
# DL3008 (pin apt package versions) is ignored on purpose: the packages come from the Debian
# release that the pinned base image fixes. Exact Debian versions vanish from the mirror at each
# point release, which would break the build. This stage is thrown away.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY scripts/llama-cmake-args.sh ./scripts/
COPY agent ./agent
COPY api ./api
# llama.cpp for the same portable baseline as `make install` (the image runs on other CPUs),
# without OpenMP (libgomp is absent from the slim runtime image).
RUN if [ -n "${KOPICHAT_EXTRAS}" ]; then spec=".[${KOPICHAT_EXTRAS}]"; else spec="."; fi \
    && CMAKE_ARGS="$(bash scripts/llama-cmake-args.sh portable) -DGGML_OPENMP=OFF" \
       /opt/venv/bin/pip install -c requirements.lock "${spec}" \
    && /opt/venv/bin/python -I -m agent.understanding.langid_model \
    && find /opt/venv -depth -type d -name __pycache__ -exec rm -rf {} +

# Server: final stage. It has no compiler or headers, and runs as a non-root user.
FROM ${PYTHON_IMAGE} AS server
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:////app/data/kopichat.db \
    KOPICHAT_PROMPTS_DIR=/app/prompts
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home kopichat \
    && mkdir -p /app/data \
    && chown kopichat:kopichat /app/data
WORKDIR /app
COPY --from=server-build /opt/venv /opt/venv
COPY prompts ./prompts
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health\", timeout=2)"]
CMD ["python", "-m", "api"]
