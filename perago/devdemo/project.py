"""What ``perago dev`` runs: a task package, workflow definitions, the data to seed and the workflow input.

Without ``--tasks`` it is the songs demo: the ``examples.songs`` tasks, their workflow definitions, the sample song
data and a song as input. ``--tasks my.package --workflow wf.json [--data DIR] [--input JSON]`` runs your own
package and workflow definitions instead. Every mistake in these options is reported here, before a server starts.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perago.devdemo import pipeline
from perago.devdemo.seed import SeedFiles
from perago.errors import ConfigurationError

InputBuilder = Callable[[str, str], dict[str, Any]]


@dataclass(frozen=True)
class DevProject:
    """Everything ``perago dev`` needs to know before it starts the servers.

    Attributes:
        tasks: The package (or module) whose ``@task`` functions the workers serve.
        definitions: Every workflow definition to register with Conductor.
        names: The workflows to start, one run each, each on its own branch.
        files: What to upload to ``main`` first (path in the repository -> bytes or a local file).
        seed_message: The seed commit's message (a rerun on a real server skips a seed already there).
        make_input: ``(repository, branch) -> workflow input`` for one workflow run.
    """

    tasks: str
    definitions: list[dict[str, Any]]
    names: list[str]
    files: SeedFiles
    seed_message: str
    make_input: InputBuilder


def parse_input(text: str | None) -> dict[str, Any]:
    """``--input``: a JSON object, or ``@file.json``; perago dev adds ``workspace`` itself."""
    if text is None:
        return {}
    source = "--input"
    if text.startswith("@"):
        source, text = text[1:], _read_text(Path(text[1:]), "--input")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{source} is not valid JSON ({exc}); pass an object like '{{\"x\": 1}}'") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"{source} must be a JSON object (the workflow input), e.g. '{{\"x\": 1}}'")
    if "workspace" in value:
        raise ConfigurationError(
            f"{source} sets 'workspace', which perago dev sets itself (the workflow's branch of the repository); "
            "refer to it as ${workflow.input.workspace} and leave it out of --input"
        )
    return value


def _read_text(path: Path, option: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"{option} {path}: cannot read it ({exc.strerror})") from exc


def load_workflow_file(path: Path) -> list[dict[str, Any]]:
    """The Conductor workflow definitions in a JSON file (one object, or a list of them)."""
    try:
        loaded = json.loads(_read_text(path, "--workflow"))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--workflow {path}: not valid JSON ({exc})") from exc
    definitions = loaded if isinstance(loaded, list) else [loaded]
    for definition in definitions:
        if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
            raise ConfigurationError(
                f"--workflow {path}: expected a Conductor workflow definition (a JSON object with a 'name' and "
                "'tasks') or a list of them"
            )
        if not isinstance(definition.get("tasks"), list):
            raise ConfigurationError(f"--workflow {path}: workflow {definition['name']!r} has no 'tasks' list")
    return definitions


def read_data(directory: Path) -> dict[str, Path]:
    """``--data``: every file under ``directory``, keyed by its relative POSIX path (its path in the repository)."""
    if not directory.is_dir():
        raise ConfigurationError(f"--data {directory}: not a directory; pass the directory to seed main from")
    return {p.relative_to(directory).as_posix(): p for p in sorted(directory.rglob("*")) if p.is_file()}


def data_digest(files: SeedFiles) -> str:
    """A short SHA-256 over the seed files' paths and bytes (names a seed commit)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        digest.update(path.encode() + b"\0" + (content if isinstance(content, bytes) else content.read_bytes()))
    return digest.hexdigest()[:12]


def worker_task_names(node: Any) -> set[str]:
    """The task types of every SIMPLE (worker) task in a workflow definition, forks and branches included."""
    found: set[str] = set()
    if isinstance(node, dict):
        if "taskReferenceName" in node and node.get("type", "SIMPLE") == "SIMPLE":
            found.add(str(node.get("name")))
        for value in node.values():
            found |= worker_task_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= worker_task_names(item)
    return found


def check_task_types(definitions: Iterable[dict[str, Any]], tasks: str, served: set[str]) -> None:
    """Refuse a workflow whose worker tasks the package does not define (it would wait until its timeout)."""
    for definition in definitions:
        missing = sorted(worker_task_names(definition.get("tasks", [])) - served)
        if missing:
            raise ConfigurationError(
                f"workflow {definition['name']!r} uses task(s) {', '.join(missing)} that {tasks} does not define "
                f"(its tasks: {', '.join(sorted(served)) or 'none'}); add the @task functions or fix the workflow"
            )


def _selected(values: list[str], known: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The definitions loaded from ``--workflow`` files and the names to run (files give all theirs)."""
    loaded: list[dict[str, Any]] = []
    names: list[str] = []
    for value in values:
        path = Path(value)
        if value.endswith(".json") or path.is_file():
            definitions = load_workflow_file(path)
            loaded += definitions
            names += [d["name"] for d in definitions]
        elif value in known:
            names.append(value)
        else:
            choices = ", ".join(sorted(known)) or "none without a file"
            raise ConfigurationError(
                f"--workflow {value!r}: no such workflow (known: {choices}); pass a workflow JSON file's path"
            )
    return loaded, list(dict.fromkeys(names))


def _seed_files(data: Path | None, default: SeedFiles, default_message: str) -> tuple[SeedFiles, str]:
    if data is None:
        return default, default_message
    files = read_data(data)
    return files, f"perago dev: seed from {data.resolve().name} ({data_digest(files)})"


def songs_project(args: argparse.Namespace, user_input: dict[str, Any], overrides: dict[str, Any]) -> DevProject:
    """The songs demo, with any of ``--workflow`` / ``--data`` / ``--input`` replacing its part."""
    package, stack = pipeline.import_examples(args.examples)
    data_module = importlib.import_module(f"{args.examples}.data")
    known = {d["name"]: d for d in package.workflow_definitions()}
    loaded, names = _selected(args.workflow or [], known)
    files, message = _seed_files(args.data, data_module.sample_files(), str(stack.SEED_MESSAGE))
    song = pipeline.song_params(data_module, overrides)

    def make_input(repository: str, branch: str) -> dict[str, Any]:
        return pipeline.workflow_input(repository, branch, song) | user_input

    definitions = list(({**known, **{d["name"]: d for d in loaded}}).values())
    return DevProject(args.examples, definitions, names or sorted(pipeline.BRANCHES), files, message, make_input)


def custom_project(args: argparse.Namespace, user_input: dict[str, Any]) -> DevProject:
    """Your package and workflow definitions (``--tasks``), seeded from ``--data`` when given."""
    if not args.workflow:
        raise ConfigurationError(
            f"--tasks {args.tasks} needs --workflow FILE.json: the Conductor workflow definition(s) to run"
        )
    if args.song_id is not None or args.params != "{}":
        raise ConfigurationError("--song-id and --params shape the songs demo's input; with --tasks, pass --input")
    definitions, names = _selected(args.workflow, {})
    files, message = _seed_files(args.data, {}, "")

    def make_input(repository: str, branch: str) -> dict[str, Any]:
        workspace = {"repository": repository, "branch": branch, "ref_type": "branch", "ref": branch}
        return user_input | {"workspace": workspace}

    return DevProject(args.tasks, definitions, names, files, message, make_input)
