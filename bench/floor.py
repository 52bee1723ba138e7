"""The memory floor `make bench` prints beside the worker RSS: Flask with the extensions the
board is built on (DEVELOPERS' "Dependencies": Flask-SQLAlchemy and the database's driver,
Flask-Babel, Flask-WTF's CSRF, Flask-Limiter, Flask-Login, feedgen) and nothing of ours, on
the bench's own database: one model, a page of ten posts with a translated string and dates
formatted by Babel, and an RSS feed of them. What a worker holds beyond this figure is the
board's own code, models, templates and data; what it holds up to it, no code of ours can
take back. Flask-Migrate is left out, as the board's workers leave it (board/extensions.py).
"""

import os
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator
from flask import Flask, render_template_string
from flask_babel import Babel, format_datetime, gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Text, select
from sqlalchemy.orm import Mapped, mapped_column

app = Flask(__name__)
app.config.update(SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
                  SECRET_KEY=os.environ.get("SECRET_KEY", "floor"))
db = SQLAlchemy(app)
Babel(app, locale_selector=lambda: "fr", timezone_selector=lambda: "Europe/Paris")
CSRFProtect(app)
Limiter(get_remote_address, app=app, default_limits=["100000 per minute"])
login_manager = LoginManager(app)
login_manager.user_loader(lambda _user_id: None)  # every visitor a guest, as the bench's

PAGE = """<!doctype html><title>{{ title }}</title>{% for post in posts %}
<article><p>{{ when }}</p>{{ post.body_html|safe }}</article>{% endfor %}"""


class Post(db.Model):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    body_html: Mapped[str] = mapped_column(Text)


def _posts() -> list[Post]:
    return list(db.session.scalars(select(Post).order_by(Post.id.desc()).limit(10)))


@app.get("/")
def page():
    return render_template_string(PAGE, title=gettext("Travaux"), posts=_posts(),
                                  when=format_datetime(datetime.now(UTC), "long"))


@app.get("/feed.rss")
def feed():
    out = FeedGenerator()
    out.title("Floor")
    out.link(href="http://127.0.0.1/")
    out.description("The bench's memory floor")
    for post in _posts():
        entry = out.add_entry()
        entry.id(f"post-{post.id}")
        entry.title(f"Post {post.id}")
        entry.description(post.body_html)
        entry.pubDate(datetime.now(UTC))
    return out.rss_str(), {"Content-Type": "application/rss+xml"}
