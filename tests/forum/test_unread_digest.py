"""The watch digest leaves out what the member already read in the site, and is not sent when
they read it all (through the outbox and a real SMTP server on loopback)."""

from board.forum import services as forum
from tests.forum import test_watching as watching
from tests.forum.test_watching import after_the_window, mails_to, text_of

# The watching tests' fixtures: the SMTP server, the clock, the digest window, the people.
_smtp_server, smtp_server, clock = watching._smtp_server, watching.smtp_server, watching.clock
digest_window, people = watching.digest_window, watching.people


def test_replies_read_in_the_site_are_left_out(client, smtp_server, clock, people):
    thread, author, bea, carl = people
    forum.reply(thread, bea, "Chez moi aussi, depuis ce matin.")
    client.login(author.email)
    client.get(f"/threads/{thread.id}/{thread.slug}")  # Alice reads Béa's reply
    forum.reply(thread, carl, "Pareil à Lyon.")
    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    text = text_of(mail)
    assert "Pareil à Lyon." in text
    assert "Chez moi aussi" not in text


def test_nothing_is_sent_when_everything_was_read(client, smtp_server, clock, people):
    thread, author, bea, carl = people
    forum.reply(thread, bea, "Chez moi aussi.")
    forum.reply(thread, carl, "Pareil.")
    client.login(author.email)
    client.get(f"/threads/{thread.id}/{thread.slug}")
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []


def test_mark_all_read_counts_as_read_for_the_digest(client, smtp_server, clock, people):
    thread, author, bea, carl = people
    forum.reply(thread, bea, "Chez moi aussi.")
    client.login(author.email)
    client.form("/read")
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []
