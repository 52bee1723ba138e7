"""`flask users ...`: manage accounts from the command line."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from board.accounts import services
from board.accounts.forms import NAME_ERRORS
from board.accounts.models import ROLES
from board.extensions import db

users = AppGroup("users", help="Manage user accounts.")


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
def create(email: str, name: str, password: str, role: str):
    """Create a confirmed user, non-interactively."""
    if services.find_by_email(email) is not None:
        raise click.ClickException(f"a user with the email {email} already exists")
    problem = services.name_problem(name)
    if problem:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            raise click.ClickException(f"{name!r}: {NAME_ERRORS[problem]}")
    if len(password) < 10:
        raise click.ClickException("the password needs at least 10 characters")
    user = services.add_user(email, name, password, role=role, confirmed=True)
    services.record(None, "user.create", "user", user.id, role=role, via="cli")
    db.session.commit()
    click.echo(f"created {role} {user.name} <{user.email}> (id {user.id})")


@users.command("token")
@click.option("--email", required=True)
@click.option("--name", default="", help="What the token is for, e.g. monitoring.")
def token(email: str, name: str):
    """Print a new API token for an admin (shown once, stored hashed)."""
    user = services.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with the email {email}")
    if not user.is_admin:
        raise click.ClickException("API tokens are for admins only")
    click.echo(services.create_token(user, name))


@users.command("revoke-tokens")
@click.option("--email", required=True)
def revoke_tokens(email: str):
    """Revoke every API token of a user (a leaked token stops working at once)."""
    user = services.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with the email {email}")
    click.echo(f"revoked {services.revoke_tokens(user)} token(s) of {user.email}")

