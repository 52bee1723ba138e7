"""Reading a board's listing as a member sees it, for the tests of its rows."""

import re


def row_of(html: str, title: str) -> str:
    """The listing's row of the thread called `title`."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S):
        if f">{title}</a>" in row:
            return row
    raise AssertionError(f"no row for {title!r}")


def board_html(client, board) -> str:
    response = client.get(f"/boards/{board.slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)
