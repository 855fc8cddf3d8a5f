# syntax=docker/dockerfile:1
# dondoc: one image for the web service, the scheduler and migrations (docs/deploy.md).
#
#   docker build -t dondoc .
#   docker run dondoc                   # dondoc serve --host 0.0.0.0   (port 8000)
#   docker run dondoc scheduler         # reminders, escalations, e-mail
#   docker run dondoc db upgrade        # migrations, then exit
#
# tests/deploy/test_image.py reads this file and runs every command it names outside Docker.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: dondoc and every dependency as wheels ----------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# pyproject.toml names README.md as the package's readme: the build needs it.
COPY pyproject.toml README.md ./
COPY service ./service
COPY notifications ./notifications
COPY migrations ./migrations
RUN pip wheel --wheel-dir /wheels .

# --- runtime: the wheels installed, no compiler, no sources, not root ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DONDOC_DATA_DIR=/var/lib/dondoc
RUN groupadd --system --gid 10001 dondoc \
    && useradd --system --uid 10001 --gid dondoc --home-dir /var/lib/dondoc \
        --shell /usr/sbin/nologin dondoc \
    && install --directory --owner=dondoc --group=dondoc --mode=0750 /var/lib/dondoc
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels dondoc
USER dondoc:dondoc
# Uploaded plans and evidence files (and the SQLite file, if no DONDOC_DATABASE_URL is set).
WORKDIR /var/lib/dondoc
VOLUME ["/var/lib/dondoc"]
EXPOSE 8000
# Liveness of the web service; slim images have no curl, so Python asks. Containers running the
# scheduler or migrations from this image turn it off (see compose.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["dondoc"]
CMD ["serve", "--host", "0.0.0.0"]
