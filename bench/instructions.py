"""Instructions per request of our pages, counted by valgrind: the same figure at every run,
where timings on this shared machine move by half from one minute to the next. For comparing
two versions of the code, not for the issue's goals (those are `make bench`'s ratios).

    .venv/bin/python bench/instructions.py / /boards/hebergement-web      # on a seeded database

Needs valgrind, and DATABASE_URL (and BOARD_INSTANCE_PATH) of a database that
`flask bench seed --threads 2000 --posts-per-thread 10` filled. Guests' pages, the guest cache
off (GUEST_CACHE=off), through Flask's test client: each figure is (the instructions of a run
that makes the page REQUESTS times) minus (those of a run that makes it none), over REQUESTS.
A page takes about a minute at REQUESTS=100.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("REQUESTS", "100"))

# The child: the application, warmed up on the page and the index, then REQUESTS requests.
CHILD = """
import sys
from board import create_app
client = create_app().test_client()
path, count = sys.argv[1], int(sys.argv[2])
for _ in range(10):
    client.get(path)
    client.get("/")
for _ in range(count):
    assert client.get(path).status_code == 200, path
"""


def instructions(path: str, count: int) -> int:
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", CHILD, path, str(count)],
        env={**os.environ, "GUEST_CACHE": "off"}, cwd=ROOT, capture_output=True, text=True,
        check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def main(paths: list[str]) -> None:
    for path in paths or ["/"]:
        per_request = (instructions(path, REQUESTS) - instructions(path, 0)) / REQUESTS
        print(f"{path}: {per_request / 1e6:.1f} M instructions per request")


if __name__ == "__main__":
    main(sys.argv[1:])
