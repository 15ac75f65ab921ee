"""The lakeFS connection: datetime query parameters lakeFS accepts, error messages perago shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from lakefs_sdk import Configuration
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import ApiException

from perago.lakefs.client import translate
from tests.lakefs.conftest import REPO, Lake


def test_log_since_is_sent_as_rfc3339(presign_lake: Lake) -> None:
    """LogCommits binds ``since`` with time.Parse(time.RFC3339Nano): lakefs_sdk's default "+0000" is a 400."""
    lake = presign_lake
    lake.put({"a.txt": b"a"})
    since = datetime.now(UTC) - timedelta(hours=1)
    log = lake.store.conn.sdk.refs_api.log_commits(REPO, "main", since=since)
    assert [c.message for c in log.results] == ["seed", "Repository created"]
    emu = lake.emu
    plain = LakeFSClient(
        Configuration(f"{emu.endpoint}/api/v1", username=emu.access_key_id, password=emu.secret_access_key)
    )
    with pytest.raises(ApiException) as info:
        plain.refs_api.log_commits(REPO, "main", since=since)
    assert info.value.status == 400


def answer(status: int, body: str) -> ApiException:
    exc = ApiException(status=status, reason="reason")
    exc.body = body
    return exc


def test_errors_carry_lakefs_message_and_clear_advice() -> None:
    error = translate(answer(400, '{"message": "update branch main: no changes"}\n'), "merge x into y")
    assert str(error) == "lakeFS could not merge x into y: HTTP 400 update branch main: no changes"
    assert not error.retryable and error.status == 400
    hook = (
        "update branch main: pre-merge hook aborted, run id 'r1': 1 error occurred:\n\t* hook run id 'h1' failed on "
        "action 'checks' hook 'schema': action failed: column x missing\n\n"
    )
    refused = translate(answer(412, json.dumps({"message": hook})), "merge x into y")
    assert str(refused) == (
        "lakeFS refused to merge x into y: a pre-merge hook refused: column x missing; fix what the hook checks, "
        "a retry cannot help"
    )
    assert not refused.retryable and refused.status == 412
    credentials = translate(answer(401, '{"message": "error authenticating request"}'), "list objects")
    assert "LAKECTL_CREDENTIALS_ACCESS_KEY_ID" in str(credentials) and not credentials.retryable
    assert translate(answer(503, "Throughput exceeded"), "commit").retryable
