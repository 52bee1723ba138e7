"""Editing a post: limited like posting, and who may edit an official answer."""

from tests.factories import make_thread

EDITS_PER_HOUR = 30


def test_a_member_edits_at_most_30_times_an_hour(client, login_as):
    member = login_as("member")
    post_id = make_thread(author=member).last_post_id
    codes = [client.form(f"/posts/{post_id}/edit", {"title": "Un titre", "body": f"Version {n}"})
             .status_code for n in range(EDITS_PER_HOUR + 1)]
    assert codes == [302] * EDITS_PER_HOUR + [429]
    assert client.get(f"/posts/{post_id}/edit").status_code == 200  # reading is not limited


def test_staff_edits_are_not_limited(client, login_as):
    moderator = login_as("moderator")
    post_id = make_thread(author=moderator).last_post_id
    codes = {client.form(f"/posts/{post_id}/edit", {"title": "Un titre", "body": f"V{n}"})
             .status_code for n in range(EDITS_PER_HOUR + 1)}
    assert codes == {302}
