# movievote: one image that migrates, seeds the catalogue when empty, and serves on :3000.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REFLEX_USE_NPM=1 REFLEX_TELEMETRY_ENABLED=false
WORKDIR /app
COPY pyproject.toml README.md ./
COPY movievote ./movievote
RUN pip install --no-cache-dir .
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
EXPOSE 3000
CMD ["sh", "-c", "movievote prestart && exec reflex run --env prod --frontend-port 3000 --backend-port 3000 --backend-host 0.0.0.0"]
