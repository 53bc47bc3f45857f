"""exports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:50:12.598869
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _video_inputs()
    op.create_table('exports',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cameras', sa.JSON(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ttl_seconds', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('backend', sa.Text(), nullable=True),
    sa.Column('manifest_key', sa.Text(), nullable=True),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=True),
    sa.Column('gaps', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index('ix_exports_status', ['status'], unique=False)

    op.create_table('export_outputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('export_id', sa.String(length=40), nullable=False),
    sa.Column('camera_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('covered_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('covered_end', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('export_outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_outputs_export_id'), ['export_id'], unique=False)



def _video_inputs() -> None:
    op.create_table('video_inputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('input_video_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['input_video_id'], ['videos.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('video_id', 'position', name='uq_video_inputs_position')
    )
    with op.batch_alter_table('video_inputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_inputs_input_video_id'), ['input_video_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_inputs_video_id'), ['video_id'], unique=False)


def downgrade() -> None:
    op.drop_table('video_inputs')
    with op.batch_alter_table('export_outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_outputs_export_id'))

    op.drop_table('export_outputs')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index('ix_exports_status')

    op.drop_table('exports')
