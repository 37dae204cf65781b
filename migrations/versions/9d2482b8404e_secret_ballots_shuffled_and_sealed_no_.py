"""secret ballots: shuffled and sealed, no channel on secret papers

Revision ID: 9d2482b8404e
Revises: 4a0a23de14a1
Create Date: 2026-12-01 22:48:05.897707

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d2482b8404e'
down_revision = '4a0a23de14a1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shuffled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sealed_at', sa.DateTime(), nullable=True))

    # A secret paper no longer says how it came in (a lone paper voter's choice would show).
    # On SQLite the table is rebuilt; it stays WITHOUT ROWID (no insertion order in a rowid).
    with op.batch_alter_table('ballot_paper', schema=None,
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.VARCHAR(length=8), nullable=True)
    op.execute("UPDATE ballot_paper SET channel = NULL WHERE secret")
    with op.batch_alter_table('ballot_paper', schema=None,
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.create_check_constraint(
            'channel_only_when_open',
            '(secret AND channel IS NULL) OR (NOT secret AND channel IS NOT NULL)')


def downgrade():
    with op.batch_alter_table('ballot_paper', schema=None,
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_paper_channel_only_when_open'), type_='check')
    op.execute("UPDATE ballot_paper SET channel = 'online' WHERE channel IS NULL")
    with op.batch_alter_table('ballot_paper', schema=None,
                              table_kwargs={'sqlite_with_rowid': False}) as batch_op:
        batch_op.alter_column('channel', existing_type=sa.VARCHAR(length=8), nullable=False)

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_column('sealed_at')
        batch_op.drop_column('shuffled_at')
