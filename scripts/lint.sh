#!/usr/bin/env bash
# Lint and type-check.
source "$(dirname "$0")/_env.sh"
ruff check movievote tests benchmarks alembic/env.py
ruff format --check movievote tests benchmarks alembic/env.py
mypy movievote
lint-imports  # the layer contracts in pyproject.toml
