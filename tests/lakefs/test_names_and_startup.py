"""Store risks 9 and 12 (issue 10): lakeFS's name rules, and lakeFS checked when the worker starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3

from perago.errors import LakeFSError
from perago.lakefs.health import check_lakefs
from perago.names import branch_name_problem, is_valid_branch_name, is_valid_repository_name, is_valid_tag_name
from perago.settings import PeragoSettings
from perago.testing.conductor import ConductorEmulator
from perago.testing.lakefs import LakeFSEmulator

ROOT = Path(__file__).resolve().parents[2]
BRANCHES = {"main": True, "feature_1": True, "a-b": True, "_x": True, "x" * 300: True, "-x": False}
BRANCHES |= {"mäin": False, "feature/x": False, "": False, "a b": False, "名前": False, "a.b": False}
TAGS = {"v1.0": True, "release~1": True, "ünï": True, "v1-2": True, "a/b": False, "a..b": False, "@": False}
TAGS |= {"x.lock": False, "x.": False, "a@{b": False, "a^b": False, "a:b": False, "a?b": False, "a*b": False}
TAGS |= {"a[b": False, "a\\b": False, "a b": False, "bell\x07": False, "": False}
REPOSITORIES = {"songs": True, "a-1": True, "abc": True, "ab": False, "Songs": False, "-abc": False, "a_b": False}


def test_branch_names_are_ascii_as_lakefs_validates_them() -> None:
    """pkg/validator/validate.go ReValidBranchID ``^\\w[-\\w]*$`` in RE2, where ``\\w`` is ASCII only."""
    assert {name: is_valid_branch_name(name) for name in BRANCHES} == BRANCHES
    problem = branch_name_problem("mäin")
    assert problem is not None and "ASCII" in problem


def test_tag_and_repository_names() -> None:
    """graveler.ValidateTagID (git-check-ref-format, ``~`` allowed, ``/`` refused); ValidateRepositoryID."""
    assert {name: is_valid_tag_name(name) for name in TAGS} == TAGS
    assert {name: is_valid_repository_name(name) for name in REPOSITORIES} == REPOSITORIES


def test_the_rules_agree_with_the_emulated_server(lakefs_emulator: LakeFSEmulator) -> None:
    lakefs_emulator.create_repository("songs")
    auth = urllib3.make_headers(basic_auth=f"{lakefs_emulator.access_key_id}:{lakefs_emulator.secret_access_key}")
    base = f"{lakefs_emulator.endpoint}/api/v1/repositories"

    def created(route: str, body: dict[str, object]) -> bool:
        answer = urllib3.request("POST", f"{base}{route}", body=json.dumps(body), headers=auth)
        assert answer.status in (201, 400, 409), answer.data  # 409: the name is fine, it exists ("main")
        return answer.status != 400

    assert {n: created("/songs/branches", {"name": n, "source": "main"}) for n in BRANCHES} == BRANCHES
    assert {n: created("/songs/tags", {"id": n, "ref": "main"}) for n in TAGS} == TAGS
    repos = {n: created("", {"name": n, "storage_namespace": f"mem://{n}-ns"}) for n in REPOSITORIES}
    assert repos == REPOSITORIES


def settings_for(endpoint: str, key: str, secret: str) -> PeragoSettings:
    return PeragoSettings(lakefs_endpoint=endpoint, lakefs_access_key_id=key, lakefs_secret_access_key=secret)


def test_check_lakefs(lakefs_emulator: LakeFSEmulator) -> None:
    emu = lakefs_emulator
    check_lakefs(settings_for(emu.endpoint, emu.access_key_id, emu.secret_access_key))
    with pytest.raises(LakeFSError) as refused:
        check_lakefs(settings_for(emu.endpoint, emu.access_key_id, "wrong-secret"))
    message = str(refused.value)
    assert message.startswith(f"lakeFS at {emu.endpoint} refused the credentials (HTTP 401)")
    assert "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY" in message and "wrong-secret" not in message
    with pytest.raises(LakeFSError) as unreachable:
        check_lakefs(settings_for("http://127.0.0.1:9", "k", "s"))
    assert str(unreachable.value).startswith("cannot reach lakeFS at http://127.0.0.1:9")


def test_the_worker_exits_with_one_line_when_lakefs_refuses(lakefs_emulator: LakeFSEmulator) -> None:
    with ConductorEmulator() as conductor:
        result = subprocess.run(
            [sys.executable, "-m", "perago.worker", "tests.conductor.shutdown_tasks"],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "CONDUCTOR_SERVER_URL": conductor.url,
                "LAKECTL_SERVER_ENDPOINT_URL": lakefs_emulator.endpoint,
                "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lakefs_emulator.access_key_id,
                "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": "not-the-secret",
            },
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perago.worker: error: lakeFS at ")
    assert "refused the credentials (HTTP 401)" in lines[0] and "not-the-secret" not in result.stderr
