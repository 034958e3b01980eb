"""Benchmark the daemon against the I/O floor of its mail servers, on loopback.

Usage: .venv/bin/python bench/run.py [--quick] [--json] [--messages N]

Starts a throwaway Dovecot and SMTP server (tests/servers.py) and enrols N
patients. Then it prints one table with six figures:

1. the I/O floor: fetching and sending N messages with bare clients;
2. the daemon draining an N-message backlog;
3. parse and triage CPU per message against a bare MIME parse;
4. reply latency with IDLE and with polling;
5. peak memory draining a backlog with large attachments;
6. issuing and sending the day's questionnaires to N patients.

With --json the last line is one JSON object of the headline figures.
"""

import argparse
import cProfile
import json
import signal
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import benchsite  # noqa: E402
import floor  # noqa: E402
import latency  # noqa: E402
import memory  # noqa: E402
import parsecpu  # noqa: E402
import sending  # noqa: E402
from servers import DovecotServer  # noqa: E402

from mailtriage.daemon import run_once  # noqa: E402
from mailtriage.outmessage import build_message, envelope_recipient, envelope_sender  # noqa: E402

FULL_MESSAGES, QUICK_MESSAGES = 10_000, 200
FULL_SAMPLES, QUICK_SAMPLES = 100, 20
FULL_PARSE_ROUNDS, QUICK_PARSE_ROUNDS = 20, 3

# A Dovecot that advertises no IDLE, so the daemon falls back to polling.
NO_IDLE_CONFIG = "imap_capability = IMAP4rev1 LITERAL+ MULTIAPPEND UIDPLUS MOVE"
# The latency runs' poll_seconds (bench/latency.py).
POLL_SECONDS = latency.POLL_SECONDS


def main() -> None:
    options = parse_arguments()
    messages = options.messages or (QUICK_MESSAGES if options.quick else FULL_MESSAGES)
    samples = QUICK_SAMPLES if options.quick else FULL_SAMPLES
    rounds = QUICK_PARSE_ROUNDS if options.quick else FULL_PARSE_ROUNDS
    if messages < 2 * samples:
        sys.exit(f"--messages must be at least {2 * samples}: latency samples use distinct patients")

    # SIGTERM (and SIGINT, which a background job may ignore) still stop
    # the servers and remove the temp dir, through the finally below.
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    site = benchsite.Site()
    try:
        site.start()
        results = run_all(site, messages, samples, rounds, options.profile)
    finally:
        site.close()

    print_table(results)
    if options.json:
        print(json.dumps(headline(results), sort_keys=True))


def stop_on_signal(signal_number, frame) -> None:
    sys.exit(128 + signal_number)


def parse_arguments():
    parser = argparse.ArgumentParser(description="Benchmark mailtriage on loopback mail servers.")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_MESSAGES} messages and {QUICK_SAMPLES} latency samples")
    parser.add_argument("--json", action="store_true",
                        help="print the headline figures as one JSON object on the last line")
    parser.add_argument("--messages", type=int, default=None,
                        help=f"backlog size N (default {FULL_MESSAGES}, or {QUICK_MESSAGES} with --quick)")
    parser.add_argument("--profile", metavar="FILE", default=None,
                        help="write a cProfile of the drain (figure 2) to FILE, for pstats; "
                             "the profiler slows the drain, so its figure is not comparable")
    return parser.parse_args()


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_all(site, messages: int, samples: int, rounds: int, profile: str | None) -> dict:
    results = {"messages": messages, "samples": samples}
    drain_user = site.dovecot.new_user()
    config = site.open(drain_user)

    progress(f"enrolling {messages} patients")
    patients = benchsite.enrol_patients(config, messages)
    progress("seeding the backlog with MULTIAPPEND")
    benchsite.seed_mailbox(site.dovecot, drain_user, benchsite.backlog(patients))

    progress("measuring the I/O floor")
    results["floor"] = measure_floor(site, config, drain_user, patients)
    progress("draining the backlog with the daemon")
    results["drain"] = measure_drain(site, config, messages, profile)

    progress("measuring parse and triage CPU on the corpus")
    results["parse"] = parsecpu.measure(rounds)

    progress("measuring reply latency with IDLE")
    results["latency_idle"] = latency.measure(site, site.dovecot, site.dovecot.new_user(),
                                              patients[:samples], "latency-idle", max_pause=0.2)
    site.smtp.clear()
    progress("measuring reply latency with polling (a Dovecot without IDLE)")
    results["latency_poll"] = measure_polling(site, patients[samples:2 * samples])
    site.smtp.clear()

    progress("measuring peak memory in a child process")
    results["memory"] = memory.measure(site, site.dovecot.new_user(), patients,
                                       quick=rounds < FULL_PARSE_ROUNDS)
    site.smtp.clear()

    progress("issuing and sending the next day's questionnaires")
    results["questionnaires"] = sending.measure(config, messages)
    site.smtp.clear()
    return results


def measure_floor(site, config, user, patients) -> dict:
    """Fetch the backlog with a bare client, and send N questionnaire-sized messages with another."""
    fetched, fetch_seconds = floor.fetch_all(site.dovecot, user)
    outgoing = [(envelope_sender(config), envelope_recipient(row), build_message(row, config).as_bytes())
                for row in benchsite.questionnaire_rows(patients)]
    send_seconds = floor.send_all(site.smtp.port, outgoing)
    site.smtp.clear()
    return {"fetched": fetched, "fetch_s": fetch_seconds, "send_s": send_seconds,
            "total_s": fetch_seconds + send_seconds}


def measure_drain(site, config, messages: int, profile: str | None) -> dict:
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summary = run_once(config)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds = time.perf_counter() - started
    site.smtp.clear()
    if summary.messages_read != messages or summary.failed:
        raise RuntimeError(f"the drain read {summary.messages_read} of {messages} messages "
                           f"and {summary.failed} failed")
    return {"total_s": seconds, "sent": summary.sent}


def measure_polling(site, patients) -> dict:
    dovecot = DovecotServer(cert=site.dovecot.cert, extra_config=NO_IDLE_CONFIG)
    try:
        dovecot.start()
        return latency.measure(site, dovecot, dovecot.new_user(), patients, "latency-poll",
                               max_pause=POLL_SECONDS)
    finally:
        dovecot.remove()


def headline(results: dict) -> dict:
    return {
        "drain_ratio": round(results["floor"]["total_s"] / results["drain"]["total_s"], 3),
        "parse_ratio": round(results["parse"]["parse_ratio"], 3),
        "latency_p50_ms": round(results["latency_idle"]["p50_ms"], 1),
        "latency_p95_ms": round(results["latency_idle"]["p95_ms"], 1),
        "peak_rss_mb": round(results["memory"]["peak_rss_mb"], 1),
        "send_ratio": round(results["floor"]["send_s"] / results["questionnaires"]["total_s"], 3),
    }


def print_table(results: dict) -> None:
    n = results["messages"]
    floor_result, drain = results["floor"], results["drain"]
    parse, memory_result = results["parse"], results["memory"]
    idle, poll = results["latency_idle"], results["latency_poll"]
    sent = results["questionnaires"]
    figures = headline(results)
    rows = [
        ("1. I/O floor: fetch N (bare imapclient)", f"{floor_result['fetch_s']:.2f} s",
         f"{n / floor_result['fetch_s']:.0f} msg/s"),
        ("1. I/O floor: send N (bare aiosmtplib)", f"{floor_result['send_s']:.2f} s",
         f"{n / floor_result['send_s']:.0f} msg/s"),
        ("2. daemon drains N (parse, triage, store, reply, mark)", f"{drain['total_s']:.2f} s",
         f"{n / drain['total_s']:.0f} msg/s, {figures['drain_ratio']:.2f} of the floor's rate"),
        (f"3. bare email.message_from_bytes ({parse['messages']} corpus messages)",
         f"{parse['bare_ms']:.3f} ms/msg", ""),
        ("3. parse + triage", f"{parse['parse_triage_ms']:.3f} ms/msg",
         f"{figures['parse_ratio']:.2f}x the bare parse"),
        (f"4. reply latency with IDLE ({idle['samples']} samples)",
         f"p50 {idle['p50_ms']:.0f} ms", f"p95 {idle['p95_ms']:.0f} ms"),
        (f"4. reply latency polling every {POLL_SECONDS} s ({poll['samples']} samples)",
         f"p50 {poll['p50_ms']:.0f} ms", f"p95 {poll['p95_ms']:.0f} ms"),
        (f"5. peak RSS draining {memory_result['messages']} messages ({memory_result['backlog_mb']:.0f} MiB)",
         f"{memory_result['peak_rss_mb']:.1f} MiB", ""),
        ("6. issue + send N questionnaires", f"{sent['total_s']:.2f} s",
         f"issue {sent['issue_s']:.2f} s, send {sent['send_s']:.2f} s, "
         f"{figures['send_ratio']:.2f} of the bare SMTP rate"),
    ]
    print(f"mailtriage benchmark, N = {n}")
    width = max(len(label) for label, _, _ in rows)
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>16}  {note}")


if __name__ == "__main__":
    main()
