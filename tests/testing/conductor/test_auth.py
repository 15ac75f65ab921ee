"""Optional key/secret auth, as Orkes Conductor does it; open (conductor-oss) mode by default."""

from __future__ import annotations

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.rest import AuthorizationException
from conductor.client.orkes_clients import OrkesClients

from perago.testing.conductor import ConductorEmulator


def _metadata(url: str, key: str | None = None, secret: str | None = None):
    settings = AuthenticationSettings(key_id=key, key_secret=secret) if key else None
    return OrkesClients(configuration=Configuration(server_api_url=url, authentication_settings=settings))


@pytest.fixture
def secured():
    with ConductorEmulator(auth=("perago-key", "perago-secret")) as emulator:
        yield emulator


def test_right_credentials_get_a_token_and_are_served(secured):
    metadata = _metadata(secured.url, "perago-key", "perago-secret").get_metadata_client()
    assert metadata.get_all_task_defs() == []
    assert secured.request_count("token") == 1


@pytest.mark.parametrize(("key", "secret"), [("perago-key", "wrong"), (None, None)])
def test_wrong_or_missing_credentials_are_401(secured, key, secret):
    metadata = _metadata(secured.url, key, secret).get_metadata_client()
    with pytest.raises(AuthorizationException) as caught:
        metadata.get_all_task_defs()
    assert caught.value.status == 401
    assert caught.value.invalid_token


def test_open_emulator_has_no_token_endpoint_so_clients_run_unauthenticated(conductor_emulator):
    clients = _metadata(conductor_emulator.url, "any-key", "any-secret")
    assert clients.get_metadata_client().get_all_task_defs() == []
    assert conductor_emulator.request_count("token") == 1  # 404 -> conductor-python drops auth
