"""How many web processes serve the application, as far as the environment tells.

Rate limits live in memory unless REDIS_URL is set; then each process counts on its own and
with N processes a visitor gets N times the allowance. Gunicorn takes its worker count from
its command line, then GUNICORN_CMD_ARGS, then WEB_CONCURRENCY; we read the same places (the
command line only when running inside gunicorn), so `flask doctor` and the start-up warning
agree with what gunicorn will do.
"""

import logging
import os
import shlex
import sys

log = logging.getLogger("board.ops")


def expected_web_workers(environ=None, argv=None) -> int:
    """The number of web workers gunicorn will start (1 when nothing says)."""
    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    for source in (argv[1:] if argv and "gunicorn" in os.path.basename(argv[0]) else [],
                   shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))):
        count = _workers_option(source)
        if count is not None:
            return count
    return _positive(environ.get("WEB_CONCURRENCY")) or 1


def _workers_option(args: list[str]) -> int | None:
    """The last `-w N`, `-wN`, `--workers N` or `--workers=N` of a gunicorn command line."""
    found = None
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else None
        if arg in ("-w", "--workers"):
            found = _positive(following) or found
        elif arg.startswith("--workers="):
            found = _positive(arg.partition("=")[2]) or found
        elif arg.startswith("-w") and not arg.startswith("--"):
            found = _positive(arg[2:]) or found
    return found


def _positive(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def shares_rate_limits(app) -> bool:
    """True when rate limits are counted in a store every process shares (not memory)."""
    return not app.config.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory")


def warn_unshared_rate_limits(app) -> None:
    """At start-up: a WARNING when several web workers will count rate limits apart."""
    workers = expected_web_workers()
    if workers > 1 and not shares_rate_limits(app):
        log.warning("%s web workers expected (WEB_CONCURRENCY / gunicorn --workers) but "
                    "REDIS_URL is not set: each process counts rate limits on its own, so "
                    "every limit is %s times looser. Set REDIS_URL.", workers, workers)
