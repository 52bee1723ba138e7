"""Operations commands: `flask backup DIR`, `flask reconcile-outbox`, `flask doctor`."""

import click
from flask import current_app
from flask.cli import with_appcontext

from board.ops.backup import BackupError, make_backup
from board.ops.journal import journal_path, mail_message_id, reconcile
from board.ops.workers import expected_web_workers


@click.command("backup")
@with_appcontext
@click.argument("directory", type=click.Path(file_okay=False))
def backup(directory: str):
    """Back the database up into DIRECTORY (safe while the site runs), with a manifest."""
    try:
        made = make_backup(directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    facts = made.facts
    click.echo(f"backup written: {made.file} ({made.file.stat().st_size} bytes, "
               f"{facts['database']}" + (", integrity ok" if facts["database"] == "sqlite"
                                         else "") + ")")
    click.echo(f"manifest written: {made.manifest} (revision {facts['alembic_revision']}, "
               f"outbox up to #{facts['outbox_last_id']}, "
               f"{len(facts['outbox_pending'])} pending)")


@click.command("reconcile-outbox")
@with_appcontext
@click.argument("journals", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def reconcile_outbox(journals: tuple[str, ...]):
    """After a restore: mark as sent what the delivery JOURNALS say already went out
    (default: OUTBOX_JOURNAL; give every worker host's journal). Run it before the worker."""
    paths = list(journals)
    if not paths:
        default = journal_path(current_app)
        if default is None or not default.is_file():
            raise click.ClickException(f"no journal at {default}: name the journal files "
                                       "(OUTBOX_JOURNAL of every host that ran a worker)")
        paths = [str(default)]
    result = reconcile(paths)
    for row in result.marked:
        label = mail_message_id(row) or row.kind
        click.echo(f"marked sent: #{row.id} {label} (delivered {row.sent_at:%Y-%m-%d %H:%M} UTC)")
    if result.unreadable:
        click.echo(f"warning: {result.unreadable} unreadable journal lines skipped", err=True)
    click.echo(f"{len(result.marked)} rows already delivered marked sent; "
               f"{result.pending} pending rows will be delivered by the worker")


@click.command("doctor")
@with_appcontext
@click.option("--workers", type=click.IntRange(min=1),
              help="Web workers you run (default: from GUNICORN_CMD_ARGS or WEB_CONCURRENCY).")
def doctor(workers: int | None):
    """Check this deployment: database, secrets, cookies, mail, Redis, proxies, export,
    outbox. Exits with 1 when anything is an ERROR."""
    from board.ops.doctor import ERROR, run_checks  # Alembic: for this command only

    findings = run_checks(workers or expected_web_workers())
    for finding in findings:
        click.echo(f"{finding.level:<7} {finding.check}: {finding.message}")
        for detail in finding.details:
            click.echo(f"          {detail}")
    errors = sum(finding.level == ERROR for finding in findings)
    if errors:
        click.echo(f"{errors} error(s): fix them before serving.")
        raise SystemExit(1)
