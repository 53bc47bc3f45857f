"""videolake domain core: catalog, storage backends, media inspection and ingest planning.

Nothing in this package imports Dagster; the Dagster layer (assets/, resources/, sensors/,
pipelines/) is a thin shell around it.
"""

__version__ = "0.1.0"
