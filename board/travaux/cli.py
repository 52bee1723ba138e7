"""`flask travaux ...`: the independent status site."""

import click
from flask.cli import AppGroup

from board.travaux.export import ExportError, export

travaux = AppGroup("travaux", help="Travaux: the independent status site.")


@travaux.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
def export_command(directory: str):
    """Write the static status site into DIRECTORY (swapped in atomically)."""
    try:
        counts = export(directory)
    except ExportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"exported {counts['pages']} pages ({counts['incidents']} operations) "
               f"to {directory} in {counts['seconds']} s")

