"""The pure matching engine: rules, normalisation, matching and evidence. No I/O, no clock."""

from rules.errors import RulesError, RuleValidationError
from rules.models import Document, Evidence, RuleMatch

__all__ = ["Document", "Evidence", "RuleMatch", "RuleValidationError", "RulesError"]
