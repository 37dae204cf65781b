"""proposals: the site of the inventory a proposal is about

Revision ID: 11e64c63fd50
Revises: 9104cf251657
Create Date: 2026-12-03 07:40:42.477360

"""
from alembic import op
import sqlalchemy as sa

from participation.search import sqlite_triggers


# revision identifiers, used by Alembic.
revision = '11e64c63fd50'
down_revision = '9104cf251657'
branch_labels = None
depends_on = None


# SQLite's batch mode rebuilds `proposal`: the triggers that name it (its full-text index, the
# support counts of migration 22dc3ae6438c) are dropped first and made again after.
TRIGGERS = ("proposal_fts_added", "proposal_fts_removed", "proposal_fts_changed",
            "support_counted", "support_uncounted")
SUPPORT_TRIGGERS = [
    """CREATE TRIGGER support_counted AFTER INSERT ON support BEGIN
         UPDATE proposal SET support_count = support_count + 1 WHERE id = NEW.proposal_id; END""",
    """CREATE TRIGGER support_uncounted AFTER DELETE ON support BEGIN
         UPDATE proposal SET support_count = support_count - 1 WHERE id = OLD.proposal_id; END""",
]


def upgrade():
    _drop_triggers()
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_proposal_site_id'), ['site_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_proposal_site_id_site'), 'site', ['site_id'], ['id'], ondelete='SET NULL')
    _create_triggers()


def downgrade():
    _drop_triggers()
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_proposal_site_id_site'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_proposal_site_id'))
        batch_op.drop_column('site_id')
    _create_triggers()


def _drop_triggers():
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def _create_triggers():
    if op.get_bind().dialect.name == 'sqlite':
        for statement in [*sqlite_triggers("proposal", "proposal_fts"), *SUPPORT_TRIGGERS]:
            op.execute(statement)
