"""HTTP (HTTPTaskMapper, HttpTask), restricted to loopback addresses.

The request is input ``http_request`` (or the input itself): ``uri``, ``method``, ``headers``, ``body``,
``accept``, ``contentType``, ``readTimeOut``/``connectionTimeOut`` (ms, default 3000). A 2xx answer
completes the task (IN_PROGRESS with ``asyncComplete``) with output ``response`` = ``{statusCode,
reasonPhrase, headers, body}`` (JSON bodies parsed, numbers as floats like Jackson's Double); any other
answer or a connection error fails it with Spring RestTemplate's message. The emulator only calls
loopback hosts (a test bed must not reach the network): another host fails the task and says so. The
call runs on its own thread, outside the engine lock (the URL may be the emulator itself).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from perago.testing.conductor.model import TaskRecord, WorkflowRecord
from perago.testing.conductor.systask import MapContext, Runtime, SystemTask, fail_task, mapper, system_task

SERVER_ID = "perago-conductor-emulator"


@dataclass
class HttpOutcome:
    """What an HTTP call produced, applied to the task under the engine lock."""

    status: str
    response: Any
    reason: str | None = None


@mapper("HTTP")
def map_http(context: MapContext) -> list[TaskRecord]:
    """HTTPTaskMapper: a SCHEDULED task; ``asyncComplete`` is copied into its input."""
    params = context.workflow_task.setdefault("inputParameters", {})
    params["asyncComplete"] = bool(context.workflow_task.get("asyncComplete"))
    task = context.create_task("HTTP", "SCHEDULED")
    task.input_data = context.resolved_input()
    task.retry_count = context.retry_count
    task.callback_after_seconds = int(context.workflow_task.get("startDelay") or 0)
    task_def = context.task_def or {}
    task.rate_limit_per_frequency = int(task_def.get("rateLimitPerFrequency") or 0)
    task.rate_limit_frequency_in_seconds = int(task_def.get("rateLimitFrequencyInSeconds") or 1)
    return [task]


def request_of(task: TaskRecord) -> dict[str, Any]:
    """The HttpTask.Input of a task."""
    request = task.input_data.get("http_request")
    return request if isinstance(request, dict) else task.input_data


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def _body(text: str) -> Any:
    """HttpTask.extractBody: JSON arrays and objects parsed, numbers as Double, other values as text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, list | dict):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return float(value)
    return value


def perform(request: dict[str, Any]) -> HttpOutcome:
    """Make the call (no lock held); the outcome as HttpTask.start would set it."""
    uri, method = str(request["uri"]), str(request["method"]).upper()
    if not _loopback(urlsplit(uri).hostname):
        reason = f"the perago Conductor emulator only calls loopback addresses; {uri} is not one"
        return HttpOutcome("FAILED", reason, f"Failed to invoke HTTP task due to: {reason}")
    body = request.get("body")
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    accept = request.get("accept") or "application/json"
    headers = {"Content-Type": str(request.get("contentType") or "application/json")}
    headers["Accept"] = ", ".join(accept) if isinstance(accept, list) else str(accept)
    headers.update({str(k): str(v) for k, v in (request.get("headers") or {}).items() if v is not None})
    timeout_s = int(request.get("readTimeOut") or 3000) / 1000
    call = urllib.request.Request(uri, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=timeout_s) as answer:  # loopback only (checked above)
            text = answer.read().decode(errors="replace")
            response = {
                "statusCode": answer.status,
                "reasonPhrase": HTTPStatus(answer.status).phrase,
                "headers": {key: answer.headers.get_all(key) for key in answer.headers},
                "body": _body(text) if text else None,
            }
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        message = f'java.lang.Exception: {exc.code} {HTTPStatus(exc.code).phrase}: "{detail}"'
        return HttpOutcome("FAILED", message, f"Failed to invoke HTTP task due to: {message}")
    except OSError as exc:
        message = f'java.lang.Exception: I/O error on {method} request for "{uri}": {exc}'
        return HttpOutcome("FAILED", message, f"Failed to invoke HTTP task due to: {message}")
    return HttpOutcome("COMPLETED", response)


def apply(task: TaskRecord, outcome: HttpOutcome, async_complete: bool) -> None:
    """Set the task from the outcome (HttpTask.start's second half)."""
    task.in_flight = False
    task.output_data["response"] = outcome.response
    task.reason_for_incompletion = outcome.reason
    task.status = "IN_PROGRESS" if outcome.status == "COMPLETED" and async_complete else outcome.status


class Http(SystemTask):
    """HttpTask."""

    task_type = "HTTP"
    is_async = True

    def start(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        request = request_of(task)
        task.worker_id = SERVER_ID
        if request.get("uri") is None:
            fail_task(task, "Missing HTTP URI.  See documentation for HttpTask for required input parameters")
            return
        if request.get("method") is None:
            fail_task(task, "No HTTP method specified")
            return
        task.in_flight = True
        runtime.call_http(workflow, task)

    def cancel(self, runtime: Runtime, workflow: WorkflowRecord, task: TaskRecord) -> None:
        task.status = "CANCELED"


system_task(Http())
