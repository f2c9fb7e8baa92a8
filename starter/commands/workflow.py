"""``edgeward workflow export|replay``: debug a production run on a laptop.

``export`` saves a live workflow's history as JSON (the format of the Temporal UI's download
and of ``tests/replay/histories/``); ``replay`` fetches a live history, or reads one from a
file, and replays it against the current code: a non-determinism error means the code changed
in a way that running workflows would not survive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from schema.settings import get_settings
from starter.temporal_client import connect, settings_converter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("workflow", help="export or replay a workflow history")
    ws = p.add_subparsers(dest="workflow_command", required=True, metavar="ACTION")
    ex = ws.add_parser("export", help="save a live workflow's history as JSON")
    ex.add_argument("workflow_id")
    ex.add_argument("file", type=Path)
    ex.add_argument("--run-id", default=None)
    ex.set_defaults(func=run_export)
    rp = ws.add_parser("replay", help="replay a live workflow (or a JSON file) against this code")
    rp.add_argument("workflow_id", help="the workflow id, or a path to a history JSON file")
    rp.add_argument("--run-id", default=None)
    rp.set_defaults(func=run_replay)


async def fetch(workflow_id: str, run_id: str | None) -> WorkflowHistory:
    client = await connect(get_settings())
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def history_to_json(history: WorkflowHistory) -> str:
    """The saved form: the history as the Temporal UI downloads it, with its workflow id
    (a workflow may derive child ids from its own, so replay needs the original)."""
    return json.dumps({"workflow_id": history.workflow_id, **history.to_json_dict()}, indent=1)


def history_from_file(path: Path) -> WorkflowHistory:
    """Read a saved history; a bare UI download takes its workflow id from the file name."""
    data = json.loads(path.read_text())
    return WorkflowHistory.from_json(data.pop("workflow_id", path.stem), data)


def load(source: str, run_id: str | None) -> WorkflowHistory:
    path = Path(source)
    if path.suffix == ".json" and path.exists():
        return history_from_file(path)
    return asyncio.run(fetch(source, run_id))


async def replay(history: WorkflowHistory) -> None:
    """Replay ``history`` against every workflow the worker registers; raises on divergence."""
    from worker import build_activities

    settings = get_settings()
    workflows, _ = build_activities(settings)
    replayer = Replayer(workflows=workflows, data_converter=settings_converter(settings))
    await replayer.replay_workflow(history)


def run_export(args: argparse.Namespace) -> int:
    history = asyncio.run(fetch(args.workflow_id, args.run_id))
    args.file.write_text(history_to_json(history))
    print(f"wrote {len(history.events)} events to {args.file}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    history = load(args.workflow_id, args.run_id)
    asyncio.run(replay(history))
    print(f"replayed {len(history.events)} events of {history.workflow_id}: deterministic")
    return 0
