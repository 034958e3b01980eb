"""Run one mailtriage command, then print this process's peak resident set size.

Usage: python bench/peakrss.py --config FILE poll --once

The last line on stderr is ``peak_rss_kib=N``, read from VmHWM in
/proc/self/status. The kernel's ru_maxrss is not used: on Linux it carries
the parent's peak across fork and exec, so a child of a large benchmark
process would report the parent's memory.
"""

import re
import sys

from mailtriage.cli import main


def peak_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE).group(1))


if __name__ == "__main__":
    sys.argv = ["mailtriage", *sys.argv[1:]]
    try:
        main()
    finally:
        print(f"peak_rss_kib={peak_rss_kib()}", file=sys.stderr, flush=True)
