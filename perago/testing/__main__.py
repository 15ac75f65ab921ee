"""``python -m perago.testing lakefs | conductor [options]``: serve an emulator until killed."""

from __future__ import annotations

import importlib
import sys

_COMMANDS = {
    "lakefs": ("perago.testing.lakefs.cli", "serve the lakeFS emulator (lakeFS API v1, S3-style presigned URLs)"),
    "conductor": ("perago.testing.conductor.cli", "serve the Conductor emulator (conductor-oss API under /api)"),
}
USAGE = "usage: python -m perago.testing {lakefs,conductor} [options]  (--help after a command: its options)"


def _help() -> str:
    return "\n".join(
        [USAGE, "", "emulators:", *(f"  {name:<10} {summary}" for name, (_, summary) in _COMMANDS.items())]
    )


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the emulator's ``main(argv)``."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(_help())
        return 0
    if not args or args[0] not in _COMMANDS:
        print(_help(), file=sys.stderr)
        return 2
    code: int = importlib.import_module(_COMMANDS[args[0]][0]).main(args[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
