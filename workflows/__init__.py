"""Workflows: one per module, with their payload dataclasses, retry policies and task queues.

Workflow modules import only the standard library, ``temporalio`` and our payloads; they are
re-imported by the Temporal sandbox and must stay deterministic.
"""
