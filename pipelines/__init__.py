"""Definitions, jobs, schedules, partitions and the videolake CLI."""
