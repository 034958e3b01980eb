"""Peak memory of the daemon draining a backlog with large attachments.

The drain runs as `mailtriage poll --once` in its own process, which
reports its own peak resident set size (bench/peakrss.py), so this
benchmark's memory is not counted.
"""

import re
import subprocess
import sys
from pathlib import Path

from benchsite import backlog, seed_mailbox

# A phone photo of the oximeter as patients attach it: 4 MiB, about 5.4 MiB
# once base64-encoded.
PHOTO_BYTES = 4 * 1024 * 1024
# Photos in the backlog, spread evenly through it.
PHOTO_COUNT = 40
QUICK_PHOTO_COUNT = 10
# Messages above the default 10 MiB limit, read as headers only.
OVERSIZE_COUNT = 2
OVERSIZE_PHOTO_BYTES = 12 * 1024 * 1024


def measure(site, user, patients, quick: bool) -> dict:
    """Seed ``user``'s mailbox with one reply per patient, drain it in a child process; return MiB."""
    photos = QUICK_PHOTO_COUNT if quick else PHOTO_COUNT
    messages = backlog(patients, seed=11, photo_every=max(len(patients) // photos, 1),
                       photo_bytes=PHOTO_BYTES)
    messages += backlog(patients[:OVERSIZE_COUNT], seed=13, photo_every=1,
                        photo_bytes=OVERSIZE_PHOTO_BYTES)
    seed_mailbox(site.dovecot, user, messages)
    backlog_mib = sum(len(raw) for raw in messages) / 2**20
    del messages

    config_path = site.write_config(user, name="memory")
    child = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("peakrss.py")), "--config", str(config_path),
         "poll", "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = re.search(r"^peak_rss_kib=(\d+)$", child.stderr, re.MULTILINE)
    if child.returncode != 0 or peak is None:
        raise RuntimeError(f"poll --once failed: {child.stderr[-2000:]}")

    return {"peak_rss_mb": int(peak.group(1)) / 1024, "backlog_mb": backlog_mib,
            "messages": len(patients) + OVERSIZE_COUNT}
