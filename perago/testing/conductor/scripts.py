"""Script evaluators: JavaScript through the ``quickjs`` engine, jq through the ``jq`` package.

As conductor-oss's ``ScriptEvaluator`` (GraalJS, one fresh context per evaluation, 4 s limit) the task
input is bound as ``$`` and the value of the script's last expression is the result; the evaluator types
are ``javascript`` and ``graaljs`` (same engine) and ``value-param`` (``ValueParamEvaluator``: the input
parameter named by the expression). Errors come back as :class:`ScriptError` with Conductor's messages.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jq
import quickjs

MAX_SECONDS = 4  # ScriptEvaluator.DEFAULT_MAX_EXECUTION_SECONDS
JAVASCRIPT = frozenset({"javascript", "graaljs"})
EVALUATORS = frozenset({*JAVASCRIPT, "value-param"})


class ScriptError(Exception):
    """A script could not be evaluated (Conductor raises TerminateWorkflowException for these)."""


def evaluate(evaluator_type: str | None, expression: str, bindings: Any) -> Any:
    """Evaluate ``expression`` with the named evaluator (``Evaluator.evaluate``)."""
    if evaluator_type in JAVASCRIPT:
        return javascript(expression, bindings)
    if evaluator_type == "value-param":
        if not isinstance(bindings, dict):
            raise ScriptError(f"Input has to be a JSON object: {type(bindings).__name__}")
        return bindings.get(expression)
    raise ScriptError(f"No evaluator registered for type: {evaluator_type}")


def javascript(script: str, bindings: Any, time_limit_s: float = MAX_SECONDS) -> Any:
    """Run ``script`` with ``$`` bound to a copy of ``bindings``; return its last value as JSON data."""
    context = quickjs.Context()
    context.set_time_limit(time_limit_s)
    context.set("__perago_input", json.dumps(bindings, default=str))
    try:
        context.eval("var $ = JSON.parse(__perago_input);")
        value = context.eval(script)
    except quickjs.JSException as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "interrupted" in message:
            raise ScriptError(f"Script not evaluated within {int(time_limit_s)} seconds, interrupted.") from exc
        raise ScriptError(f"Error evaluating the script `{message}`") from exc
    if isinstance(value, quickjs.Object):
        text = value.json()
        return None if text is None else json.loads(text)
    return value


def truthy(value: Any) -> bool:
    """ScriptEvaluator.toBoolean: booleans as they are, numbers when > 0, anything else false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return False


@functools.lru_cache(maxsize=512)
def _jq_program(query: str) -> Any:
    return jq.compile(query)


def jq_transform(query: str, data: Any) -> list[Any]:
    """Every value the jq ``query`` produces from ``data`` (JsonJqTransform); ScriptError when it fails."""
    try:
        results: list[Any] = _jq_program(query).input_value(data).all()
    except ValueError as exc:
        raise ScriptError(str(exc)) from exc
    return results
