"""Imports: videos fetched from URLs before they expire."""
