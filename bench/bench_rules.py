"""Time triage over the shipped case table: per report, and per rule condition.

Run: .venv/bin/python bench/bench_rules.py [CASES.json] [--repeat N]
It prints timings only and asserts nothing.
"""

import argparse
import time
from pathlib import Path

import cel

from mailtriage.rulecases import case_answers, case_history, case_now, case_profile, load_cases, parse_time
from mailtriage.ruleinputs import RED_HIT, TRIAGE_COLOR, build_context, compute_inputs
from mailtriage.ruleparse import run_condition
from mailtriage.rules import triage
from mailtriage.ruleset import default_ruleset

DEFAULT_CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage_cases.json"


def report_inputs(case: dict):
    """Return the arguments triage() gets for one case."""
    profile = case_profile(case["profile"])
    now = parse_time(case["received_at"]) if "received_at" in case else case_now(profile.unit_timezone)
    return case_answers(case["answers"]), profile, case_history(case, now), now


def time_reports(reports: list, ruleset, repeat: int) -> float:
    """Return the mean seconds of one triage() call."""
    started = time.perf_counter()
    for _ in range(repeat):
        for answers, profile, history, now in reports:
            triage(answers, profile, history, now, ruleset)
    return (time.perf_counter() - started) / (repeat * len(reports))


def rule_contexts(reports: list, ruleset) -> list:
    contexts = []
    for answers, profile, history, now in reports:
        context = build_context(answers, profile, history, now, ruleset.parameters["SPO2_MIN_VALID"])
        values = {**ruleset.parameters, **compute_inputs(context, ruleset.parameters, ruleset.phrases),
                  RED_HIT: False, TRIAGE_COLOR: "verde"}
        variables = {name: value.isoformat() if hasattr(value, "isoformat") else value
                     for name, value in values.items()}
        contexts.append(cel.Context(variables=variables))
    return contexts


def time_rules(contexts: list, ruleset, repeat: int) -> list[tuple[str, float]]:
    """Return (rule id, mean seconds of one condition evaluation) for every triage rule."""
    timings = []
    for rule in ruleset.rules:
        started = time.perf_counter()
        for _ in range(repeat):
            for context in contexts:
                run_condition(rule.program, context)
        timings.append((rule.id, (time.perf_counter() - started) / (repeat * len(contexts))))
    return timings


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    arguments.add_argument("--repeat", type=int, default=20)
    options = arguments.parse_args()

    ruleset = default_ruleset()
    reports = [report_inputs(case) for case in load_cases(Path(options.cases))]

    per_report = time_reports(reports, ruleset, options.repeat)
    print(f"{len(reports)} reports x {options.repeat}: {per_report * 1e6:.0f} µs per report (triage, all rules)")

    contexts = rule_contexts(reports, ruleset)
    print("per rule condition, mean over the table:")
    for rule_id, seconds in time_rules(contexts, ruleset, options.repeat):
        print(f"  {rule_id:4} {seconds * 1e6:6.2f} µs")


if __name__ == "__main__":
    main()
