"""Real concurrency for tests: work run in several threads at once, each with its own app
context (so its own database session and connection), released together by a barrier."""

import threading


def run_together(app, count: int, work, timeout: float = 120) -> list:
    """Run `work(n)` for n in range(count), all at once; return their results in order.
    Fails the test if a thread raised or did not finish within `timeout` seconds."""
    start = threading.Barrier(count)
    results: list = [None] * count
    errors = []

    def run(n):
        try:
            with app.app_context():
                start.wait(timeout=10)
                results[n] = work(n)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    assert not any(worker.is_alive() for worker in workers), "a thread did not finish"
    assert errors == [], [repr(e) for e in errors]
    return results
