"""Members as the forum shows them: their profile's address (the profile pages build on it)."""

from board.accounts.models import User
from board.forum.services import slugify


def profile_path(user: User) -> str:
    """`/members/<id>-<slug>`: the id finds the member, the slug only reads well (a renamed
    member's old links still find them)."""
    return f"/members/{user.id}-{slugify(user.name, 'membre')}"
