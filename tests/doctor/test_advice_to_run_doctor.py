"""An error's advice is mostly to run `dropstream-sync doctor`: `plan` gives it, and doctor,
which is that advice, names the problem without it (the error carries the advice apart
from its message, ApiError.what_to_try)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dropstream_sync.sandbox import create_app
from tests.cli_in_process import EXAMPLE, run
from tests.hostile import Hostile, Rule
from tests.sandbox.conftest import serve_in_thread

DOCTOR = "dropstream-sync doctor"
ADVICE = f"`{DOCTOR}"  # as the advice quotes it: "run `dropstream-sync doctor --api-url ..."


@pytest.fixture
def sandbox_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A sandbox on a loopback socket, its login in the environment."""
    app = create_app(tmp_path / "state")
    server, thread, url = serve_in_thread(app)
    for name in ("DROPSTREAM_TOKEN", "DROPSTREAM_PASSWORD_FILE", "DROPSTREAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DROPSTREAM_USERNAME", app.sandbox_info.username)
    monkeypatch.setenv("DROPSTREAM_PASSWORD", app.sandbox_info.password)
    monkeypatch.chdir(tmp_path)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def doctor(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str, str]:
    """Doctor's exit code, its text report and its JSON report."""
    code, text, _ = run(capsys, "doctor", "--api-url", url)
    again, document, _ = run(capsys, "doctor", "--api-url", url, "--format", "json")
    assert again == code
    return code, text, json.dumps(json.loads(document), ensure_ascii=False)


def test_an_unreachable_url_is_named_by_doctor_and_plan_still_advises_doctor(
    sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:1"  # nothing listens on port 1
    code, text, document = doctor(capsys, url)
    assert code == 3
    assert f"✗ url: POST /auth/token: cannot reach {url}: connection refused" in text
    assert ADVICE not in text and ADVICE not in document
    code, _, err = run(capsys, "plan", EXAMPLE, "--api-url", url)
    assert code == 1
    assert f"cannot reach {url}: connection refused: nothing listens there (gave up" in err
    assert err.endswith(
        f"). Check the URL, or run `{DOCTOR} --api-url {url}` to see what answers there; for "
        "a local sandbox, start one with `dropstream-sync sandbox serve`\n"
    )


def test_a_path_after_the_host_is_named_by_doctor_and_plan_still_advises_doctor(
    sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sandbox_url + "/api"
    code, text, document = doctor(capsys, url)
    assert code == 3
    assert f"✗ url: {url} answers HTTP 404 to POST /auth/token, not as the DropStream API" in text
    assert ADVICE not in text and ADVICE not in document
    code, _, err = run(capsys, "plan", EXAMPLE, "--api-url", url)
    assert code == 1
    assert err.endswith(f"; `{DOCTOR} --api-url {url}` shows what answers there)\n")


def test_a_list_missing_at_a_url_that_answers_is_named_by_doctor_without_its_advice(
    sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The login works there but GET /customers answers 404: the error's advice ("check the API
    # URL ...; `dropstream-sync doctor --api-url URL` shows what answers there") was in
    # doctor's own line for the list.
    with Hostile(sandbox_url) as proxy:
        proxy.add(Rule("GET", "/customers", "answer", status=404, body=b"{}", times=1000))
        code, text, document = doctor(capsys, proxy.url)
        assert code != 0
        assert "GET /customers -> 404" in text and "GET /customers -> 404" in document
        assert ADVICE not in text and ADVICE not in document
        code, _, err = run(capsys, "plan", EXAMPLE, "--api-url", proxy.url)
    assert code == 1
    assert err.startswith("error: GET /customers -> 404: ")
    assert err.endswith(f"; `{DOCTOR} --api-url {proxy.url}` shows what answers there)\n")
