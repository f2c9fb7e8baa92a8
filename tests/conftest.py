"""Shared fixtures. Each area registers its fixture module in ``pytest_plugins``."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.temporal",
    "tests.fixtures.dns",
    "tests.fixtures.edges",
    "tests.fixtures.pebble",
    "tests.fixtures.sites",
    "tests.fixtures.portal",
]
