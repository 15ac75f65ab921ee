"""Worker functions for conductor-python's TaskHandler test.

They live in an importable module (not the test file) because TaskHandler starts its workers with the
``spawn`` start method, which re-imports the function by module name in the child process. No
``from __future__ import annotations`` here: conductor-python maps task input onto the parameters by
their annotation objects, and string annotations break that mapping.
"""


def double(value: int) -> dict[str, int]:
    return {"doubled": value * 2}


def shout(text: str) -> dict[str, str]:
    return {"text": str(text).upper()}


def echo(value: str) -> dict[str, str]:
    return {"echoed": value}
