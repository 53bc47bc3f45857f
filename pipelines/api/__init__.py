"""The HTTP API: ``videolake api``. A thin adapter over the use cases, like the CLI.

Modules: ``services`` (what a request works with, built once from the environment at start-up),
``problems`` (every error as application/problem+json), ``auth`` (API keys and the slow-down of
repeated failures), ``receiving`` (an upload body streamed into the spool), ``serving`` (objects
with Range and ETag), ``metrics`` (Prometheus), one ``routes_*`` module per subject, and ``app``
(the FastAPI application that joins them).
"""
