"""Time one peewee look-up by primary key, split into SQL generation and SQLite's own work.

It also times an empty transaction, the cost of committing each message on
its own instead of in batches.

Usage: .venv/bin/python bench/peewee_query.py [--repeat N]

The drain runs about 21 statements per reply, so the cost of one statement
in the ORM, against SQLite's, shows how much of the drain is query overhead.
"""

import argparse
import tempfile
import time
from pathlib import Path

from mailtriage.models import InboundMessage, database_proxy, open_database


def per_call_ms(function, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description="Time one peewee look-up against SQLite's share of it.")
    parser.add_argument("--repeat", type=int, default=2000, help="calls per measurement (default 2000)")
    repeat = parser.parse_args().repeat

    with tempfile.TemporaryDirectory() as directory:
        database = open_database(f"sqlite:///{Path(directory) / 'query.db'}")
        query = InboundMessage.select().where(InboundMessage.id == 1)
        sql, parameters = query.sql()

        lookup = per_call_ms(lambda: InboundMessage.get_or_none(InboundMessage.id == 1), repeat)
        generation = per_call_ms(query.sql, repeat)
        sqlite_only = per_call_ms(lambda: database.execute_sql(sql, parameters).fetchall(), repeat)
        transaction = per_call_ms(empty_transaction, repeat)
        database.close()

    print(f"peewee get_or_none:      {lookup:.3f} ms")
    print(f"  of which SQL building: {generation:.3f} ms")
    print(f"  of which SQLite:       {sqlite_only:.3f} ms")
    print(f"empty transaction:       {transaction:.3f} ms")


def empty_transaction() -> None:
    with database_proxy.atomic():
        pass


if __name__ == "__main__":
    main()
