"""URL imports: one row per URL to fetch before its deadline (state, attempts, last error, video)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'imports',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('source', sa.String(200), nullable=True),
        sa.Column('meta', sa.JSON(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('bytes_fetched', sa.BigInteger(), nullable=False),
        sa.Column('failure', sa.String(32), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('final_url', sa.Text(), nullable=True),
        sa.Column('sha256', sa.String(64), nullable=True),
        sa.Column('video_id', sa.Integer(), nullable=True),
        sa.Column('run_id', sa.String(64), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_imports_state_deadline', 'imports', ['state', 'deadline'])


def downgrade() -> None:
    op.drop_index('ix_imports_state_deadline', table_name='imports')
    op.drop_table('imports')
