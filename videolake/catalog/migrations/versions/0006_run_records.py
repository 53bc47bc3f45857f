"""run records: what each ingest run did with each file, and each retention run's plan

Entry points read a run's outcome from here by run id, complete for any batch size (Dagster's
event metadata holds only a summary).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'run_files',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('run_id', sa.String(64), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('uri', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=True),
        sa.Column('video_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_run_files_run_id', 'run_files', ['run_id'])
    op.create_table(
        'retention_plan_items',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('run_id', sa.String(64), nullable=False),
        sa.Column('action', sa.String(32), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=True),
        sa.Column('export_id', sa.String(64), nullable=True),
        sa.Column('what', sa.String(32), nullable=False),
        sa.Column('backend', sa.Text(), nullable=False),
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('policy', sa.Text(), nullable=False),
    )
    op.create_index('ix_retention_plan_items_run_id', 'retention_plan_items', ['run_id'])
    op.create_table(
        'retention_runs',
        sa.Column('run_id', sa.String(64), primary_key=True),
        sa.Column('applied', sa.Boolean(), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('refused', sa.JSON(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('retention_runs')
    op.drop_index('ix_retention_plan_items_run_id', 'retention_plan_items')
    op.drop_table('retention_plan_items')
    op.drop_index('ix_run_files_run_id', 'run_files')
    op.drop_table('run_files')
