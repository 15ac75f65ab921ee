"""``python -m perago dev | register | janitor | history | explain``: the project's command line."""

from __future__ import annotations

import importlib
import sys

_COMMANDS = {
    "dev": ("perago.dev", "run the example pipeline on embedded emulators (or real servers)"),
    "register": ("perago.conductor.registration", "register task definitions with Conductor"),
    "janitor": ("perago.lakefs.janitor", "delete abandoned perago staging branches"),
    "history": ("perago.conductor.provenance_cli:history_main", "every attempt of a workflow's steps, with events"),
    "explain": ("perago.conductor.provenance_cli:explain_main", "the workflow, step and attempt behind a commit"),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand's ``main(argv)`` (or the function named after ``module:``)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _COMMANDS:
        lines = [f"  {name:<10} {help_}" for name, (_, help_) in _COMMANDS.items()]
        print(f"usage: python -m perago {{{','.join(_COMMANDS)}}} ...\n" + "\n".join(lines), file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    module_name, _, function = _COMMANDS[args[0]][0].partition(":")
    code: int = getattr(importlib.import_module(module_name), function or "main")(args[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
