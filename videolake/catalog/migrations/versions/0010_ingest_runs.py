"""Ingest runs made outside Dagster (`videolake ingest`), which a sensor reports to Dagster

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ingest_runs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('trigger', sa.String(length=64), nullable=False),
        sa.Column('zone', sa.String(length=32), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('success', sa.Boolean(), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('run_id', name='uq_ingest_runs_run_id'),
    )


def downgrade() -> None:
    op.drop_table('ingest_runs')
