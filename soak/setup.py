"""Seed the soak's lakeFS repository and Conductor definitions, and start its workflows — idempotently, since the
emulators drop answers to applied requests on purpose (a retried create that gets 409 is a success)."""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from soak.stack import REPOSITORY, Stack, request
from soak.tasks import STEPS

WORKFLOW = "soak_flow"


def lakefs(stack: Stack, method: str, route: str, body: Any = None, *, ok: tuple[int, ...] = ()) -> Any:
    token = base64.b64encode(f"{stack.lakefs_key}:{stack.lakefs_secret}".encode()).decode()
    try:
        return request(method, f"{stack.lakefs_url}/api/v1{route}", body, {"Authorization": f"Basic {token}"})
    except RuntimeError as exc:
        if any(f"HTTP {code}" in str(exc) for code in ok):
            return None
        raise


def conductor(stack: Stack, method: str, route: str, body: Any = None) -> Any:
    headers = {"X-Authorization": conductor_token(stack)}
    return request(method, f"{stack.conductor_url}{route}", body, headers)


def conductor_token(stack: Stack) -> str:
    credentials = {"keyId": stack.conductor_key, "keySecret": stack.conductor_secret}
    answer = request("POST", f"{stack.conductor_url}/token", credentials)
    return str(answer["token"] if isinstance(answer, dict) else answer)


def seed_lakefs(stack: Stack, branches: int) -> list[str]:
    """Repository ``soak`` with a README on main, and ``branches`` branches from it; returns their names."""
    lakefs(
        stack,
        "POST",
        "/repositories",
        {"name": REPOSITORY, "storage_namespace": "local://soak", "default_branch": "main"},
        ok=(409,),
    )
    names = [f"lane-{i}" for i in range(branches)]
    for name in names:
        lakefs(stack, "POST", f"/repositories/{REPOSITORY}/branches", {"name": name, "source": "main"}, ok=(409,))
    return names


def register(stack: Stack) -> None:
    """The two task definitions (registering again is harmless) and the workflow: extract on a lane branch, then
    load on the commit extract published."""
    from perago.conductor.registration import register_task_definitions
    from perago.errors import PeragoError
    from perago.settings import PeragoSettings
    from soak import tasks

    settings = PeragoSettings(
        conductor_server_url=stack.conductor_url,
        conductor_auth_key=stack.conductor_key,
        conductor_auth_secret=stack.conductor_secret,
    )
    for attempt in range(10):
        try:
            register_task_definitions([getattr(tasks, name) for name, _ in STEPS], settings)
            break
        except PeragoError:
            if attempt == 9:
                raise
    workflow = {
        "name": WORKFLOW,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "soak@perago.local",
        "tasks": [
            {
                "name": "soak_extract",
                "taskReferenceName": "extract",
                "type": "SIMPLE",
                "inputParameters": {"workspace": "${workflow.input.workspace}", "params": {"rows": 3}},
            },
            {
                "name": "soak_load",
                "taskReferenceName": "load",
                "type": "SIMPLE",
                "inputParameters": {"workspace": "${extract.output.workspace}", "params": {"rows": 2}},
            },
        ],
    }
    conductor(stack, "PUT", "/metadata/workflow", [workflow])


def start_workflow(stack: Stack, number: int, branch: str) -> str:
    """Start one workflow; an answer lost after the start was applied is found again by its correlation id."""
    correlation = f"soak-{number:05}"
    body = {
        "name": WORKFLOW,
        "version": 1,
        "correlationId": correlation,
        "idempotencyKey": correlation,
        "idempotencyStrategy": "RETURN_EXISTING",
        "input": {"workspace": {"repository": REPOSITORY, "branch": branch, "ref_type": "branch", "ref": branch}},
    }
    try:
        return str(conductor(stack, "POST", "/workflow", body)).strip('"')
    except RuntimeError:
        found = conductor(stack, "GET", f"/workflow/{WORKFLOW}/correlated/{urllib.parse.quote(correlation)}")
        if not found:
            raise
        return str(found[0]["workflowId"])
