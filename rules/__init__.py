"""The pure matching engine: rules, normalisation, matching and evidence. No I/O, no clock.

``parse_rules`` validates a TOML rule file, ``compile_rules`` builds a :class:`RuleSet`,
``RuleSet.match`` returns the matching rules with evidence. The built-in packs are TOML files in
``rules/packs`` (read by the service, not by this package): ``packs`` maps each pack name to its
files.
"""

from rules.engine import RuleSet, compile_rules
from rules.errors import RulesError, RuleValidationError
from rules.models import Document, Evidence, RuleMatch
from rules.money import Amount, find_amounts
from rules.normalize import NormText, fold
from rules.spec import RuleSpec, parse_rules

CORE_RULES = ("capex", "deepseek", "llama4")
# Built-in pack name -> (file in rules/packs/, rule ids it keeps; empty: all of them).
PACK_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("default.toml", ()),
    "core": ("default.toml", CORE_RULES),
    "ai-industry": ("default.toml", ("-", *CORE_RULES)),  # "-": all except these
}
packs: tuple[str, ...] = tuple(PACK_FILES)


def pack_rules(name: str, specs: list[RuleSpec]) -> list[RuleSpec]:
    """The rules of the parsed pack file that belong to pack ``name``."""
    _, keep = PACK_FILES[name]
    if not keep:
        return specs
    if keep[0] == "-":
        return [s for s in specs if s.id not in keep[1:]]
    return [s for s in specs if s.id in keep]


__all__ = [
    "CORE_RULES",
    "PACK_FILES",
    "Amount",
    "Document",
    "Evidence",
    "NormText",
    "RuleMatch",
    "RuleSet",
    "RuleSpec",
    "RuleValidationError",
    "RulesError",
    "compile_rules",
    "find_amounts",
    "fold",
    "pack_rules",
    "packs",
    "parse_rules",
]
