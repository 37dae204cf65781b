"""proposals: community, support count and search terms kept on the row, indexed for every list order

Revision ID: 22dc3ae6438c
Revises: b555aa484bd8
Create Date: 2026-12-03 06:07:59.874227

"""
from alembic import op
import sqlalchemy as sa

from participation.search import sqlite_triggers, terms


# revision identifiers, used by Alembic.
revision = '22dc3ae6438c'
down_revision = 'b555aa484bd8'
branch_labels = None
depends_on = None


INDEXES = {
    'ix_proposal_list_new': ['community_id', 'submitted_at', 'id', 'status'],
    'ix_proposal_list_supported': ['community_id', 'support_count', 'id', 'status'],
    'ix_proposal_list_status_new': ['community_id', 'status', 'submitted_at', 'id'],
    'ix_proposal_list_status_supported': ['community_id', 'status', 'support_count', 'id'],
    'ix_proposal_list_category_new': ['community_id', 'category', 'submitted_at', 'id', 'status'],
    'ix_proposal_list_category_supported': ['community_id', 'category', 'support_count', 'id',
                                            'status'],
}

# The support count follows every support added or removed, whoever removes it (a merge, an
# account deleted, a proposal's consultation deleted).
SQLITE_TRIGGERS = [
    """CREATE TRIGGER support_counted AFTER INSERT ON support BEGIN
         UPDATE proposal SET support_count = support_count + 1 WHERE id = NEW.proposal_id; END""",
    """CREATE TRIGGER support_uncounted AFTER DELETE ON support BEGIN
         UPDATE proposal SET support_count = support_count - 1 WHERE id = OLD.proposal_id; END""",
    # The full-text index of the proposals' search terms (participation/search.py).
    "CREATE VIRTUAL TABLE proposal_fts USING fts5(search_terms, content='proposal', "
    "content_rowid='id')",
    *sqlite_triggers("proposal", "proposal_fts"),
    "INSERT INTO proposal_fts(proposal_fts) VALUES ('rebuild')",
]
POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION support_count_follows() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'INSERT' THEN
           UPDATE proposal SET support_count = support_count + 1 WHERE id = NEW.proposal_id;
         ELSE
           UPDATE proposal SET support_count = support_count - 1 WHERE id = OLD.proposal_id;
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER support_counted AFTER INSERT OR DELETE ON support
       FOR EACH ROW EXECUTE FUNCTION support_count_follows()""",
    # The expression is the one participation/search.py queries with, so the index serves it.
    "CREATE INDEX ix_proposal_search ON proposal USING gin (to_tsvector('simple', search_terms))",
]


def upgrade():
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('support_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('search_terms', sa.Text(), server_default='', nullable=False))

    op.execute("UPDATE proposal SET community_id = (SELECT community_id FROM consultation "
               "WHERE consultation.id = proposal.consultation_id), "
               "support_count = (SELECT count(*) FROM support WHERE proposal_id = proposal.id)")
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, title, site, description FROM proposal"))
    updates = [{"id": id_, "terms": terms(title, site, description)}
               for id_, title, site, description in rows]
    if updates:
        connection.execute(sa.text("UPDATE proposal SET search_terms = :terms WHERE id = :id"),
                           updates)

    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.alter_column('community_id', existing_type=sa.Integer(), nullable=False)
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_proposal_community_id_community'), 'community', ['community_id'], ['id'], ondelete='CASCADE')

    for statement in (POSTGRESQL_TRIGGERS if connection.dialect.name == 'postgresql'
                      else SQLITE_TRIGGERS):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_proposal_search")
        op.execute("DROP TRIGGER support_counted ON support")
        op.execute("DROP FUNCTION support_count_follows()")
    else:
        for trigger in ('support_counted', 'support_uncounted', 'proposal_fts_added',
                        'proposal_fts_removed', 'proposal_fts_changed'):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE proposal_fts")
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_proposal_community_id_community'), type_='foreignkey')
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column('search_terms')
        batch_op.drop_column('support_count')
        batch_op.drop_column('community_id')
