"""The container files say what the tested commands do (Docker does not run on these machines:
the prestart step and the production start are tested outside it, in test_cli and tests/e2e)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from movievote.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_compose_runs_the_app_on_healthy_postgres_and_redis_with_many_workers():
    services = COMPOSE["services"]
    assert {"db", "redis", "app", "mail"} <= set(services)
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    app = services["app"]
    assert app["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env["DATABASE_URL"]
    assert env["REFLEX_REDIS_URL"] == "redis://redis:6379/0"
    assert env["MOVIEVOTE_ENV"] == "production"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # no default secret in production
    # voting needs a verified address: out of the box the mail reaches a catcher one can read
    assert "profiles" not in services["mail"] and "8025:8025" in services["mail"]["ports"]
    assert env["NOTIFY_SMTP_URL"] == "${NOTIFY_SMTP_URL:-smtp://mail:1025}"
    assert "3000:3000" in app["ports"]


def test_the_image_is_multi_stage_non_root_with_a_healthcheck_and_the_tested_start():
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) == 2
    assert "COPY --from=build" in DOCKERFILE
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/api/health", DOCKERFILE, re.M)
    cmd = re.search(r"^CMD (.*)$", DOCKERFILE, re.M)[1]  # type: ignore[index]
    assert "movievote prestart && exec reflex run --env prod" in cmd
    assert "--frontend-port 3000 --backend-port 3000" in cmd


@pytest.mark.parametrize(
    ("env", "workers"),
    [
        (
            {"REFLEX_REDIS_URL": "redis://redis:6379/0"},
            str(len(os.sched_getaffinity(0))),
        ),  # one per core
        ({"REFLEX_REDIS_URL": "redis://redis:6379/0", "GRANIAN_WORKERS": "5"}, "5"),
        ({}, ""),  # no Redis: Reflex's own single worker
    ],
)
def test_the_container_runs_one_worker_per_core_unless_told(env, workers):
    script = json.loads(re.search(r"^CMD (.*)$", DOCKERFILE, re.M)[1])[2]  # type: ignore[index]
    setup = script[: script.index("movievote prestart")]  # what runs before the app starts
    done = subprocess.run(
        ["sh", "-c", setup + ' printf %s "${GRANIAN_WORKERS:-}"'],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == workers


def test_env_example_names_only_real_settings():
    known = {name.upper() for name in Settings.model_fields} | {
        "GRANIAN_WORKERS",
        "POSTGRES_PASSWORD",
        "REFLEX_API_URL",  # Reflex's own, read when the pages are compiled
    }
    keys = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    assert keys and set(keys) <= known, set(keys) - known
    assert {name.upper() for name in Settings.model_fields} <= set(keys)  # and all of them


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="docker compose is not installed here; the structure is checked above",
)
def test_docker_compose_accepts_the_file():
    done = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yaml"), "config", "-q"],
        env={"SECRET_KEY": "x" * 40, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
