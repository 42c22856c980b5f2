"""Rule file validation: every mistake names the file, the rule, the field and the reason."""

from __future__ import annotations

import pytest

from rules import RuleValidationError, compile_rules, parse_rules


@pytest.mark.parametrize(
    ("toml", "rule_id", "field", "reason"),
    [
        ("[[rule]]\nid = 'x'\n", "x", None, "no condition"),
        ("[[rule]]\nid = 'Bad Id'\nterms = ['a']\n", None, "rule[0].id", "required"),
        ("[[rule]]\nid = 'x'\nterms = []\n", "x", "rule.terms", "empty"),
        ("[[rule]]\nid = 'x'\nterms = ['a']\nseverity = 'urgent'\n", "x", "severity", "one of"),
        ("[[rule]]\nid = 'x'\nterms = ['a']\nfields = ['body']\n", "x", "fields", "unknown field"),
        ("[[rule]]\nid = 'x'\nentity = 'nope'\n", "x", "rule.entity", "unknown entity"),
        ("[[rule]]\nid = 'x'\nregex = '('\n", "x", "rule.regex", "invalid regular expression"),
        ("[[rule]]\nid = 'x'\nregex = 'a*'\n", "x", "rule.regex", "empty string"),
        ("[[rule]]\nid = 'x'\nnear = [['a'], ['b']]\n", "x", "rule.within", "required"),
        ("[[rule]]\nid = 'x'\nnear = [['a']]\nwithin = 2\n", "x", "rule.near", "at least two"),
        (
            "[[rule]]\nid = 'x'\nnear = [['a'], {not = ['b']}]\nwithin = 2\n",
            "x",
            "rule.near[1]",
            "no position",
        ),
        (
            "[[rule]]\nid = 'x'\nany = [{terms = ['a'], entity = 'e'}]\n",
            "x",
            "rule.any[0]",
            "exactly one",
        ),
        ("[[rule]]\nid = 'x'\nterms = ['a']\ncolour = 'red'\n", "x", "colour", "unknown key"),
        (
            "[[rule]]\nid = 'x'\nall = [{terms = ['a'], bogus = 1}]\n",
            "x",
            "rule.all[0].bogus",
            "unknown key",
        ),
        (
            "[[rule]]\nid = 'x'\nterms = ['a']\n[[rule]]\nid = 'x'\nterms = ['b']\n",
            "x",
            "id",
            "duplicate",
        ),
        ("[entity.e]\nambiguous = ['a']\n", None, "entity.e.context", "required"),
        (
            "[entity.e]\naliases = ['a']\ncontext = { entity = 'e' }\n",
            None,
            "entity.e.context.entity",
            "itself",
        ),
        ("[[rule]]\nid = 'x'\namount = { min = 5 }\n", "x", "rule.amount.min", "unknown key"),
        (
            "[[rule]]\nid = 'x'\nterms = ['a']\nunless = ['b']\nunless_within = -1\n",
            "x",
            "rule.unless_within",
            "non-negative",
        ),
        ("rule = 3\n", None, "rule", "array of tables"),
        (
            "[[rule]]\nid = 'x'\nterms = ['data* center']\n",
            "x",
            "rule.terms",
            "only allowed at the start (inside compounds) or the end",
        ),
        ("[[rule]]\nid = 'x'\nterms = ['*']\n", "x", "rule.terms", "more than '*'"),
        ("[[rule]]\nid = 'x'\nterms = ['*data center']\n", "x", "rule.terms", "one word"),
        ("[[rule]\n", None, None, "not valid TOML"),
        (
            "[entity.e]\nambiguous = ['Grok']\ncontext = ['AI']\ncapitalised = ['grok']\n"
            "[[rule]]\nid = 'x'\nentity = 'e'\n",
            None,
            "entity.e.capitalised",
            "written with a capital",
        ),
        (
            "[[rule]]\nid = 'x'\namount = true\nunless = [{terms = ['a'], closer_than = 3}]\n",
            "x",
            "rule.unless[0].closer_than",
            "must be a table",
        ),
    ],
)
def test_validation_errors(toml: str, rule_id: str | None, field: str | None, reason: str) -> None:
    with pytest.raises(RuleValidationError) as info:
        parse_rules(toml, "my-rules.toml")
    err = info.value
    assert err.origin == "my-rules.toml"
    assert err.rule_id == rule_id
    assert err.field == field
    assert reason in err.reason
    assert str(err).startswith("my-rules.toml")


def test_duplicate_ids_across_files() -> None:
    a = parse_rules("[[rule]]\nid = 'x'\nterms = ['a']\n", "a.toml")
    b = parse_rules("[[rule]]\nid = 'x'\nterms = ['b']\n", "b.toml")
    with pytest.raises(RuleValidationError, match=r"a\.toml"):
        compile_rules([*a, *b])


def test_shorthands_and_metadata() -> None:
    [spec] = parse_rules(
        "[[rule]]\nid = 'x'\nname = 'X'\nseverity = 'high'\ntags = ['t']\n"
        "any = ['a', ['b', 'c'], { terms = 'd' }]\n",
        "f",
    )
    assert (spec.name, spec.severity, spec.tags, spec.fields) == (
        "X",
        "high",
        ("t",),
        ("title", "text"),
    )
