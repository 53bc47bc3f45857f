"""Covering indexes for `videolake status` (per source, per replica backend and state, per derivative
kind), and videos by size (ingest: a file no stored video matches in size cannot be a duplicate)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_videos_status', 'videos', ['source', 'source_type', 'size_bytes', 'duration_s', 'probed_at'])
    op.create_index('ix_replicas_status', 'replicas', ['backend', 'state', 'size_bytes'])
    op.create_index('ix_derivatives_kind_size', 'derivatives', ['kind', 'size_bytes'])
    op.create_index('ix_videos_size', 'videos', ['size_bytes'])


def downgrade() -> None:
    op.drop_index('ix_videos_size', table_name='videos')
    op.drop_index('ix_derivatives_kind_size', table_name='derivatives')
    op.drop_index('ix_replicas_status', table_name='replicas')
    op.drop_index('ix_videos_status', table_name='videos')
