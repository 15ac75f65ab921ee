"""result_for_exception: status mapping, bounded reasons, redaction (DESIGN §4)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from perago import (
    GuardrailViolation,
    NonRetryableError,
    PostGuardrailViolation,
    PreGuardrailViolation,
    StaleAttemptError,
    TaskInputError,
    completed_result,
    result_for_exception,
)
from perago.errors import (
    ConductorError,
    LakeFSError,
    PublishConflictError,
    TaskOutputError,
    UnsafePathError,
)
from perago.result import CUT_MARK, redact, truncate


class M(BaseModel):
    n: int


def validation_error() -> ValidationError:
    try:
        M.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError


class Custom(Exception):
    pass


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (TaskInputError("bad"), "FAILED_WITH_TERMINAL_ERROR"),
        (validation_error(), "FAILED_WITH_TERMINAL_ERROR"),
        (TaskOutputError("bad"), "FAILED_WITH_TERMINAL_ERROR"),
        (PreGuardrailViolation(["x"]), "FAILED_WITH_TERMINAL_ERROR"),
        (PostGuardrailViolation(["x"]), "FAILED_WITH_TERMINAL_ERROR"),
        (NonRetryableError("no"), "FAILED_WITH_TERMINAL_ERROR"),
        (UnsafePathError("../x"), "FAILED_WITH_TERMINAL_ERROR"),
        (LakeFSError("503", retryable=True), "FAILED"),
        (LakeFSError("404", retryable=False), "FAILED_WITH_TERMINAL_ERROR"),
        (PublishConflictError("c", paths=["a"], retryable=True), "FAILED"),
        (ConductorError("down"), "FAILED"),
        (StaleAttemptError("stale"), "FAILED"),
        (Custom("user bug"), "FAILED"),
        (KeyError("k"), "FAILED"),
    ],
)
def test_status_mapping(exc: BaseException, status: str) -> None:
    result = result_for_exception(exc, 200)
    assert result.status == status
    assert result.reason_for_incompletion.startswith(f"{type(exc).__name__}")
    assert result.error_type == type(exc).__name__


def test_task_listed_non_retryable_types_are_terminal() -> None:
    assert result_for_exception(Custom("x"), 100, non_retryable=(Custom,)).status == "FAILED_WITH_TERMINAL_ERROR"
    assert result_for_exception(KeyError("x"), 100, non_retryable=(Custom,)).status == "FAILED"


def test_reason_format_and_guardrail_message() -> None:
    violation = PreGuardrailViolation(["required 'a': found 0", "invalid JSON: b.json"])
    result = result_for_exception(violation, 500)
    assert result.reason_for_incompletion == (
        "PreGuardrailViolation: 2 pre guardrail check(s) failed: required 'a': found 0; invalid JSON: b.json"
    )
    assert isinstance(violation, GuardrailViolation) and violation.phase == "pre"


def test_cut_is_marked_inside_the_limit() -> None:
    result = result_for_exception(ValueError("x" * 500), 100)
    assert len(result.reason_for_incompletion) == 100
    assert result.reason_for_incompletion.endswith(CUT_MARK)
    assert truncate("abc", 2) == CUT_MARK[:2]
    assert truncate("abc", 0) == ""


@settings(max_examples=300, deadline=None)
@given(message=st.text(), max_length=st.one_of(st.integers(0, 40), st.integers(40, 100_000)))
def test_reason_never_exceeds_the_limit(message: str, max_length: int) -> None:
    result = result_for_exception(RuntimeError(message), max_length)
    assert len(result.reason_for_incompletion) <= max_length


@settings(max_examples=100, deadline=None)
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=8, max_size=40),
    pad=st.text(max_size=200),
)
def test_a_given_secret_never_survives(secret: str, pad: str) -> None:
    result = result_for_exception(RuntimeError(f"{pad} token {secret} {pad}"), 100_000, secrets=[secret])
    assert secret not in result.reason_for_incompletion


# Secrets of any characters (newlines, tabs, unicode spaces) but no ASCII letters or '*', padded with text that
# shares none of their visible characters: neither the secret nor its whitespace-folded form may come out.
_SECRET_CHARS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="*:" + "".join(map(chr, range(65, 91))) + "abcdefghijklmnopqrstuvwxyz",
)


@settings(max_examples=200, deadline=None)
@given(secret=st.text(alphabet=_SECRET_CHARS, min_size=8, max_size=40), pad=st.text(alphabet="xyz \n\t", max_size=80))
def test_a_secret_with_whitespace_does_not_survive_folding(secret: str, pad: str) -> None:
    folded = " ".join(secret.split())
    assume(len(folded.replace(" ", "")) >= 4)
    reason = result_for_exception(
        RuntimeError(f"{pad}{secret}{pad}"), 100_000, secrets=[secret]
    ).reason_for_incompletion
    assert secret not in reason and folded not in reason


def test_a_multiline_secret_is_redacted_before_whitespace_is_folded() -> None:
    reason = result_for_exception(
        RuntimeError("key:\n-----BEGIN\nabc123\n-----END\n"), 200, secrets=["-----BEGIN\nabc123\n-----END"]
    )
    assert reason.reason_for_incompletion == "RuntimeError: key: ***"


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_never_raises_on_unprintable_exceptions() -> None:
    result = result_for_exception(Unprintable(), 80)
    assert result.status == "FAILED" and "Unprintable" in result.reason_for_incompletion


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        (
            "GET failed: Authorization: Basic QUtJQUlPU0ZPRE5ON0VYQU1QTEU6c2VjcmV0",
            "QUtJQUlPU0ZPRE5ON0VYQU1QTEU6c2VjcmV0",
        ),
        ("headers {'Authorization': 'Bearer eyJhbGciOi.payload.sig'}", "eyJhbGciOi.payload.sig"),
        ("access key AKIAIOSFODNN7EXAMPLE was refused", "AKIAIOSFODNN7EXAMPLE"),
        ("url http://admin:hunter2@lakefs:8000/api/v1", "hunter2"),
        ("config secret_access_key=wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI/K7MDENG"),
        ('{"password": "pa55word"}', "pa55word"),
    ],
)
def test_credentials_are_redacted(text: str, leaked: str) -> None:
    result = result_for_exception(RuntimeError(text), 1000)
    assert leaked not in result.reason_for_incompletion
    assert "***" in result.reason_for_incompletion


def test_settings_secrets_are_redacted() -> None:
    assert redact("boom: s3cr3t-value-123 failed", ["s3cr3t-value-123"]) == "boom: *** failed"


def test_completed_result() -> None:
    result = completed_result({"result": {"a": 1}}, ["line"])
    assert result.status == "COMPLETED" and result.output_data == {"result": {"a": 1}} and result.logs == ("line",)
    assert not result.is_terminal_failure and not result.is_stale
