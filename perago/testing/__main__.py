"""``python -m perago.testing lakefs | conductor``: serve an emulator until killed."""

from __future__ import annotations

import importlib
import sys

_COMMANDS = {"lakefs": "perago.testing.lakefs.cli", "conductor": "perago.testing.conductor.cli"}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the emulator's ``main(argv)``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _COMMANDS:
        print("usage: python -m perago.testing {lakefs,conductor} [options]", file=sys.stderr)
        return 2
    code: int = importlib.import_module(_COMMANDS[args[0]]).main(args[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
