"""Load the configured rule packs and the user's rule files into one compiled rule set."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rules import PACK_FILES, Document, RuleMatch, RuleValidationError, compile_specs, pack_rules
from rules import parse_rules as _parse
from rules.errors import describe
from rules.spec import RuleSpec
from watcher.config import RulesConfig
from watcher.errors import WatcherError

if TYPE_CHECKING:
    from rules.engine import RuleSet


class RulesLoadError(WatcherError):
    """A rule pack or rule file could not be loaded: where (file, rule id, field) and why."""

    def __init__(self, file: str, rule_id: str | None, field: str | None, reason: str) -> None:
        self.file = file
        self.rule_id = rule_id
        self.field = field
        self.reason = reason
        super().__init__(describe(file, rule_id, field, reason))

    @classmethod
    def from_validation(cls, exc: RuleValidationError) -> RulesLoadError:
        return cls(exc.origin, exc.rule_id, exc.field, exc.reason)


def pack_text(filename: str) -> str:
    """The text of a built-in pack file (shipped as package data in ``rules/packs``)."""
    return resources.files("rules").joinpath("packs", filename).read_text(encoding="utf-8")


def _pack_file(name: str) -> str:
    """The file of built-in pack ``name`` (:class:`RulesLoadError` if there is none)."""
    if name not in PACK_FILES:
        known = ", ".join(PACK_FILES)
        raise RulesLoadError(f"pack {name!r}", None, "rules.packs", f"unknown pack ({known})")
    return PACK_FILES[name][0]


def load_pack(name: str) -> list[RuleSpec]:
    """The rules of built-in pack ``name``."""
    try:
        specs = _parse(pack_text(_pack_file(name)), f"pack:{name}")
    except RuleValidationError as exc:
        raise RulesLoadError.from_validation(exc) from exc
    return pack_rules(name, specs)


def load_file(path: Path) -> list[RuleSpec]:
    """The rules of one user rule file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesLoadError(str(path), None, None, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RulesLoadError(str(path), None, None, f"not UTF-8 text: {exc}") from exc
    try:
        return _parse(text, str(path))
    except RuleValidationError as exc:
        raise RulesLoadError.from_validation(exc) from exc


def load_specs(cfg: RulesConfig) -> list[RuleSpec]:
    """All rule specs of the configuration: packs first, then the user's files.

    A user rule with the id of a pack rule replaces it (so a pack rule can be tuned locally);
    two user files defining the same id is an error.
    """
    return _merge(cfg.packs, load_user_specs(cfg))


def load_user_specs(cfg: RulesConfig) -> list[RuleSpec]:
    """The rules of the user's rule files (an id defined twice is an error)."""
    user: dict[str, RuleSpec] = {}
    for path in cfg.files:
        for spec in load_file(Path(path)):
            if spec.id in user:
                raise RulesLoadError(
                    spec.origin, spec.id, "id", f"already defined in {user[spec.id].origin}"
                )
            user[spec.id] = spec
    return list(user.values())


def _merge(packs: Sequence[str], user: Sequence[RuleSpec]) -> list[RuleSpec]:
    """The packs' rules, then the user's: a user rule replaces the pack rule of its id."""
    merged: dict[str, RuleSpec] = {}
    for name in packs:
        for spec in load_pack(name):
            merged[spec.id] = spec
    for spec in user:
        merged[spec.id] = spec
    return list(merged.values())


def load_ruleset(cfg: RulesConfig) -> RuleSet:
    """Compile the configured packs and rule files now (raises :class:`RulesLoadError`)."""
    return load_rules_lazily(cfg).compiled()


class LazyRuleSet:
    """The configured rules, read and compiled on first use: a poll where every source answers
    304 (or a process that only ships the rules to its workers) never compiles the term tables,
    and one that needs no rule at all (all 304, no channel filtering by rule) never parses the
    built-in packs either (TOML: ~6-10 ms, ~4% of such a ``watcher poll``).

    The user's rule files are read and validated at once, and the pack names checked, so a
    mistake of the user's is still reported at start-up (the built-in packs are tested).
    Pickles as its specs and unpickles compiled (the workers compile their own copy).
    """

    def __init__(
        self, packs: Sequence[str], user_specs: Sequence[RuleSpec], capex_threshold_usd: float
    ) -> None:
        for name in packs:
            _pack_file(name)  # an unknown pack is reported now
        self._packs = tuple(packs)
        self._user = list(user_specs)
        self._threshold = capex_threshold_usd
        self._merged: list[RuleSpec] | None = None
        self._compiled: RuleSet | None = None

    @property
    def _specs(self) -> list[RuleSpec]:
        if self._merged is None:
            self._merged = _merge(self._packs, self._user)
        return self._merged

    @functools.cached_property
    def rules(self) -> Mapping[str, RuleSpec]:
        return MappingProxyType(dict(sorted((s.id, s) for s in self._specs)))

    @functools.cached_property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(self.rules)

    def compiled(self) -> RuleSet:
        if self._compiled is None:
            from rules.engine import compile_rules  # slow to import: only when first needed

            try:
                self._compiled = compile_rules(self._specs, capex_threshold_usd=self._threshold)
            except RuleValidationError as exc:
                raise RulesLoadError.from_validation(exc) from exc
        return self._compiled

    def match(self, document: Document) -> list[RuleMatch]:
        return self.compiled().match(document)

    def __reduce__(self) -> tuple[Any, tuple[list[RuleSpec], float]]:
        # Unpickles as the compiled RuleSet, built from the specs by the rules package alone: a
        # pool worker imports neither this module nor the config behind it, and pickling here
        # does not import the engine.
        return compile_specs, (self._specs, self._threshold)

    def __getattr__(self, name: str) -> Any:  # anything else RuleSet offers
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.compiled(), name)


def load_rules_lazily(cfg: RulesConfig) -> LazyRuleSet:
    """:func:`load_ruleset` that reads and validates the user's rule files now, and reads the
    built-in packs and compiles on first use."""
    return LazyRuleSet(cfg.packs, load_user_specs(cfg), cfg.capex_threshold_usd)
