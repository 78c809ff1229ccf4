#!/usr/bin/env bash
# The whole test suite. Database: MOVIEVOTE_TEST_DATABASE_URL (default: a fresh SQLite file);
# a PostgreSQL URL names a database the tests may drop and recreate.
# Browser tests (tests/e2e) need Chromium at /usr/bin/chromium (apt-get install -y chromium)
# and run in a pytest process of their own.
source "$(dirname "$0")/_env.sh"
python -m pytest tests/unit tests/integration "$@"
python -m pytest tests/e2e "$@"
