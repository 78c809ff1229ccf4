#!/usr/bin/env bash
# Run movievote locally: install, migrate, seed the catalogue when empty, serve on :3000.
# Zero set-up default: SQLite in ./.data/movievote.db. Set DATABASE_URL for PostgreSQL.
source "$(dirname "$0")/_env.sh"
movievote prestart
exec reflex run "$@"
