"""Where to connect comes from --api-url or the environment; credentials only from the
environment; plain http:// only to loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream_sync.client import (
    BasicCredentials,
    Limits,
    TokenCredentials,
    check_api_url,
    settings_from_env,
)
from dropstream_sync.errors import SettingsError
from tests.cli_in_process import EXAMPLE, run

LOGIN = {"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWORD": "pw"}


def test_the_real_service_is_the_default() -> None:
    assert settings_from_env(None, LOGIN).api_url == "https://api.getdropstream.com"


def test_the_flag_wins_over_the_environment() -> None:
    env = {**LOGIN, "DROPSTREAM_API_URL": "https://env.example"}
    assert settings_from_env(None, env).api_url == "https://env.example"
    assert settings_from_env("https://flag.example/", env).api_url == "https://flag.example"


@pytest.mark.parametrize(
    "url",
    ["http://api.example", "http://10.0.0.5:8080", "http://192.168.1.1", "http://[2001:db8::1]"],
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="refusing plain http://"):
        settings_from_env(url, LOGIN)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.5.6.7",
        "http://[::1]:9000",
        "http://localhost:8000",
        "https://api.example",
    ],
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert check_api_url(url) == url


@pytest.mark.parametrize("url", ["ftp://api.example", "api.example", "https://", "::::"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="invalid API URL"):
        check_api_url(url)


def test_a_login_inside_the_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        check_api_url("https://ops:hunter2@api.example")
    assert "hunter2" not in str(caught.value)
    assert "DROPSTREAM_USERNAME" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://ops:hunter2@api.example",
        "https://ops:hunter2@",
        "ops:hunter2@api.example",
        "https://ops:hunter2@api.example\x1b[31m",
        # A password pasted raw, with a `/` or `?` in it: httpx refuses the port it then
        # reads, and the message quoted the whole URL.
        "https://ops:hunter2/x@api.example",
        "ftp://ops:hunter2/x?y@api.example",
        "https://ops:hunter2:t/x@127.0.0.1:9",
    ],
)
def test_a_login_in_a_url_refused_for_another_reason_is_not_echoed_either(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        check_api_url(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://api.example/?api_key=hunter2", "https://api.example/#hunter2", "https://a?"]
)
def test_a_url_with_a_query_or_fragment_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(SettingsError, match="must not have a query") as caught:
        check_api_url(url)
    assert "hunter2" not in str(caught.value)


def test_a_url_with_a_byte_that_is_not_utf8_is_refused_not_a_traceback() -> None:
    # As a lone surrogate (how Python keeps such a byte of argv or the environment), it
    # made httpx fail to percent-encode the URL: a UnicodeEncodeError out of doctor and plan.
    with pytest.raises(SettingsError, match="a byte that is not UTF-8 at character 21"):
        check_api_url("http://127.0.0.1:9/x\udcff")


def test_a_url_with_a_query_is_one_error_line_from_the_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The request paths were joined into the query (`POST /?k=v/auth/token`), which the
    # read-only plan client refused with a traceback.
    for name, value in LOGIN.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "plan", EXAMPLE, "--api-url", "http://127.0.0.1:9/?k=v")
    assert code == 1
    assert "Traceback" not in err
    assert err.startswith("error: the API URL must not have a query")


def plan_with(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """`plan` with only these DropStream credential variables set, at a URL nothing serves
    (a credential refused before connecting never gets there)."""
    for name in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD", "DROPSTREAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return run(capsys, "plan", EXAMPLE, "--api-url", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        # A byte that is not UTF-8 (Python keeps it as a lone surrogate): the login could
        # not be encoded, a UnicodeEncodeError traceback.
        ({"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWORD": "hunter\udce9"}, "PASSWORD is"),
        ({"DROPSTREAM_USERNAME": "ops\udce9", "DROPSTREAM_PASSWORD": "hunter2"}, "USERNAME is"),
        # Basic authentication splits the login at its first ':': refused as a wrong password.
        ({"DROPSTREAM_USERNAME": "ops:x", "DROPSTREAM_PASSWORD": "hunter2"}, "cannot hold ':'"),
        # A token with a letter no header can carry: a traceback from httpx; with a space, a
        # 401 that blamed expiry.
        ({"DROPSTREAM_TOKEN": "hunter2-tökén"}, "TOKEN is not a bearer token"),
        ({"DROPSTREAM_TOKEN": "hunter2 x"}, "TOKEN is not a bearer token"),
        ({"DROPSTREAM_TOKEN": "Bearer hunter2"}, "set it to the token alone"),
    ],
)
def test_a_credential_that_cannot_be_sent_is_one_error_line_without_it(
    env: dict[str, str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = plan_with(env, capsys, monkeypatch)
    assert code == 1
    assert "Traceback" not in err
    assert err.startswith("error: DROPSTREAM_") and says in err, err
    assert "hunter" not in out + err


def test_a_password_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_bytes(b"hunter\xe92\n")
    with pytest.raises(SettingsError, match="is not UTF-8 text") as caught:
        settings_from_env(
            None, {"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWORD_FILE": str(secret)}
        )
    assert "hunter" not in str(caught.value)


def test_a_jwt_is_a_bearer_token() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlPQ-_=="
    s = settings_from_env(None, {"DROPSTREAM_TOKEN": jwt})
    assert isinstance(s.credentials, TokenCredentials)
    assert s.credentials.token.reveal() == jwt


def test_missing_credentials_say_which_variables_to_set() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_env(None, {})
    for name in (
        "DROPSTREAM_USERNAME",
        "DROPSTREAM_PASSWORD",
        "DROPSTREAM_PASSWORD_FILE",
        "DROPSTREAM_TOKEN",
    ):
        assert name in str(caught.value)


def test_a_username_without_password_is_refused() -> None:
    with pytest.raises(SettingsError, match="DROPSTREAM_PASSWORD"):
        settings_from_env(None, {"DROPSTREAM_USERNAME": "ops"})


def test_a_password_without_username_is_refused() -> None:
    with pytest.raises(SettingsError, match="DROPSTREAM_USERNAME"):
        settings_from_env(None, {"DROPSTREAM_PASSWORD": "pw"})


def test_the_password_can_come_from_a_file_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    s = settings_from_env(
        None, {"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWORD_FILE": str(secret)}
    )
    assert isinstance(s.credentials, BasicCredentials)
    assert s.credentials.password.reveal() == "s3cret"


def test_an_unreadable_password_file_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SettingsError, match="cannot read DROPSTREAM_PASSWORD_FILE"):
        settings_from_env(
            None, {"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWORD_FILE": str(missing)}
        )


def test_a_ready_token_is_used_when_no_login_is_given() -> None:
    s = settings_from_env(None, {"DROPSTREAM_TOKEN": "t0k"})
    assert isinstance(s.credentials, TokenCredentials)
    assert s.credentials.token.reveal() == "t0k"


def test_a_login_is_preferred_over_a_token_because_it_can_renew() -> None:
    s = settings_from_env(None, {**LOGIN, "DROPSTREAM_TOKEN": "t0k"})
    assert isinstance(s.credentials, BasicCredentials)


def test_limits_are_checked() -> None:
    with pytest.raises(SettingsError):
        Limits(rate_limit_rps=0)
    with pytest.raises(SettingsError):
        Limits(max_concurrency=0)
    assert Limits(rate_limit_rps=None).rate_limit_rps is None


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.localhost",
        "http://a.b.localhost:8000",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://0x7f000001.example",
    ],
)
def test_plain_http_to_a_name_that_only_looks_local_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="refusing plain http://"):
        check_api_url(url)


def test_a_password_file_others_can_read_gets_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret-from-file\n")
    env = {"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWORD_FILE": str(secret)}

    secret.chmod(0o600)
    settings_from_env(None, env)
    assert caplog.records == []

    secret.chmod(0o644)
    settings_from_env(None, env)
    assert len(caplog.records) == 1
    warning = caplog.records[0]
    assert warning.levelname == "WARNING"
    assert str(secret) in warning.getMessage() and "chmod 600" in warning.getMessage()
    assert "s3cret-from-file" not in caplog.text


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"DROPSTREAM_USER": "ops", "DROPSTREAM_PASS": "s3cret-pw"},
            "error: no DropStream credentials: set DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD "
            "(or DROPSTREAM_PASSWORD_FILE), or DROPSTREAM_TOKEN; DROPSTREAM_PASS and "
            "DROPSTREAM_USER are set but not read: did you mean DROPSTREAM_PASSWORD and "
            "DROPSTREAM_USERNAME?",
        ),
        (
            {"DROPSTREAM_USERNAME": "ops", "DROPSTREAM_PASSWD": "s3cret-pw"},
            "error: DROPSTREAM_USERNAME is set but no password: set DROPSTREAM_PASSWORD or "
            "DROPSTREAM_PASSWORD_FILE; DROPSTREAM_PASSWD is set but not read: did you mean "
            "DROPSTREAM_PASSWORD?",
        ),
        (
            {"DROPSTREAM_USER": "ops", "DROPSTREAM_PASSWORD": "s3cret-pw"},
            "error: a password is set but DROPSTREAM_USERNAME is not: set it too; "
            "DROPSTREAM_USER is set but not read: did you mean DROPSTREAM_USERNAME?",
        ),
        # The GitLab example's note token is the pipeline's, not a misspelt DROPSTREAM_TOKEN.
        (
            {"DROPSTREAM_NOTE_TOKEN": "glpat-s3cret-pw"},
            "error: no DropStream credentials: set DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD "
            "(or DROPSTREAM_PASSWORD_FILE), or DROPSTREAM_TOKEN",
        ),
        # Names that share only the prefix are another script's, not misspellings: compared
        # whole, they read as DROPSTREAM_API_URL and DROPSTREAM_TOKEN.
        (
            {"DROPSTREAM_EMAIL": "ops@acme.example", "DROPSTREAM_ENV": "prod"},
            "error: no DropStream credentials: set DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD "
            "(or DROPSTREAM_PASSWORD_FILE), or DROPSTREAM_TOKEN",
        ),
        (
            {"DROPSTREAM_API_TOKEN": "s3cret-pw"},
            "error: no DropStream credentials: set DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD "
            "(or DROPSTREAM_PASSWORD_FILE), or DROPSTREAM_TOKEN; DROPSTREAM_API_TOKEN is set "
            "but not read: did you mean DROPSTREAM_TOKEN?",
        ),
    ],
    ids=["user-and-pass", "passwd", "user", "note-token", "other-names", "api-token"],
)
def test_a_misspelt_credential_variable_is_named_with_the_one_meant(
    env: dict[str, str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DROPSTREAM_USER / DROPSTREAM_PASS (the names other tools use) were silently not read:
    # "no DropStream credentials", with the variables the newcomer had just set.
    code, out, err = plan_with(env, capsys, monkeypatch)
    assert (code, out, err) == (1, "", says + "\n")
    assert "s3cret" not in err


def test_a_misspelt_url_variable_is_warned_about_before_the_real_service_is_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # DROPSTREAM_URL pointing at a sandbox: the tool asked the real service with the sandbox's
    # login, and its 401 read as a wrong password.
    env = {**LOGIN, "DROPSTREAM_URL": "http://127.0.0.1:8765"}
    assert settings_from_env(None, env).api_url == "https://api.getdropstream.com"
    assert [r.getMessage() for r in caplog.records] == [
        "DROPSTREAM_URL is set but not read: did you mean DROPSTREAM_API_URL? Connecting to "
        "https://api.getdropstream.com"
    ]
    caplog.clear()
    settings_from_env("http://127.0.0.1:8765", env)  # a URL was given: nothing to say
    assert caplog.records == []
    # Another script's variable is not a misspelt URL, warned of on every run.
    settings_from_env(None, {**LOGIN, "DROPSTREAM_EMAIL": "ops@acme.example"})
    assert caplog.records == []
