"""Issue 9, acceptance 5: mypy --strict infers the user's models from ``@task`` (bare and with arguments)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

TYPED = Path(__file__).resolve().parents[1] / "typing" / "typed_usage.py"


def test_mypy_infers_the_users_result_model(tmp_path: Path) -> None:
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path), "--config-file", "pyproject.toml", str(TYPED)]
    )
    lines = [line.split(": ", 1)[1] for line in out.splitlines() if "typed_usage.py:" in line]
    assert lines == [
        'note: Revealed type is "perago.task.TaskDefinition[typed_usage.Hello, typed_usage.Greeting]"',
        'note: Revealed type is "perago.task.TaskDefinition[typed_usage.Hello, typed_usage.Count]"',
        'note: Revealed type is "typed_usage.Greeting | None"',
        'error: "Count" has no attribute "message"  [attr-defined]',
    ], out + err
    assert status == 1  # the one deliberate error: a wrong attribute of the user's own model is caught
