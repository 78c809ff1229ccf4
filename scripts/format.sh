#!/usr/bin/env bash
# Format the code and fix what ruff can fix.
source "$(dirname "$0")/_env.sh"
ruff check --fix movievote tests benchmarks alembic/env.py
ruff format movievote tests benchmarks alembic/env.py
