#!/usr/bin/env bash
# Before the server starts: wait for the database, apply migrations, seed the catalogue if empty.
source "$(dirname "$0")/_env.sh"
exec movievote prestart "$@"
