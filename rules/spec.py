"""The rule language: TOML rule files parsed and validated into immutable rule specs.

A file holds ``[entity.<name>]`` tables (named alias sets, reusable by its rules) and
``[[rule]]`` tables. A rule's condition is the node written in the rule table itself (one of
``entity``, ``terms``, ``regex``, ``amount``, ``all``, ``any``, ``not``, ``near``); see
``docs/rules.md`` for the reference.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any, cast, get_args

from rules.errors import RuleValidationError
from rules.models import Field, Severity

FIELDS: tuple[str, ...] = get_args(Field)
SEVERITIES: tuple[str, ...] = get_args(Severity)
NODE_KEYS = ("entity", "terms", "regex", "amount", "all", "any", "not", "near")
_LEAF_MODS = ("fields", "unless", "unless_within")
_RULE_META = ("id", "name", "severity", "tags", "fields", "languages", "description")
_ENTITY_KEYS = (
    "name",
    "aliases",
    "ambiguous",
    "context",
    "context_within",
    "exclude",
    "capitalised",
)
_ID_RX = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
DEFAULT_UNLESS_WITHIN = 5


@dataclass(frozen=True, slots=True)
class Scope:
    """Modifiers every leaf accepts: field scope and an ``unless`` veto near each occurrence."""

    fields: tuple[Field, ...] | None = None
    # (veto condition, within N words, rival or None): with a rival, a veto occurrence counts
    # only when it is closer to the occurrence than every occurrence of the rival.
    unless: tuple[tuple[Node, int, Node | None], ...] = ()


@dataclass(frozen=True, slots=True)
class TermsNode:
    terms: tuple[str, ...]
    scope: Scope = Scope()


@dataclass(frozen=True, slots=True)
class EntityNode:
    name: str
    aliases: tuple[str, ...]
    ambiguous: tuple[str, ...] = ()
    context: Node | None = None
    context_within: int | None = None
    exclude: tuple[str, ...] = ()
    scope: Scope = Scope()
    # Ambiguous aliases that count only when their first letter is written in upper case
    # (the matcher folds case: "Grok" the product, not the verb "grok").
    capitalised: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegexNode:
    pattern: str
    scope: Scope = Scope()


@dataclass(frozen=True, slots=True)
class AmountNode:
    min_usd: float | None = None  # None: the rule set's capex threshold
    scope: Scope = Scope()


@dataclass(frozen=True, slots=True)
class AllNode:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyNode:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotNode:
    child: Node


@dataclass(frozen=True, slots=True)
class NearNode:
    children: tuple[Node, ...]
    within: int
    scope: Scope = Scope()


Node = TermsNode | EntityNode | RegexNode | AmountNode | AllNode | AnyNode | NotNode | NearNode


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One validated rule."""

    id: str
    name: str
    severity: Severity
    tags: tuple[str, ...]
    fields: tuple[Field, ...]
    languages: tuple[str, ...]
    root: Node
    origin: str
    description: str = ""


class _Ctx:
    def __init__(self, origin: str, entities: dict[str, Any]) -> None:
        self.origin = origin
        self.raw_entities = entities
        self.entities: dict[str, EntityNode] = {}
        self.resolving: list[str] = []
        self.rule_id: str | None = None

    def fail(self, field: str | None, reason: str) -> RuleValidationError:
        return RuleValidationError(self.origin, self.rule_id, field, reason)


def _str_list(ctx: _Ctx, value: Any, path: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.fail(path, "must be a string or a list of strings")
    items = tuple(v for v in (s.strip() for s in value) if v)
    if not items and not allow_empty:
        raise ctx.fail(path, "must not be empty")
    return items


def _terms(ctx: _Ctx, value: Any, path: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    items = _str_list(ctx, value, path, allow_empty=allow_empty)
    for t in items:
        if "*" in t[1:-1]:
            raise ctx.fail(
                path,
                f"{t!r}: '*' is only allowed at the start (inside compounds) or the end (a stem)",
            )
        if t.startswith("*") and not t.strip("*").strip():
            raise ctx.fail(path, f"{t!r}: a term needs more than '*'")
        if t.startswith("*") and re.search(r"[\s\-]", t.strip("*")):
            raise ctx.fail(path, f"{t!r}: a '*term' (inside compounds) must be one word")
    return items


def _int(ctx: _Ctx, value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ctx.fail(path, "must be a non-negative integer")
    return value


def _fields(ctx: _Ctx, value: Any, path: str) -> tuple[Field, ...]:
    items = _str_list(ctx, value, path)
    for f in items:
        if f not in FIELDS:
            raise ctx.fail(path, f"unknown field {f!r} (expected one of {', '.join(FIELDS)})")
    return cast(tuple[Field, ...], items)


def _scope(ctx: _Ctx, table: dict[str, Any], path: str) -> Scope:
    fields = _fields(ctx, table["fields"], f"{path}.fields") if "fields" in table else None
    within = DEFAULT_UNLESS_WITHIN
    if "unless_within" in table:
        within = _int(ctx, table["unless_within"], f"{path}.unless_within")
    vetoes: list[tuple[Node, int, Node | None]] = []
    raw = table.get("unless")
    if isinstance(raw, list) and raw and all(isinstance(v, dict) for v in raw):
        # Several vetoes, each with its own distance: [{ entity = "x", within = 2 }, ...]
        for i, item in enumerate(raw):
            item = dict(item)
            w = (
                _int(ctx, item.pop("within"), f"{path}.unless[{i}].within")
                if "within" in item
                else within
            )
            rival = (
                _node(ctx, item.pop("closer_than"), f"{path}.unless[{i}].closer_than")
                if "closer_than" in item
                else None
            )
            vetoes.append((_node(ctx, item, f"{path}.unless[{i}]"), w, rival))
    elif raw is not None:
        vetoes.append((_node(ctx, raw, f"{path}.unless"), within, None))
    return Scope(fields, tuple(vetoes))


def _children(ctx: _Ctx, value: Any, path: str) -> tuple[Node, ...]:
    if not isinstance(value, list) or not value:
        raise ctx.fail(path, "must be a non-empty list of conditions")
    return tuple(_node(ctx, v, f"{path}[{i}]") for i, v in enumerate(value))


def _node(ctx: _Ctx, value: Any, path: str) -> Node:
    if isinstance(value, str):  # shorthand: a bare string is a term
        value = {"terms": [value]}
    if isinstance(value, list):  # shorthand: a list of strings is a terms node
        value = {"terms": value}
    if not isinstance(value, dict):
        raise ctx.fail(path, "must be a table (condition), a string or a list of strings")
    kinds = [k for k in NODE_KEYS if k in value]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise ctx.fail(path, f"needs exactly one of {', '.join(NODE_KEYS)} (found: {found})")
    kind = kinds[0]
    allowed = {kind, *_LEAF_MODS}
    if kind == "near":
        allowed.add("within")
    if kind in ("all", "any", "not"):
        allowed = {kind}
    for key in value:
        if key not in allowed:
            raise ctx.fail(f"{path}.{key}", f"unknown key for a {kind!r} condition")
    sub = f"{path}.{kind}"
    raw = value[kind]
    if kind == "terms":
        return TermsNode(_terms(ctx, raw, sub), _scope(ctx, value, path))
    if kind == "entity":
        if not isinstance(raw, str):
            raise ctx.fail(sub, "must be the name of an [entity.<name>] table")
        ent = _entity(ctx, raw, sub)
        scope = _scope(ctx, value, path)
        return EntityNode(
            ent.name,
            ent.aliases,
            ent.ambiguous,
            ent.context,
            ent.context_within,
            ent.exclude,
            scope,
            ent.capitalised,
        )
    if kind == "regex":
        if not isinstance(raw, str) or not raw:
            raise ctx.fail(sub, "must be a non-empty regular expression string")
        try:
            re.compile(raw)
        except re.error as exc:
            raise ctx.fail(sub, f"invalid regular expression: {exc}") from None
        if re.compile(raw).search("") is not None:
            raise ctx.fail(sub, "regular expression matches the empty string")
        return RegexNode(raw, _scope(ctx, value, path))
    if kind == "amount":
        min_usd: float | None = None
        if isinstance(raw, dict):
            for key in raw:
                if key != "min_usd":
                    raise ctx.fail(f"{sub}.{key}", "unknown key (expected min_usd)")
            if "min_usd" in raw:
                v = raw["min_usd"]
                if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                    raise ctx.fail(f"{sub}.min_usd", "must be a non-negative number")
                min_usd = float(v)
        elif raw is not True:
            raise ctx.fail(sub, "must be true or a table { min_usd = ... }")
        return AmountNode(min_usd, _scope(ctx, value, path))
    if kind == "not":
        return NotNode(_node(ctx, raw, sub))
    children = _children(ctx, raw, sub)
    if kind == "all":
        return AllNode(children)
    if kind == "any":
        return AnyNode(children)
    # near
    if len(children) < 2:
        raise ctx.fail(sub, "needs at least two conditions")
    for i, child in enumerate(children):
        if isinstance(child, NotNode):
            raise ctx.fail(f"{sub}[{i}]", "a 'not' condition has no position to be near")
    if "within" not in value:
        raise ctx.fail(f"{path}.within", "is required for 'near' (words; CJK: characters)")
    return NearNode(
        children, _int(ctx, value["within"], f"{path}.within"), _scope(ctx, value, path)
    )


def _entity(ctx: _Ctx, name: str, path: str) -> EntityNode:
    if name in ctx.entities:
        return ctx.entities[name]
    if name not in ctx.raw_entities:
        raise ctx.fail(path, f"unknown entity {name!r} (define it as [entity.{name}])")
    if name in ctx.resolving:
        raise ctx.fail(path, f"entity {name!r} refers to itself through its context")
    raw = ctx.raw_entities[name]
    epath = f"entity.{name}"
    if not isinstance(raw, dict):
        raise ctx.fail(epath, "must be a table")
    for key in raw:
        if key not in _ENTITY_KEYS:
            raise ctx.fail(f"{epath}.{key}", f"unknown key (expected {', '.join(_ENTITY_KEYS)})")
    ctx.resolving.append(name)
    try:
        aliases = _terms(ctx, raw.get("aliases", []), f"{epath}.aliases", allow_empty=True)
        ambiguous = _terms(ctx, raw.get("ambiguous", []), f"{epath}.ambiguous", allow_empty=True)
        if not aliases and not ambiguous:
            raise ctx.fail(f"{epath}.aliases", "an entity needs aliases (or ambiguous aliases)")
        context = _node(ctx, raw["context"], f"{epath}.context") if "context" in raw else None
        if ambiguous and context is None:
            raise ctx.fail(f"{epath}.context", "is required when there are ambiguous aliases")
        within = None
        if "context_within" in raw:
            within = _int(ctx, raw["context_within"], f"{epath}.context_within")
        exclude = _terms(ctx, raw.get("exclude", []), f"{epath}.exclude", allow_empty=True)
        capitalised = (
            _str_list(ctx, raw["capitalised"], f"{epath}.capitalised")
            if "capitalised" in raw
            else ()
        )
        for c in capitalised:
            if c not in ambiguous or not c[:1].isupper():
                raise ctx.fail(
                    f"{epath}.capitalised",
                    f"{c!r} must be one of the ambiguous aliases, written with a capital",
                )
    finally:
        ctx.resolving.pop()
    ent = EntityNode(
        str(raw.get("name", name)),
        aliases,
        ambiguous,
        context,
        within,
        exclude,
        capitalised=capitalised,
    )
    ctx.entities[name] = ent
    return ent


def _rule(ctx: _Ctx, raw: Any, index: int) -> RuleSpec:
    ctx.rule_id = None
    if not isinstance(raw, dict):
        raise ctx.fail(f"rule[{index}]", "must be a table")
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID_RX.match(rid):
        raise ctx.fail(
            f"rule[{index}].id", "is required: lower-case letters, digits, '-', '_', '.'"
        )
    ctx.rule_id = rid
    for key in raw:
        if (
            key not in _RULE_META
            and key not in NODE_KEYS
            and key not in ("within", "unless", "unless_within")
        ):
            raise ctx.fail(key, "unknown key")
    name = raw.get("name", rid)
    if not isinstance(name, str):
        raise ctx.fail("name", "must be a string")
    severity = raw.get("severity", "normal")
    if severity not in SEVERITIES:
        raise ctx.fail("severity", f"must be one of {', '.join(SEVERITIES)}")
    tags = _str_list(ctx, raw.get("tags", []), "tags", allow_empty=True)
    fields: tuple[Field, ...] = (
        _fields(ctx, raw["fields"], "fields") if "fields" in raw else ("title", "text")
    )
    languages = _str_list(ctx, raw.get("languages", []), "languages", allow_empty=True)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail("description", "must be a string")
    node_table = {k: v for k, v in raw.items() if k not in _RULE_META}
    if not any(k in node_table for k in NODE_KEYS):
        raise ctx.fail(None, f"has no condition (one of {', '.join(NODE_KEYS)})")
    root = _node(ctx, node_table, "rule")
    return RuleSpec(
        rid,
        name,
        cast(Severity, severity),
        tags,
        fields,
        tuple(lang.lower() for lang in languages),
        root,
        ctx.origin,
        description,
    )


def parse_rules(text: str, origin: str) -> list[RuleSpec]:
    """Parse and validate a TOML rule file; raise :class:`RuleValidationError` on any mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleValidationError(origin, None, None, f"not valid TOML: {exc}") from None
    for key in data:
        if key not in ("rule", "entity"):
            raise RuleValidationError(origin, None, key, "unknown top-level key (rule, entity)")
    entities = data.get("entity", {})
    if not isinstance(entities, dict):
        raise RuleValidationError(origin, None, "entity", "must be tables [entity.<name>]")
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise RuleValidationError(origin, None, "rule", "must be an array of tables [[rule]]")
    ctx = _Ctx(origin, entities)
    for name in entities:
        _entity(ctx, name, f"entity.{name}")
    ctx.rule_id = None
    specs: list[RuleSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(rules):
        spec = _rule(ctx, raw, i)
        if spec.id in seen:
            raise RuleValidationError(origin, spec.id, "id", "duplicate rule id in this file")
        seen.add(spec.id)
        specs.append(spec)
    return specs
