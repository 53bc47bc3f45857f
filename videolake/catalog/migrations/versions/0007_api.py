"""the HTTP API: API keys (hashes only), uploads (state of each, resumable ones' offsets), video aliases

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('scope', sa.String(16), nullable=False),
        sa.Column('key_sha256', sa.String(64), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(200), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'uploads',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('protocol', sa.String(16), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('length', sa.BigInteger(), nullable=True),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=True),
        sa.Column('meta', sa.JSON(), nullable=True),
        sa.Column('alias', sa.String(200), nullable=True),
        sa.Column('source', sa.String(200), nullable=True),
        sa.Column('link_hours', sa.Float(), nullable=True),
        sa.Column('spool_key', sa.Text(), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(16), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('api_key_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_uploads_state', 'uploads', ['state'])
    op.create_index('ix_uploads_expires_at', 'uploads', ['expires_at'])
    op.create_table(
        'video_aliases',
        sa.Column('alias', sa.String(200), primary_key=True),
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_video_aliases_video_id', 'video_aliases', ['video_id'])
    # The API's list filters: newest first, by source type and codec.
    op.create_index('ix_videos_ingested_at', 'videos', ['ingested_at'])


def downgrade() -> None:
    op.drop_index('ix_videos_ingested_at', 'videos')
    op.drop_index('ix_video_aliases_video_id', 'video_aliases')
    op.drop_table('video_aliases')
    op.drop_index('ix_uploads_expires_at', 'uploads')
    op.drop_index('ix_uploads_state', 'uploads')
    op.drop_table('uploads')
    op.drop_table('api_keys')
