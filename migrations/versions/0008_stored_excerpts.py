"""posts and incident updates keep a plain-text excerpt

Revision ID: 7db674a23518
Revises: cde0b2974e0b
Create Date: 2026-12-01 11:10:00

Digest mails, the Travaux banner and the embed rendered each post's Markdown again to show a
preview. The preview is now stored when the text is written (board.markup.excerpt); the rows
already there get it here, from their stored HTML.
"""
import html
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7db674a23518'
down_revision = 'cde0b2974e0b'
branch_labels = None
depends_on = None

TABLES = ('posts', 'incident_updates')
# board.markup.excerpt as of this revision, frozen here: the migration must not change with it.
_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
LENGTH = 240


def _excerpt(body_html):
    text = " ".join(html.unescape(_TAG.sub("", body_html or "")).split())
    return text if len(text) <= LENGTH else text[: LENGTH - 1].rstrip() + "…"


def upgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('excerpt', sa.Text(), nullable=False, server_default=''))
    conn = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column('id', sa.Integer), sa.column('body_html', sa.Text),
                         sa.column('excerpt', sa.Text))
        last = 0
        while True:  # in batches of a thousand rows, so that memory stays flat
            rows = conn.execute(sa.select(table.c.id, table.c.body_html)
                                .where(table.c.id > last).order_by(table.c.id).limit(1000)).all()
            if not rows:
                break
            conn.execute(table.update().where(table.c.id == sa.bindparam('row_id'))
                         .values(excerpt=sa.bindparam('text')),
                         [{'row_id': row.id, 'text': _excerpt(row.body_html)} for row in rows])
            last = rows[-1].id


def downgrade():
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column('excerpt')
