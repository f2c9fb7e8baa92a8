"""``edgeward stack up|down``: what `make up` and `make down` run."""

from __future__ import annotations

import argparse

from schema.settings import get_settings
from starter.stack import up as stack


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stack", help="start or stop the local stack on loopback")
    ss = p.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    ss.add_parser("up", help="start every component, migrate, seed demo data").set_defaults(
        func=run_up)
    ss.add_parser("down", help="stop everything `stack up` started").set_defaults(func=run_down)


def run_up(args: argparse.Namespace) -> int:
    lines = stack.up(get_settings())
    print("\nEdgeward is up (stop it with `make down`):")
    for line in lines:
        print("  " + line)
    return 0


def run_down(args: argparse.Namespace) -> int:
    stopped = stack.down(get_settings())
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0
