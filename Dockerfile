# syntax=docker/dockerfile:1
# Build stage: wheels for the service and every runtime dependency (compilers stay here).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the wheels installed offline, a non-root user, the store on a volume.
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DESCENT_HOST=0.0.0.0 \
    DESCENT_PORT=8000 \
    DESCENT_STORE_PATH=/data/descent.sqlite3 \
    NUMBA_CACHE_DIR=/home/descent/.numba-cache
RUN useradd --create-home --uid 10001 descent \
    && mkdir /data \
    && chown descent /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels descent==0.1.0 \
    && rm -rf /wheels
USER 10001
WORKDIR /home/descent
# The compiled step kernels and CSV writer go into Numba's cache now, so a process loads them instead of compiling.
RUN python -m service.engine.kernels --warm \
    && python -m service.csv_kernel --warm
VOLUME ["/data"]
EXPOSE 8000
# Slim images have no curl: Python asks /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['DESCENT_PORT']}/healthz\", timeout=2)"]
# Exec form: SIGTERM reaches the server itself, which closes streams and marks its runs before it exits.
CMD ["python", "-m", "service"]
