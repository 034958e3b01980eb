"""CPU per message of the parser and triage, against Python's bare MIME parse, on the reply corpus.

Both sides run over every ``tests/data/corpus/*/message.eml`` in this
process, timed with ``time.process_time``, so the ratio compares CPU only.
"""

import email
import time
from datetime import datetime, timezone
from pathlib import Path

from mailtriage.config import DEFAULT_MAX_MESSAGE_BYTES
from mailtriage.contracts import PatientProfile
from mailtriage.parser import parse_message
from mailtriage.rules import triage
from mailtriage.ruleset import default_ruleset

CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"

# An adult patient on the fifth day of illness, with an oximeter: every
# corpus reply is triaged against this one profile.
PROFILE = PatientProfile(age_years=45, age_days=45 * 365, illness_day=5, has_oximeter=True)
RECEIVED_AT = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)


def corpus_messages() -> list[bytes]:
    return [path.read_bytes() for path in sorted(CORPUS_DIR.glob("*/message.eml"))]


def bare_parse_seconds(messages: list[bytes], rounds: int) -> float:
    """Return the CPU seconds per message of ``email.message_from_bytes`` alone."""
    started = time.process_time()
    for _ in range(rounds):
        for raw in messages:
            email.message_from_bytes(raw)
    return (time.process_time() - started) / (rounds * len(messages))


def parse_and_triage_seconds(messages: list[bytes], rounds: int) -> float:
    """Return the CPU seconds per message of ``parse_message`` followed by ``triage``."""
    ruleset = default_ruleset()
    started = time.process_time()
    for _ in range(rounds):
        for raw in messages:
            reading = parse_message(raw, DEFAULT_MAX_MESSAGE_BYTES)
            answers = {**reading.answers, **reading.unreadable}
            triage(answers, PROFILE, [], RECEIVED_AT, ruleset)
    return (time.process_time() - started) / (rounds * len(messages))


def measure(rounds: int) -> dict:
    """Return the per-message CPU of both sides in milliseconds, and their ratio."""
    messages = corpus_messages()
    # One round first, so imports, compiled regexes and the rule set's CEL
    # programs are ready before the clock starts.
    parse_and_triage_seconds(messages, 1)
    bare_parse_seconds(messages, 1)

    ours = parse_and_triage_seconds(messages, rounds)
    bare = bare_parse_seconds(messages, rounds)
    return {"messages": len(messages), "bare_ms": bare * 1000, "parse_triage_ms": ours * 1000,
            "parse_ratio": ours / bare}
