"""legal holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=True),
    sa.Column('camera_id', sa.String(length=200), nullable=True),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index('ix_holds_camera_range', ['camera_id', 'start_at', 'end_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_video_id'), ['video_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_released_at'), ['released_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_released_at'))
        batch_op.drop_index(batch_op.f('ix_holds_video_id'))
        batch_op.drop_index('ix_holds_camera_range')
    op.drop_table('holds')
