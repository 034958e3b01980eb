"""Loading a rule file: parameters, comment phrases and rules, each validated and compiled once.

A rule is data: an id, a description a nurse reads, a condition written in
CEL (Common Expression Language, evaluated by the ``cel`` package, never by
``eval``), a color and priority, reason texts and the values shown beside
them. Any problem stops start-up with one line naming the file, the rule or
parameter, and what is wrong.
"""

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from mailtriage.comments import AlarmPhrase, compile_phrase
from mailtriage.errors import RulesError
from mailtriage.i18n import tr
from mailtriage.ruleparams import check_parameters
from mailtriage.ruleparse import RULE_ID, Rule, parse_rule
from mailtriage.ruletrial import try_every_rule

PACKAGED_RULES = "rules.toml"


@dataclass(frozen=True)
class RuleSet:
    """A loaded rule file: its version, parameters, comment phrases and compiled rules."""

    version: str
    source: str
    parameters: dict
    phrases: tuple[AlarmPhrase, ...]
    rules: tuple[Rule, ...]
    nonreporting_rules: tuple[Rule, ...]


class _FileProblems:
    """Builds one-line RulesErrors naming the rule file and the place of the problem."""

    def __init__(self, source: str):
        self.source = source

    def rule(self, rule_id: str, problem: str) -> RulesError:
        return RulesError(tr("{f}: regla {r}: {p}", "{f}: rule {r}: {p}", f=self.source, r=rule_id, p=problem))

    def parameter(self, name: str, problem: str) -> RulesError:
        return RulesError(tr("{f}: parámetro {n}: {p}", "{f}: parameter {n}: {p}",
                             f=self.source, n=name, p=problem))

    def file(self, problem: str) -> RulesError:
        return RulesError(f"{self.source}: {problem}")


def packaged_rules_path() -> Path:
    return Path(str(resources.files("mailtriage") / "data" / PACKAGED_RULES))


def load_ruleset(path: str | None = None) -> RuleSet:
    """Load and validate a rule file; None or "" loads the packaged default. Raises RulesError."""
    file_path = Path(path) if path else packaged_rules_path()
    problems = _FileProblems(str(file_path))
    try:
        document = tomllib.loads(file_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise problems.file(tr("no se pudo leer el archivo de reglas ({why})",
                               "cannot read the rule file ({why})", why=exc.strerror or exc)) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise problems.file(tr("el archivo no es TOML válido: {why}",
                               "the file is not valid TOML: {why}", why=exc)) from exc
    return build_ruleset(document, problems)


@lru_cache(maxsize=1)
def default_ruleset() -> RuleSet:
    """Return the packaged default rule set, loaded once per process."""
    return load_ruleset(None)


def ruleset_for(config) -> RuleSet:
    """Load the rule file the config's ``[triage] rules_file`` names, or the packaged default."""
    return load_ruleset(config.rules_file) if config.rules_file else default_ruleset()


def build_ruleset(document: dict, problems: _FileProblems) -> RuleSet:
    version = document.get("version")
    if not isinstance(version, str) or not version.strip():
        raise problems.file(tr("falta «version» (un texto)", "'version' (a string) is missing"))

    parameters = document.get("parameters", {})
    problem = check_parameters(parameters) if isinstance(parameters, dict) else ("", "[parameters]")
    if problem:
        raise problems.parameter(*problem)

    phrases = _read_phrases(document.get("comment_alarm_phrases", {}), problems)
    rules = _read_rules(document.get("rules", []), "rules", problems)
    nonreporting = _read_rules(document.get("nonreporting_rules", []), "nonreporting_rules", problems)
    ruleset = RuleSet(version.strip(), problems.source, dict(parameters), phrases, rules, nonreporting)
    try_every_rule(ruleset, problems)
    return ruleset


def _read_phrases(groups, problems: _FileProblems) -> tuple[AlarmPhrase, ...]:
    if not isinstance(groups, dict):
        raise problems.parameter("COMMENT_ALARM_PHRASES", tr("debe ser una tabla de listas", "must be a table of lists"))

    phrases = []
    for group, texts in groups.items():
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise problems.parameter(f"COMMENT_ALARM_PHRASES.{group}", tr("debe ser una lista de textos",
                                                                          "must be a list of strings"))
        for text in texts:
            try:
                phrases.append(compile_phrase(text))
            except ValueError:
                raise problems.parameter(f"COMMENT_ALARM_PHRASES.{group}", tr(
                    "frase no válida «{t}»: use palabras, con * solo al final de una palabra",
                    "invalid phrase '{t}': use words, with * only at the end of a word", t=text)) from None
    return tuple(phrases)


def _read_rules(entries, table: str, problems: _FileProblems) -> tuple[Rule, ...]:
    if not isinstance(entries, list):
        raise problems.file(tr("use [[{t}]]", "use [[{t}]]", t=table))

    rules = []
    for index, entry in enumerate(entries, start=1):
        rule_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
            raise problems.rule(f"#{index}", tr("falta «id» o no es válido (ejemplo: R01)",
                                                "'id' is missing or invalid (for example R01)"))
        if any(rule.id == rule_id for rule in rules):
            raise problems.rule(rule_id, tr("id repetido", "duplicate id"))
        rules.append(parse_rule(entry, table == "nonreporting_rules",
                                lambda problem, rule_id=rule_id: problems.rule(rule_id, problem)))
    return tuple(rules)
