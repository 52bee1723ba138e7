"""`make bench`'s harness in its quick mode (seconds, tiny data), so that it does not rot.

The figures it prints mean nothing at this size; the test checks that every row of both
tables is there and that the run succeeds end to end (seed, the gunicorn servers, the load,
the latencies, the memory floor)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not shutil.which("gunicorn") and not (Path(sys.executable).parent
                                                          / "gunicorn").exists(),
                    reason="gunicorn is not installed")
def test_the_bench_harness_runs_end_to_end_in_quick_mode(tmp_path):
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_NO_WRK": "1",
           "BENCH_JSON": str(tmp_path / "bench.json")}
    env.pop("BENCH_DB", None)
    result = subprocess.run([sys.executable, "bench/run.py"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for row in ("thread, 10 posts", "board page 1", "index", "/travaux/", "/feed.rss",
                "board feed", "feed answered 304", "worker RSS", "floor (bench/floor.py",
                "deepest board page"):
        assert row in result.stdout, row
    figures = json.loads((tmp_path / "bench.json").read_text())
    assert all(value > 0 for values in figures["ratios"].values() for value in values)
    assert figures["rss"] and all(size > 10 for size in figures["rss"])
    # The floor is a Flask app too, and lighter than ours: it has none of our code.
    assert figures["floor_rss"] and all(10 < size < min(figures["rss"])
                                        for size in figures["floor_rss"])
    assert set(figures["small"]) == set(figures["big"])
