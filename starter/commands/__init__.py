"""Subcommand groups of the ``edgeward`` CLI."""
