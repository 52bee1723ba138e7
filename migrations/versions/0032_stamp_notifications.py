"""pagecache: PostgreSQL announces every change to what guests' page stamps read

Each statement that writes boards, threads, incidents or site_stamps notifies the channel
board_stamps, at its commit: the processes that keep guests' stamps between two changes
(board/stampmemo.py) drop them. SQLite has no such memo, and nothing here.

Revision ID: 7c4f2a9d1e63
Revises: e8fcc1d07928
Create Date: 2026-12-02 14:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c4f2a9d1e63'
down_revision = 'e8fcc1d07928'
branch_labels = None
depends_on = None

TABLES = ('boards', 'threads', 'incidents', 'site_stamps')


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    # One notification per statement; the server folds equal ones of a transaction into one.
    op.execute("""
        CREATE FUNCTION board_stamps_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('board_stamps', '');
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.execute(f"""
            CREATE TRIGGER {table}_stamps_notify
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION board_stamps_notify()""")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_stamps_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS board_stamps_notify()")
