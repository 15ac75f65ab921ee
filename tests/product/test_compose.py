"""docker-compose.yml cannot run here (no container engine): check the properties compose relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.product.settings_env import known_env_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PERAGO_SERVICES = ("setup", "worker")  # built from our Dockerfile: their env is read by PeragoSettings


def test_has_the_expected_services():
    assert set(SERVICES) == {"minio", "lakefs", "conductor", "setup", "worker"}


@pytest.mark.parametrize("name", ["minio", "lakefs", "conductor"])
def test_images_are_pinned(name):
    image = SERVICES[name]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository and tag, f"{name}: image {image!r} has no tag"
    assert tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not pinned to a version"


def test_expected_server_images():
    assert SERVICES["conductor"]["image"].startswith("conductoross/conductor-standalone:")
    assert SERVICES["lakefs"]["image"].startswith("treeverse/lakefs:")
    assert SERVICES["minio"]["image"].startswith("minio/minio:RELEASE.")


def test_dockerfile_base_images_are_pinned():
    froms = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert froms, "Dockerfile has no FROM"
    for image in froms:
        assert ":" in image and not image.endswith(":latest"), image


@pytest.mark.parametrize("name", ["minio", "lakefs", "conductor", "worker"])
def test_long_running_services_have_healthchecks(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"][0] == "CMD" and len(check["test"]) > 1
    assert check["retries"] >= 3


def test_lakefs_is_backed_by_minio():
    env = SERVICES["lakefs"]["environment"]
    assert env["LAKEFS_BLOCKSTORE_TYPE"] == "s3"
    assert env["LAKEFS_BLOCKSTORE_S3_ENDPOINT"] == "http://minio:9000"
    assert env["LAKEFS_BLOCKSTORE_S3_CREDENTIALS_ACCESS_KEY_ID"] == SERVICES["minio"]["environment"]["MINIO_ROOT_USER"]
    assert SERVICES["lakefs"]["depends_on"] == {"minio": {"condition": "service_healthy"}}


def test_startup_order_uses_conditions():
    setup = SERVICES["setup"]["depends_on"]
    assert {name: dep["condition"] for name, dep in setup.items()} == {
        "minio": "service_healthy",
        "lakefs": "service_healthy",
        "conductor": "service_healthy",
    }
    worker = SERVICES["worker"]["depends_on"]
    assert worker["setup"]["condition"] == "service_completed_successfully"
    assert worker["lakefs"]["condition"] == worker["conductor"]["condition"] == "service_healthy"


def test_setup_service_is_one_shot_and_does_every_step():
    setup = SERVICES["setup"]
    assert setup["build"] == "." and setup["restart"] == "no"
    script = " ".join(setup["command"])
    assert "mc mb --ignore-existing local/perago-example" in script
    assert "python -m examples.songs.stack" in script
    assert "python -m perago register examples.songs" in script


@pytest.mark.parametrize("name", PERAGO_SERVICES)
def test_perago_service_env_names_are_known_to_the_settings_model(name):
    env = SERVICES[name]["environment"]
    unknown = set(env) - known_env_names()
    assert not unknown, f"{name}: environment variables PeragoSettings does not read: {sorted(unknown)}"
    assert env["CONDUCTOR_SERVER_URL"].endswith("/api")
    assert env["LAKECTL_SERVER_ENDPOINT_URL"] == "http://lakefs:8000"


def test_lakefs_credentials_match_between_setup_and_worker():
    setup, worker = SERVICES["setup"]["environment"], SERVICES["worker"]["environment"]
    for key in ("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"):
        assert setup[key] == worker[key]


def test_worker_command_serves_the_examples():
    worker = SERVICES["worker"]
    assert worker["build"] == "."
    assert worker["command"] == ["python", "-m", "perago.worker", "examples.songs"]
    assert worker["environment"]["PERAGO_METRICS_PORT"] in worker["healthcheck"]["test"][-1]
    assert worker["stop_grace_period"] == "45s"


def test_the_modules_the_compose_commands_run_exist():
    assert (ROOT / "examples/songs/stack.py").is_file()
    assert (ROOT / "perago/__main__.py").is_file()
    assert "register" in (ROOT / "perago/__main__.py").read_text()


def test_dockerfile_installs_perago_and_ships_the_examples():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "RUN pip install ." in dockerfile
    assert "COPY examples ./examples" in dockerfile and "COPY perago ./perago" in dockerfile
    assert 'CMD ["python", "-m", "perago.worker", "examples.songs"]' in dockerfile
    assert "USER perago" in dockerfile  # not root
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_worker_gets_time_to_drain_before_docker_kills_it():
    worker = SERVICES["worker"]
    grace_s = int(worker["stop_grace_period"].removesuffix("s"))
    assert grace_s > float(worker["environment"]["PERAGO_DRAIN_TIMEOUT_S"])
