"""travaux: postmortems with their action items; "is it fixed for you?" answers and alerts

Revision ID: 1116677d5745
Revises: bb4a39e175b5
Create Date: 2026-12-01 19:07:56.122443

"""
from alembic import op
import sqlalchemy as sa

import board.types


# revision identifiers, used by Alembic.
revision = '1116677d5745'
down_revision = 'bb4a39e175b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('postmortem_opt_outs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_postmortem_opt_outs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_postmortem_opt_outs'))
    )
    op.create_table('fixed_alerts',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('no_count', sa.Integer(), nullable=False),
    sa.Column('dismissed_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_fixed_alerts_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_fixed_alerts'))
    )
    op.create_table('fixed_answers',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('fixed', sa.Boolean(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_fixed_answers_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_fixed_answers_thread_id_threads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fixed_answers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', 'user_id', name=op.f('pk_fixed_answers'))
    )
    with op.batch_alter_table('fixed_answers', schema=None) as batch_op:
        batch_op.create_index('ix_fixed_answers_recent', ['incident_id', 'fixed', 'answered_at'], unique=False)

    op.create_table('postmortems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('body_source', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('saved_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', board.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_postmortems_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_postmortems_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_postmortems_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortems')),
    sa.UniqueConstraint('incident_id', name=op.f('uq_postmortems_incident_id'))
    )
    op.create_table('postmortem_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('postmortem_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['postmortem_id'], ['postmortems.id'], name=op.f('fk_postmortem_actions_postmortem_id_postmortems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortem_actions'))
    )
    with op.batch_alter_table('postmortem_actions', schema=None) as batch_op:
        batch_op.create_index('ix_postmortem_actions_postmortem', ['postmortem_id', 'id'], unique=False)

    op.create_table('postmortem_action_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('changed_at', board.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['postmortem_actions.id'], name=op.f('fk_postmortem_action_changes_action_id_postmortem_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortem_action_changes'))
    )
    with op.batch_alter_table('postmortem_action_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortem_action_changes_action_id'), ['action_id'], unique=False)



def downgrade():
    with op.batch_alter_table('postmortem_action_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortem_action_changes_action_id'), ['action_id'], unique=False)

def downgrade():
    with op.batch_alter_table('postmortem_action_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postmortem_action_changes_action_id'))

    op.drop_table('postmortem_action_changes')
    with op.batch_alter_table('postmortem_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_postmortem_actions_postmortem')

    op.drop_table('postmortem_actions')
    op.drop_table('postmortems')
    with op.batch_alter_table('fixed_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_fixed_answers_recent')

    op.drop_table('fixed_answers')
    op.drop_table('fixed_alerts')
    op.drop_table('postmortem_opt_outs')
