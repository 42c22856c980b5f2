"""Error tree of the rules engine: every error it raises is a :class:`RulesError`."""

from __future__ import annotations


class RulesError(Exception):
    """Root of all errors raised by the ``rules`` package."""


class RuleValidationError(RulesError):
    """A rule file or rule definition is invalid.

    ``origin`` is the file (or other label) the rule came from, ``rule_id`` the rule's id when
    known, ``field`` the offending key (dotted path), ``reason`` a human sentence.
    """

    def __init__(self, origin: str, rule_id: str | None, field: str | None, reason: str) -> None:
        self.origin = origin
        self.rule_id = rule_id
        self.field = field
        self.reason = reason
        super().__init__(describe(origin, rule_id, field, reason))


def describe(origin: str, rule_id: str | None, field: str | None, reason: str) -> str:
    """``origin: rule 'id': field: reason``, leaving out what is unknown."""
    where = origin
    if rule_id:
        where += f": rule {rule_id!r}"
    if field:
        where += f": {field}"
    return f"{where}: {reason}"
