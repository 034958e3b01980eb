"""Sum a cProfile file's own time (tottime) by package, to see where the drain's CPU goes.

Usage: .venv/bin/python bench/profile_summary.py FILE [--top N]

FILE is written by `bench/run.py --profile FILE`. Functions are grouped by
the package their file belongs to (peewee, email, mailtriage, ...), and
the standard library's modules and the built-in functions by module name.
"""

import argparse
import collections
import pstats
import re

# The package name inside a site-packages path, else a standard library path.
INSTALLED = re.compile(r"site-packages/([A-Za-z0-9_]+)")
STANDARD = re.compile(r"python3\.\d+/([A-Za-z0-9_]+)")
# The class of a built-in method, as cProfile names it: <method 'execute' of 'sqlite3.Cursor' objects>.
BUILT_IN_METHOD = re.compile(r"of '([^']+)' objects")


def group_of(filename: str, function: str) -> str:
    if filename == "~":
        # Built-ins: C functions such as socket.recv_into or sqlite3 execute.
        method = BUILT_IN_METHOD.search(function)
        return f"built-in {method.group(1) if method else function.split()[-1].strip('<>')}"
    if "/mailtriage/" in filename:
        return "mailtriage." + filename.rsplit("/", 1)[-1].removesuffix(".py")
    found = INSTALLED.search(filename) or STANDARD.search(filename)
    return found.group(1) if found else filename


def summarize(path: str) -> tuple[float, collections.Counter]:
    stats = pstats.Stats(path).stats
    groups = collections.Counter()
    for (filename, _line, function), (_calls, _primitive, own_time, _cumulative, _callers) in stats.items():
        groups[group_of(filename, function)] += own_time
    return sum(groups.values()), groups


def main() -> None:
    parser = argparse.ArgumentParser(description="Sum a cProfile file's own time by package.")
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=20, help="groups to print (default 20)")
    options = parser.parse_args()

    total, groups = summarize(options.file)
    print(f"{'group':<40} {'own time':>10} {'share':>7}")
    for group, seconds in groups.most_common(options.top):
        print(f"{group:<40} {seconds:>9.2f}s {seconds / total:>6.1%}")
    print(f"{'total':<40} {total:>9.2f}s")


if __name__ == "__main__":
    main()
