"""Partitions are days (the landing or recording date), never one per file."""

import dagster as dg

from videolake import constants as c

# end_offset=1 makes today a partition, so files landing today are processed today.
landing_days = dg.DailyPartitionsDefinition(start_date=c.PARTITIONS_START_DATE, end_offset=1, timezone="UTC")
