# The perago example worker (and the compose stack's one-shot setup service).
# Build: docker build -t perago-example .   Run: docker compose up (see README "The docker-compose stack").
FROM minio/mc:RELEASE.2024-10-08T09-37-38Z AS mc

FROM python:3.11.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# mc creates the MinIO bucket in the setup service.
COPY --from=mc /usr/bin/mc /usr/local/bin/mc
WORKDIR /app
COPY pyproject.toml README.md ./
COPY perago ./perago
RUN pip install .
COPY examples ./examples
RUN useradd --create-home --uid 10001 perago && mkdir -p /var/lib/perago && chown perago /var/lib/perago
USER perago
ENV PERAGO_WORKSPACE_ROOT=/var/lib/perago/workspaces
CMD ["python", "-m", "perago.worker", "examples.songs"]
