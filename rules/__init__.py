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

# Built-in pack name -> the pack files (in rules/packs/) it is made of.
PACK_FILES: dict[str, tuple[str, ...]] = {
    "default": ("core.toml", "ai-industry.toml"),
    "core": ("core.toml",),
    "ai-industry": ("ai-industry.toml",),
}
packs: tuple[str, ...] = tuple(PACK_FILES)

__all__ = [
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
    "packs",
    "parse_rules",
]
