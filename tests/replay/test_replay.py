"""Committed histories of every workflow type replay against the current code.

A change to a workflow that running executions would not survive (a new activity call in the
middle, a removed timer) fails here. Refresh the histories deliberately with
``EDGEWARD_RECORD_HISTORIES=1 make test`` when a change is versioned (workflow.patched).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError, _Definition

from schema.settings import get_settings
from starter.commands.workflow import history_from_file
from starter.temporal_client import settings_converter
from worker import build_activities

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _workflows() -> list[type]:
    return list(build_activities(get_settings())[0])


def test_every_workflow_type_has_a_committed_history() -> None:
    names = {_Definition.must_from_class(cls).name for cls in _workflows()}
    assert names, "the worker registers no workflow"
    assert names <= {p.stem for p in HISTORIES}, "record histories: EDGEWARD_RECORD_HISTORIES=1"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    history = history_from_file(path)
    replayer = Replayer(workflows=_workflows(), data_converter=settings_converter(get_settings()))
    await replayer.replay_workflow(history)


@workflow.defn(name="DnsImport", sandboxed=False)
class ChangedDnsImport:
    """DnsImport as a careless edit might leave it: a timer where the history has an activity."""

    @workflow.run
    async def run(self, inp: dict[str, Any]) -> None:
        await workflow.sleep(timedelta(seconds=1))


async def test_a_changed_workflow_fails_its_committed_history() -> None:
    history = history_from_file(Path(__file__).parent / "histories" / "DnsImport.json")
    replayer = Replayer(workflows=[ChangedDnsImport],
                        data_converter=settings_converter(get_settings()))
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history)
