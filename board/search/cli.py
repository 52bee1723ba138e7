"""`flask search reindex`."""

import click

from board.search import services


@click.group("search", help="The full-text search index.")
def search():
    pass


@search.command("reindex")
def reindex_command():
    """Rebuild the index from every thread, post, incident, update and list message."""
    count = services.reindex()
    click.echo(f"indexed {count} entries")
