"""The synchronous façades and the CLI's connection options."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from dropstream_sync.cli.connect import connection_options, open_async_client, open_client
from dropstream_sync.client import (
    ReadClient,
    SyncReadClient,
    SyncWriteClient,
    WriteClient,
)
from dropstream_sync.desired import StoreSettings
from dropstream_sync.errors import SettingsError
from tests.client.on_sandbox import URL, Box


def test_the_sync_write_client_creates_and_the_sync_reader_sees_it(box: Box) -> None:
    with SyncWriteClient(WriteClient(box.settings(), transport=box.transport())) as writer:
        cid = writer.run(writer.aio.create_customer("Acme"))
        sid = writer.run(writer.aio.create_store(cid, "Acme US", "ATVPDKIKX0DER", StoreSettings()))
        writer.run(writer.aio.update_store(sid, name="Acme USA"))
    with SyncReadClient(ReadClient(box.settings(), transport=box.transport())) as reader:
        state = reader.read_live()
        assert reader.api_url == URL
    assert [s.name for s in state.stores] == ["Acme USA"]


def test_a_closed_sync_client_refuses_calls(box: Box) -> None:
    reader = SyncReadClient(ReadClient(box.settings(), transport=box.transport()))
    reader.close()
    reader.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        reader.read_live()


def test_the_sync_read_client_offers_no_writes(box: Box) -> None:
    with SyncReadClient(ReadClient(box.settings(), transport=box.transport())) as reader:
        assert not hasattr(reader.aio, "create_store")


def _probe() -> click.Command:
    @click.command()
    @connection_options
    def probe(api_url: str | None, sandbox_dir: str | None) -> None:
        click.echo(f"{api_url}|{sandbox_dir}")

    return probe


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        ([], {}, "None|None"),
        (["--sandbox"], {}, "None|.dropstream-sandbox"),
        (["--sandbox", "state/dir"], {}, "None|state/dir"),
        (["--api-url", "https://x.example"], {}, "https://x.example|None"),
        ([], {"DROPSTREAM_API_URL": "https://env.example"}, "https://env.example|None"),
    ],
)
def test_connection_options_parse_api_url_and_sandbox(
    args: list[str], env: dict[str, str], shown: str
) -> None:
    result = CliRunner().invoke(_probe(), args, env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == shown


def test_connection_options_are_documented_in_help() -> None:
    result = CliRunner().invoke(_probe(), ["--help"])
    assert "--api-url URL" in result.output
    assert "--sandbox [DIR]" in result.output


def test_open_client_without_credentials_says_what_to_set() -> None:
    with pytest.raises(SettingsError, match="DROPSTREAM_USERNAME"):
        open_client(None, None, write=False, env={})


def test_open_client_refuses_plain_http_before_sending_anything() -> None:
    env = {"DROPSTREAM_TOKEN": "t"}
    with pytest.raises(SettingsError, match="plain http://"):
        open_client("http://api.example", None, write=True, env=env)


def test_open_client_builds_the_requested_kind_with_limits() -> None:
    env = {"DROPSTREAM_TOKEN": "t"}
    with open_client(None, None, write=False, env=env, rate_limit_rps=5) as reader:
        assert isinstance(reader, SyncReadClient)
        assert reader.api_url == "https://api.getdropstream.com"
    with open_client("http://127.0.0.1:8080", None, write=True, env=env) as writer:
        assert isinstance(writer, SyncWriteClient)
    assert isinstance(open_async_client(None, None, write=True, env=env), WriteClient)


def test_open_client_rejects_an_unknown_limit() -> None:
    with pytest.raises(SettingsError, match="unknown client limit"):
        open_client(None, None, write=False, env={"DROPSTREAM_TOKEN": "t"}, speed=3)
