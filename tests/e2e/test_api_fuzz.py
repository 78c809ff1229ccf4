"""Property-based fuzzing of the JSON API from its own OpenAPI spec (schemathesis), against the
real production backend: no 5xx, every response as documented, authenticated routes included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import member, run_cli


@pytest.fixture(scope="module")
def api_server(prod_backend: str) -> str:
    return prod_backend


@pytest.fixture(scope="module")
def auth_headers(api_server: str) -> dict[str, str]:
    # a verified member, so the fuzzer reaches the vote path itself
    return {"Authorization": member(api_server, "fuzzer@example.com", "fuzz-password")["auth"]}


def schemathesis_run(
    base: str, headers: dict[str, str], workdir: Path, *extra: str, only: str = ""
) -> None:
    paths = ["--include-path", only] if only else ["--exclude-path", "/api/logout"]
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{base}/api/openapi.json",
            *paths,
            "--exclude-path",
            "/api/ranking/stream",  # endless by design; tested on its own
            "--header",
            f"Authorization:{headers['Authorization']}",
            "--max-examples",
            "40",
            "--seed",
            "20261123",
            "--request-timeout",
            "10",
            "--report",
            "junit",
            "--report-dir",
            str(workdir),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=workdir,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_api_matches_its_spec_and_never_fails(api_server, auth_headers, tmp_path):
    """Every operation, positive and negative inputs, all of schemathesis's checks.

    Strings are ASCII in this run: JSON Schema's maxLength counts characters, while the
    password rule is 72 *bytes* (bcrypt's limit), so a 72-character password with accents is
    schema-valid but rightly refused.
    """
    schemathesis_run(
        api_server, auth_headers, tmp_path, "--checks", "all", "--generation-codec", "ascii"
    )


def test_api_survives_any_unicode_input(api_server, auth_headers, tmp_path):
    """Full Unicode: never a 5xx, every response as documented (all checks but the one above)."""
    schemathesis_run(
        api_server,
        auth_headers,
        tmp_path,
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
    )


def test_logout_is_fuzzed_alone_with_a_session_of_its_own(api_server, tmp_path):
    """The other runs leave /api/logout out: a log-out would end the session of the token
    every other route is fuzzed with (they then met only 401s)."""
    own = {"Authorization": member(api_server, "leaver@example.com", "fuzz-password")["auth"]}
    schemathesis_run(api_server, own, tmp_path, "--checks", "all", only="/api/logout")


def test_the_screens_routes_are_fuzzed_with_an_admins_token(prod_app, tmp_path):  # type: ignore[no-untyped-def]
    """The runs above are a member's: every admin route answers them 403. The screens routes
    again as an admin, so their own checks meet the fuzzer: 4xx with a JSON body, never a
    5xx (a wrong pairing code is a 404; a code the database could not store never reaches it)."""
    boss = member(prod_app.base, "fuzz-admin@example.com", "fuzz-password")
    run_cli(prod_app.env, "admin", "grant", boss["email"])
    for codec in ("ascii", "utf-8"):
        schemathesis_run(
            prod_app.base,
            {"Authorization": boss["auth"]},
            tmp_path,
            "--checks",
            "all",
            "--generation-codec",
            codec,
            "--include-path-regex",
            "^/api/admin/screens",
        )
