"""recording segments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:39:53.596220
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=200), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('recording_date', sa.Date(), nullable=False),
    sa.Column('time_source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('camera_id', 'start_at', 'video_id', name='uq_segments_camera_start_video')
    )
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.create_index('ix_segments_camera_start', ['camera_id', 'start_at'], unique=False)
        batch_op.create_index('ix_segments_camera_duration', ['camera_id', 'duration_s'], unique=False)
        batch_op.create_index('ix_segments_recording_date', ['recording_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_segments_video_id'), ['video_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segments_video_id'))
        batch_op.drop_index('ix_segments_recording_date')
        batch_op.drop_index('ix_segments_camera_duration')
        batch_op.drop_index('ix_segments_camera_start')

    op.drop_table('segments')
