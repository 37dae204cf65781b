"""plan tracking: each update keeps its own cancellation reason; projects show its date

Revision ID: 3b7c1d2e4f60
Revises: ef0f9294a45e
Create Date: 2026-12-04 15:20:00

A cancelled update carries the reason it was cancelled, so the history keeps it after later
updates. A project shows the date of its newest update (the day things stood so), not the
moment somebody typed it in.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7c1d2e4f60'
down_revision = 'ef0f9294a45e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan_project_update', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), server_default='',
                                      nullable=False))
    # Updates recorded before: a cancelled one takes its project's reason where it has one.
    op.execute("UPDATE plan_project_update SET cancel_reason = COALESCE(NULLIF(("
               "SELECT p.cancel_reason FROM plan_project p "
               "WHERE p.id = plan_project_update.project_id), ''), '-') "
               "WHERE status = 'cancelled'")
    with op.batch_alter_table('plan_project_update', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_plan_project_update_cancel_reasoned'),
                                         "status <> 'cancelled' OR cancel_reason <> ''")
    with op.batch_alter_table('plan_project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_on', sa.Date(), nullable=True))
    op.execute("UPDATE plan_project SET updated_on = (SELECT max(u.\"on\") FROM "
               "plan_project_update u WHERE u.project_id = plan_project.id)")
    with op.batch_alter_table('plan_project', schema=None) as batch_op:
        batch_op.drop_column('updated_at')


def downgrade():
    with op.batch_alter_table('plan_project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.drop_column('updated_on')
    with op.batch_alter_table('plan_project_update', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_plan_project_update_cancel_reasoned'),
                                 type_='check')
        batch_op.drop_column('cancel_reason')
