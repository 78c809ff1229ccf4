#!/usr/bin/env bash
# The whole test suite. Database: MOVIEVOTE_TEST_DATABASE_URL (default: a fresh SQLite file);
# a PostgreSQL URL names a database the tests may drop and recreate.
source "$(dirname "$0")/_env.sh"
python -m pytest tests/unit tests/integration "$@"
