"""The use cases: one function per thing a user does, the same for every entry point.

The CLI (``pipelines/cli``), the Dagster assets, sensors and schedules, and the HTTP API call these
and only render what they return. Each takes the catalog and the backends it needs (never reads
the environment, never imports Dagster), returns a result whose ``to_dict`` is its one serialized
form, and raises a member of ``videolake.usecases.errors`` that maps to an exit code and an HTTP
status. See docs/architecture.md for the layers and where new code goes.
"""
