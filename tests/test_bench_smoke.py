"""The benchmark runs end to end in its quick form and prints its headline figures.

Only behaviour is checked: timings depend on the machine, and the figures
themselves are recorded in bench/README.md.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.servers

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"
HEADLINE_KEYS = {"drain_ratio", "parse_ratio", "latency_p50_ms", "latency_p95_ms", "peak_rss_mb",
                 "send_ratio"}
# The quick run takes about 50 s on 2 cores; the limit only stops a hung run.
RUN_TIMEOUT_SECONDS = 300


def test_quick_run_prints_headline_json():
    result = subprocess.run([sys.executable, str(RUN), "--quick", "--json"], capture_output=True,
                            text=True, timeout=RUN_TIMEOUT_SECONDS)

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("mailtriage benchmark, N = 200")
    figures = json.loads(lines[-1])
    assert set(figures) == HEADLINE_KEYS
    for key in sorted(HEADLINE_KEYS):
        assert figures[key] > 0, key
