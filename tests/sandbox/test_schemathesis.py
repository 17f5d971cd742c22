"""An independent property-based run against a served sandbox (issue 14.7): schemathesis, with
all its checks but one the documented model contradicts, and a bounded number of examples per
operation, reads the document the sandbox serves at /openapi.json and finds no 5xx and no
answer that breaks the document."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sandbox.conftest import Live

# The document cannot say that a connection needs a store of the same customer, or that an
# approval needs a pending request: a schema-valid request may still meet a 404, 409, 410 or
# 422 of such a rule. Every other check runs as schemathesis ships it.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "410", "422", "429"]
"""
# `DELETE /authorization_requests/{id}` cancels a request, which stays listed and readable
# as `canceled` (dropstream-api.md; the planner and the report read canceled requests):
# schemathesis's use_after_free (ST301) takes every 2xx DELETE for a removal, and its
# stateful phase came upon that sequence in some runs only.
NOT_CHECKED = "use_after_free"
# Faults and rate limits make the sandbox fail on purpose, and quirks make it answer other
# than its document on purpose; the clock would expire the token and a reset would empty the
# account halfway through the run.
NOT_RUN = r"^/_sandbox/(faults|rate_limit|quirks|clock|reset)$"


@pytest.mark.slow
def test_schemathesis_finds_nothing_against_a_served_sandbox(live: Live, tmp_path: Path) -> None:
    binary = shutil.which("schemathesis") or shutil.which("st")
    assert binary, "schemathesis is missing: it is a test dependency (pip install -e '.[test]')"
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [
            binary,
            "--config-file",
            str(config),
            "run",
            f"{live.url}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            NOT_CHECKED,
            "--max-examples",
            "40",
            "--seed",
            "14",
            "--no-color",
            "--header",
            f"Authorization: Bearer {live.token()}",
            "--header",
            f"X-Sandbox-Admin: {live.app.sandbox_info.admin_key}",
            "--exclude-path-regex",
            NOT_RUN,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "failures" not in result.stdout.splitlines()[-1], result.stdout[-6000:]
