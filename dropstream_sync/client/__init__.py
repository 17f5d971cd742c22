"""The DropStream API client: the only code of the tool that speaks HTTP.

settings.py   where and how to connect (URL, credentials from the environment, limits)
api.py        every [assumed] detail of the API: paths, bodies, JSON -> live models
http.py       auth, pacing, retries, POST recovery, pagination, errors
clients.py    ReadClient (no writes, by construction) and WriteClient
sync.py       synchronous façades for the CLI
"""

from dropstream_sync.client.clients import (
    EMPTY_ACCOUNT,
    UNSET,
    EnabledAt,
    ReadClient,
    WriteClient,
    only_merchants,
)
from dropstream_sync.client.http import ReadOnlyViolation
from dropstream_sync.client.limiter import Timing
from dropstream_sync.client.settings import (
    BasicCredentials,
    ClientSettings,
    Credentials,
    Limits,
    Secret,
    TokenCredentials,
    check_api_url,
    settings_from_env,
)
from dropstream_sync.client.sync import SyncReadClient, SyncWriteClient

__all__ = [
    "EMPTY_ACCOUNT",
    "UNSET",
    "BasicCredentials",
    "ClientSettings",
    "Credentials",
    "EnabledAt",
    "Limits",
    "ReadClient",
    "ReadOnlyViolation",
    "Secret",
    "SyncReadClient",
    "SyncWriteClient",
    "Timing",
    "TokenCredentials",
    "WriteClient",
    "check_api_url",
    "only_merchants",
    "settings_from_env",
]
