"""The pure matching engine: rules, normalisation, matching and evidence. No I/O, no clock.

``parse_rules`` validates a TOML rule file, ``compile_rules`` builds a :class:`RuleSet`,
``RuleSet.match`` returns the matching rules with evidence. The built-in packs are TOML files in
``rules/packs`` (read by the service, not by this package): ``packs`` maps each pack name to its
files.
"""

from typing import TYPE_CHECKING, Any

from rules.errors import RulesError, RuleValidationError
from rules.models import Document, Evidence, RuleMatch

if TYPE_CHECKING:
    from rules.engine import RuleSet, compile_rules
    from rules.money import Amount, find_amounts
    from rules.normalize import NormText, fold
    from rules.spec import RuleSpec, parse_rules

# Imported on first use: the engine compiles its tables at import, and a process that only
# needs the models (storage, a poll where nothing is new) should not pay for it.
_LAZY = {
    "RuleSet": "rules.engine",
    "compile_rules": "rules.engine",
    "Amount": "rules.money",
    "find_amounts": "rules.money",
    "NormText": "rules.normalize",
    "fold": "rules.normalize",
    "RuleSpec": "rules.spec",
    "parse_rules": "rules.spec",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rules' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


CORE_RULES = ("capex", "deepseek", "llama4")
# Built-in pack name -> (file in rules/packs/, rule ids it keeps; empty: all of them).
PACK_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("default.toml", ()),
    "core": ("default.toml", CORE_RULES),
    "ai-industry": ("default.toml", ("-", *CORE_RULES)),  # "-": all except these
}
packs: tuple[str, ...] = tuple(PACK_FILES)


def compile_specs(specs: "list[RuleSpec]", capex_threshold_usd: float) -> "RuleSet":
    """:func:`compile_rules` with positional arguments, importing the engine only when called:
    what a rule set shipped to a worker process unpickles through."""
    from rules.engine import compile_rules

    return compile_rules(specs, capex_threshold_usd=capex_threshold_usd)


def pack_rules(name: str, specs: list["RuleSpec"]) -> list["RuleSpec"]:
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
    "compile_specs",
    "find_amounts",
    "fold",
    "pack_rules",
    "packs",
    "parse_rules",
]
