"""Conductor task definitions from perago ``TaskDefinition``s, and ``python -m perago register app.workers``.

Each TaskDef carries the task's timeouts, retry policy and concurrency limit, its input and output keys, and
JSON schemas of its whole input and output (the DESIGN wire shapes with the pydantic models inside). Schemas are
informational (``enforceSchema`` false): perago validates inputs itself, with clearer errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from conductor.client.http.models.schema_def import SchemaDef, SchemaType
from conductor.client.http.models.task_def import TaskDef
from pydantic import BaseModel, create_model

from perago.conductor.client import ConductorApi
from perago.errors import PeragoError
from perago.models import WorkspaceInput
from perago.settings import PeragoSettings
from perago.task import TaskDefinition, discover_tasks, merge_task_lists


def wire_models(definition: TaskDefinition) -> tuple[type[BaseModel], type[BaseModel]]:
    """Pydantic models of the task's whole input and output (DESIGN wire shapes)."""
    name = "".join(part.title() for part in definition.name.split("_"))
    workspace: dict[str, Any] = {} if definition.workspace is None else {"workspace": (WorkspaceInput, ...)}
    inp: type[BaseModel] = create_model(f"{name}Input", **workspace, params=(definition.params_model, ...))
    out: type[BaseModel] = create_model(f"{name}Output", **workspace, result=(definition.output_model, ...))
    return inp, out


def _schema(name: str, model: type[BaseModel]) -> SchemaDef:
    data: dict[str, Any] = model.model_json_schema()
    return SchemaDef(name=name, version=1, type=SchemaType.JSON, data=data)


def task_def_for(definition: TaskDefinition) -> TaskDef:
    """The Conductor TaskDef of a perago task."""
    inp, out = wire_models(definition)
    return TaskDef(
        name=definition.name,
        description=definition.description or definition.name,
        retry_count=definition.retry_count,
        retry_logic=definition.retry_logic,
        retry_delay_seconds=definition.retry_delay_s,
        timeout_seconds=definition.timeout_s,
        timeout_policy="TIME_OUT_WF" if definition.timeout_s else "RETRY",
        response_timeout_seconds=definition.response_timeout_s,
        concurrent_exec_limit=definition.concurrency_limit,
        input_keys=list(inp.model_fields),
        output_keys=list(out.model_fields),
        input_schema=_schema(f"{definition.name}_input", inp),
        output_schema=_schema(f"{definition.name}_output", out),
        enforce_schema=False,
        owner_email="perago@localhost",
    )


def register_task_definitions(
    tasks: list[TaskDefinition], settings: PeragoSettings, api: ConductorApi | None = None
) -> None:
    """Create or update the TaskDefs of ``tasks`` on Conductor (their settings were checked when they were made)."""
    (api or ConductorApi(settings)).register_task_defs([task_def_for(t) for t in tasks])


def main(argv: list[str]) -> int:
    """``python -m perago register MODULE [MODULE ...]``: register every task of these modules/packages."""
    parser = argparse.ArgumentParser(prog="python -m perago register", description=main.__doc__)
    parser.add_argument("modules", nargs="+", help="packages or modules holding @task functions")
    parser.add_argument("--conductor-url", help="Conductor API URL incl. /api (env CONDUCTOR_SERVER_URL)")
    args = parser.parse_args(argv)
    try:
        overrides = {"conductor_server_url": args.conductor_url} if args.conductor_url else {}
        settings = PeragoSettings(**overrides)
        tasks = merge_task_lists([discover_tasks(m) for m in args.modules])
        register_task_definitions(tasks, settings)
    except PeragoError as exc:
        print(f"perago register: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"registered {len(tasks)} task definition(s) on {settings.conductor_server_url}: "
        + ", ".join(t.name for t in tasks)
    )
    return 0
