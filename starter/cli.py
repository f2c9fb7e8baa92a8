"""The ``edgeward`` command. Each subcommand group lives in ``starter/commands/<group>.py``
and adds itself with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "starter.commands.plans",
    "starter.commands.db",
    "starter.commands.stack",
    "starter.commands.licenses",
    "starter.commands.dns",
    "starter.commands.workflow",
    "starter.commands.site",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeward", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"edgeward: {exc}", file=sys.stderr)
        return 2


class UserError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def run() -> None:
    """The console script: ``main``, then leave without interpreter finalization.

    The Temporal client's Rust threads can outlive the event loop and abort a finishing
    interpreter ("PyGILState_Release: thread state ... must be current", temporalio/sdk-python
    issue 300), which turned a successful command into exit status 134 now and then. Everything
    the command wrote is flushed first; engines are disposed by the commands themselves.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
