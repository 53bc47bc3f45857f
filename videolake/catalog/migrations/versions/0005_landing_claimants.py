"""landing claimants: which process holds a claim, so a dead one's files are taken back at once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('landing_files') as batch:
        batch.add_column(sa.Column('claimed_by', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('landing_files') as batch:
        batch.drop_column('claimed_by')
