"""Compiled rule sets: one combined scan per field, then condition evaluation with evidence."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from rules.errors import RuleValidationError
from rules.models import Document, Evidence, Field, RuleMatch
from rules.money import find_amounts
from rules.normalize import NormText, fold
from rules.scanner import Scanner, Term, term_variants, unit_seps
from rules.spec import (
    AllNode,
    AmountNode,
    AnyNode,
    EntityNode,
    NearNode,
    Node,
    NotNode,
    RegexNode,
    RuleSpec,
    Scope,
    TermsNode,
)

MAX_EVIDENCE = 8
_MAX_COMBOS = 64  # requirement sets of an `any` before they are merged into one
_FIELD_ORDER: dict[str, int] = {"title": 0, "text": 1, "url": 2, "source": 3}
_BREAK_RX = re.compile(r"[;!?\u3002\uff1b\uff01\uff1f]|\.(?=\s|$)")
_CJK_RX = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# A span in folded text: (field, start, end, term as written, amount in USD or None).
Span = tuple[str, int, int, str, float | None]
Result = tuple[bool, list[Span]]
_EXTENDS = ("word", "arabic", "infix")  # start classes whose stems extend to the word end


def _mid_word(text: str, i: int) -> bool:
    """Whether folded position ``i`` falls inside a (non-CJK) word."""
    if i <= 0 or i >= len(text):
        return False
    x, y = text[i - 1], text[i]
    return x.isalnum() and y.isalnum() and not _CJK_RX.match(x) and not _CJK_RX.match(y)


def gap_units(text: str, a: int, b: int) -> int:
    """Distance between folded positions ``a <= b``: words, each CJK character counting one.
    The rest of a word (a stem's ending, a particle) or the head of a compound is no word."""
    if b <= a:
        return 0
    gap = text[a:b]
    units = len(gap.split())
    if not gap.isascii():
        units += len(_CJK_RX.findall(gap))
    if units and _mid_word(text, a):
        units -= 1
    if units and _mid_word(text, b):
        units -= 1
    return units


_NEAR_TRIED = 5000  # anchors of a near tried at most (see RuleSet._eval_near)
_NEAR_KEPT = 200  # anchors with partners kept as evidence at most


class _SpanIndex:
    """Spans sorted by (field, start): the overlapping ones and the closest on each side of a
    span, in logarithmic time (distance only grows further away, so those decide "near")."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = sorted(spans, key=lambda x: (x[0], x[1]))
        self.keys = [(x[0], x[1]) for x in self.spans]
        self.maxlen = max((x[2] - x[1] for x in spans), default=0)

    def overlapping(self, s: Span) -> list[Span]:
        lo = bisect_left(self.keys, (s[0], s[1] - self.maxlen))
        hi = bisect_left(self.keys, (s[0], s[2]))
        return [x for x in self.spans[lo:hi] if x[2] > s[1]]

    def closest(self, s: Span) -> list[Span]:
        """The nearest non-overlapping span before ``s`` and after it (same field)."""
        out: list[Span] = []
        spans, keys, f = self.spans, self.keys, s[0]
        k = bisect_left(keys, (f, s[2]))
        if k < len(spans) and keys[k][0] == f:
            out.append(spans[k])
        j = bisect_left(keys, (f, s[1])) - 1
        left: Span | None = None
        floor = s[1] - 2 * self.maxlen - 1
        while j >= 0 and keys[j][0] == f:
            cand = spans[j]
            if cand[2] <= s[1] and (left is None or cand[2] > left[2]):
                left = cand
            if cand[1] < floor and left is not None:
                break
            j -= 1
        if left is not None:
            out.append(left)
        return out


class _Doc:
    """Per-document state: folded fields, occurrences by term id, amounts, memoised nodes."""

    def __init__(self, doc: Document, fields: Iterable[str], scanner: Scanner) -> None:
        self.norm: dict[str, NormText] = {}
        self.occ: dict[int, list[Span]] = {}
        self._amounts: dict[str, list[Span]] = {}
        self.memo: dict[tuple[int, tuple[str, ...]], Result] = {}
        self.satisfied: set[int] = set()  # numbers of the term-id sets with an occurrence
        self.stem_end: dict[tuple[str, int, int], int] = {}  # evidence of a stem: whole word
        for f in fields:
            raw = getattr(doc, f) or ""
            if not raw:
                continue
            nt = NormText(raw)
            self.norm[f] = nt
            text = nt.text
            n = len(text)
            occ = self.occ
            for term, s, e in scanner.scan(text):
                span = (f, s, e, term.source, None)
                found = occ.get(term.id)
                if found is None:
                    occ[term.id] = [span]
                else:
                    found.append(span)
                if term.end == "none" and term.start in _EXTENDS and e < n and text[e].isalnum():
                    stop = e
                    while stop < n and text[stop].isalnum():
                        stop += 1
                    self.stem_end[(f, s, e)] = stop

    def amounts(self, field: str) -> list[Span]:
        if field not in self._amounts:
            nt = self.norm.get(field)
            self._amounts[field] = (
                [
                    (field, a.start, a.end, _amount_label(a.usd), a.usd)
                    for a in find_amounts(nt.text)
                ]
                if nt
                else []
            )
        return self._amounts[field]

    def distance(self, x: Span, y: Span) -> int:
        """Words between two spans of the same field (0 when they overlap); a sentence or
        clause break (``;`` ``.`` ``?`` ``!`` ``。``) between them counts as one more word."""
        if x[1] < y[2] and y[1] < x[2]:
            return 0
        a, b = (x[2], y[1]) if x[1] <= y[1] else (y[2], x[1])
        text = self.norm[x[0]].text
        return gap_units(text, a, b) + len(_BREAK_RX.findall(text, a, b))

    def near(self, x: Span, y: Span, within: int) -> bool:
        if x[0] != y[0]:
            return False
        if x[1] < y[2] and y[1] < x[2]:
            return True
        a, b = (x[2], y[1]) if x[1] <= y[1] else (y[2], x[1])
        if b - a > 64 * (within + 1):  # no real text has words that long on average
            return False
        return gap_units(self.norm[x[0]].text, a, b) <= within


@dataclass(frozen=True)
class _Compiled:
    spec: RuleSpec
    root: Node


class RuleSet:
    """A compiled, immutable set of rules. ``match`` is thread-safe (no shared mutable state)."""

    def __init__(self, specs: Sequence[RuleSpec], capex_threshold_usd: float = 1e9) -> None:
        self.capex_threshold_usd = capex_threshold_usd
        by_id: dict[str, RuleSpec] = {}
        for spec in specs:
            if spec.id in by_id:
                raise RuleValidationError(
                    spec.origin,
                    spec.id,
                    "id",
                    f"duplicate rule id (also defined in {by_id[spec.id].origin})",
                )
            by_id[spec.id] = spec
        self.rules: Mapping[str, RuleSpec] = MappingProxyType(dict(sorted(by_id.items())))
        self.rule_ids: tuple[str, ...] = tuple(self.rules)
        self._term_ids: dict[str, tuple[int, ...]] = {}
        self._terms: dict[tuple[tuple[str, ...], str, str], Term] = {}
        self._regex: dict[str, re.Pattern[str]] = {}
        self._fields: set[str] = set()
        self._flat: dict[tuple[str, ...], tuple[tuple[int, ...], frozenset[int]]] = {}
        self._folded: dict[tuple[str, ...], frozenset[str]] = {}
        for spec in self.rules.values():
            self._fields.update(spec.fields)
            self._collect(spec.root)
        # Fields are scanned in a fixed order: the order of occurrences decides ties (which
        # partner a near picks), and a set's order changes with the process's hash seed, so
        # a worker and the main process could disagree on evidence and even on a match.
        self._field_order: tuple[str, ...] = tuple(sorted(self._fields))
        self.scanner = Scanner(list(self._terms.values()))
        # Per node: the term-id sets of which each needs an occurrence for it to be true (see
        # `_requirements`), numbered; the numbers each term id satisfies (inverted index).
        self._set_no: dict[frozenset[int], int] = {}
        self._sets_of_tid: dict[int, list[int]] = {}
        self._node_needs: dict[int, frozenset[int]] = {}  # id(node) -> set numbers
        self._req_memo: dict[int, tuple[frozenset[int], ...]] = {}
        self._near_order: dict[int, tuple[int, ...]] = {}  # id(near node) -> child order
        self._plan: list[tuple[str, RuleSpec, frozenset[int]]] = []
        for rid, spec in self.rules.items():
            self._requirements(spec.root)
            self._plan.append((rid, spec, self._node_needs.get(id(spec.root), frozenset())))
        for tids, number in self._set_no.items():
            for tid in tids:
                self._sets_of_tid.setdefault(tid, []).append(number)

    def __reduce__(self) -> tuple[type[RuleSet], tuple[tuple[RuleSpec, ...], float]]:
        """Pickled as its specs and compiled again when loaded (worker processes): the
        compiled tables are keyed by node identity, which does not survive a copy."""
        return (RuleSet, (tuple(self.rules.values()), self.capex_threshold_usd))

    @property
    def term_count(self) -> int:
        """Number of distinct compiled terms (aliases and keywords, with variants)."""
        return len(self._terms)

    # -- compilation ------------------------------------------------------------------------
    def _ids(self, written: str) -> tuple[int, ...]:
        if written not in self._term_ids:
            ids = []
            for units, start, end in term_variants(written):
                key = (units, start, end)
                if key not in self._terms:
                    tid = len(self._terms)
                    self._terms[key] = Term(
                        tid,
                        "".join(u for u in units if u != " "),
                        start,
                        end,
                        written,
                        units,
                        unit_seps(units),
                    )
                ids.append(self._terms[key].id)
            self._term_ids[written] = tuple(ids)
        return self._term_ids[written]

    def _collect_scope(self, scope: Scope) -> None:
        if scope.fields:
            self._fields.update(scope.fields)
        for veto, _, rival in scope.unless:
            self._collect(veto)
            if rival is not None:
                self._collect(rival)

    def _collect_terms(self, written: tuple[str, ...]) -> None:
        tids = tuple(t for w in written for t in self._ids(w))
        self._flat[written] = (tids, frozenset(tids))

    def _collect(self, node: Node) -> None:
        if isinstance(node, TermsNode):
            self._collect_terms(node.terms)
            self._collect_scope(node.scope)
        elif isinstance(node, EntityNode):
            for written in (node.aliases, node.ambiguous, node.exclude):
                self._collect_terms(written)
            if node.context is not None:
                self._collect(node.context)
            if node.capitalised:
                self._folded[node.capitalised] = frozenset(
                    fold(c).replace(" ", "").replace("-", "") for c in node.capitalised
                )
            self._collect_scope(node.scope)
        elif isinstance(node, RegexNode):
            self._regex[node.pattern] = re.compile(node.pattern)
            self._collect_scope(node.scope)
        elif isinstance(node, AmountNode):
            self._collect_scope(node.scope)
        elif isinstance(node, AllNode | AnyNode):
            for c in node.children:
                self._collect(c)
        elif isinstance(node, NotNode):
            self._collect(node.child)
        elif isinstance(node, NearNode):
            for c in node.children:
                self._collect(c)
            self._collect_scope(node.scope)

    def _requirements(self, node: Node) -> tuple[frozenset[int], ...]:
        """Term-id sets that each need an occurrence for ``node`` to be true (a conjunction of
        disjunctions); empty when ``node`` can be true without any term (`not`, `regex`,
        `amount`). A veto only removes spans, so it adds nothing. Records the sets' numbers
        for every node with a requirement, vetoes and contexts included."""
        done = self._req_memo.get(id(node))
        if done is not None:
            return done
        if isinstance(node, NearNode):
            self._near_order[id(node)] = _near_order(node)
        sets = self._requirements_uncached(node)
        self._req_memo[id(node)] = sets
        if sets:
            numbers = [self._set_no.setdefault(x, len(self._set_no)) for x in sets]
            self._node_needs[id(node)] = frozenset(numbers)
        for sub in _subnodes(node):
            self._requirements(sub)
        return sets

    def _requirements_uncached(self, node: Node) -> tuple[frozenset[int], ...]:
        if isinstance(node, TermsNode):
            return (frozenset(t for w in node.terms for t in self._term_ids[w]),)
        if isinstance(node, EntityNode):
            written = (*node.aliases, *node.ambiguous)
            return (frozenset(t for w in written for t in self._term_ids[w]),)
        if isinstance(node, AllNode | NearNode):
            return _dedup(c for child in node.children for c in self._requirements(child))
        if isinstance(node, AnyNode):
            # One child must be true: every choice of one set per child, joined, is needed.
            options = [self._requirements(child) for child in node.children]
            if not options or not all(options):
                return ()
            combos: list[frozenset[int]] = [frozenset()]
            for sets in options:
                if len(combos) * len(sets) > _MAX_COMBOS:
                    joined = frozenset(t for o in options for c in o for t in c)
                    return (joined,)
                combos = [c | x for c in combos for x in sets]
            return _dedup(combos)
        return ()

    # -- evaluation -------------------------------------------------------------------------
    def _term_spans(self, st: _Doc, written: tuple[str, ...]) -> list[Span]:
        tids, wanted = self._flat[written]  # filled at compile time: match stays read-only
        occ = st.occ
        out: list[Span] = []
        if len(occ) < len(tids):
            for tid, spans in occ.items():
                if tid in wanted:
                    out.extend(spans)
            return out
        for tid in tids:
            found = occ.get(tid)
            if found:
                out.extend(found)
        return out

    def _apply_scope(
        self, st: _Doc, spans: list[Span], scope: Scope, fields: tuple[str, ...]
    ) -> list[Span]:
        allowed = scope.fields or fields
        spans = [s for s in spans if s[0] in allowed]
        every = ("title", "text", "url", "source")
        for node, within, rival in scope.unless:
            if not spans:
                break
            ok, veto = self._eval(st, node, every)
            if not (ok and veto):
                continue
            index = _SpanIndex(veto)
            rivals: _SpanIndex | None = None
            if rival is not None:
                r_ok, r_spans = self._eval(st, rival, every)
                rivals = _SpanIndex(r_spans) if r_ok and r_spans else None
            kept = []
            for s in spans:
                near = [
                    v for v in (*index.overlapping(s), *index.closest(s)) if st.near(s, v, within)
                ]
                if near and rivals is not None:
                    # the veto holds only where it is strictly closer than the rival
                    best = min(st.distance(s, v) for v in near)
                    rival_near = [
                        r
                        for r in (*rivals.overlapping(s), *rivals.closest(s))
                        if r[0] == s[0] and not _same(r, s)
                    ]
                    if rival_near and min(st.distance(s, r) for r in rival_near) <= best:
                        near = []
                if not near:
                    kept.append(s)
            spans = kept
        return spans

    def _eval(self, st: _Doc, node: Node, fields: tuple[str, ...]) -> Result:
        key = (id(node), fields)
        hit = st.memo.get(key)
        if hit is not None:
            return hit
        needed = self._node_needs.get(id(node))
        if needed is not None and not needed <= st.satisfied:
            return False, []  # a term it needs does not occur
        # one dict lookup on the exact node type (every type of `Node` is in the table: tested)
        res = _EVALUATORS[type(node)](self, st, node, fields)
        st.memo[key] = res
        return res

    def _eval_terms(self, st: _Doc, node: TermsNode, fields: tuple[str, ...]) -> Result:
        spans = self._apply_scope(st, self._term_spans(st, node.terms), node.scope, fields)
        return bool(spans), spans

    def _eval_regex(self, st: _Doc, node: RegexNode, fields: tuple[str, ...]) -> Result:
        rx = self._regex[node.pattern]
        spans: list[Span] = [
            (f, m.start(), m.end(), node.pattern, None)
            for f in (node.scope.fields or fields)
            if f in st.norm
            for m in rx.finditer(st.norm[f].text)
            if m.end() > m.start()
        ]
        spans = self._apply_scope(st, spans, node.scope, fields)
        return bool(spans), spans

    def _eval_amount(self, st: _Doc, node: AmountNode, fields: tuple[str, ...]) -> Result:
        floor = self.capex_threshold_usd if node.min_usd is None else node.min_usd
        spans = [
            s
            for f in (node.scope.fields or fields)
            for s in st.amounts(f)
            if s[4] is not None and s[4] >= floor
        ]
        spans = self._apply_scope(st, spans, node.scope, fields)
        return bool(spans), spans

    def _eval_all(self, st: _Doc, node: AllNode, fields: tuple[str, ...]) -> Result:
        out: list[Span] = []
        for c in node.children:
            ok, spans = self._eval(st, c, fields)
            if not ok:
                return False, []
            out.extend(spans)
        return True, out

    def _eval_any(self, st: _Doc, node: AnyNode, fields: tuple[str, ...]) -> Result:
        out: list[Span] = []
        any_ok = False
        for c in node.children:
            ok, spans = self._eval(st, c, fields)
            if ok:
                any_ok = True
                out.extend(spans)
        return any_ok, out

    def _eval_not(self, st: _Doc, node: NotNode, fields: tuple[str, ...]) -> Result:
        ok, _ = self._eval(st, node.child, fields)
        return not ok, []

    def _eval_near(self, st: _Doc, node: NearNode, fields: tuple[str, ...]) -> Result:
        # Occurrences of different children must not overlap (the same words are not two
        # pieces of evidence). Amounts first: the children with terms are most likely true by
        # now (their terms occur, see `_eval`), a money amount is the rare part.
        order = self._near_order.get(id(node))
        if order is None:
            order = _near_order(node)
        got: dict[int, Result] = {}
        for i in order:
            ok, spans = self._eval(st, node.children[i], fields)
            if not (ok and spans):
                return False, []
            got[i] = (ok, spans)
        results = [got[i] for i in range(len(node.children))]
        anchors = results[0][1]
        # Other children's occurrences sorted by (field, start), searched only in a window
        # around each anchor: linear-ish even with thousands of occurrences.
        others = [_SpanIndex(spans) for _, spans in results[1:]]
        out: list[Span] = []
        kept = 0
        # Bounded for hostile text (each anchor costs a few bisections per other child): up
        # to _NEAR_TRIED anchors are tried and _NEAR_KEPT that have partners kept, so a
        # partner after the first 200 anchors (a name repeated all through a page) is found.
        for a in anchors[:_NEAR_TRIED]:
            picked = []
            for index in others:
                best = next((b for b in index.closest(a) if st.near(a, b, node.within)), None)
                if best is None:
                    break
                picked.append(best)
            else:
                out.append(a)
                out.extend(picked)
                kept += 1
                if kept == _NEAR_KEPT:
                    break
        out = self._apply_scope(st, out, node.scope, fields)
        return bool(out), out

    def _eval_entity(self, st: _Doc, node: EntityNode, fields: tuple[str, ...]) -> Result:
        spans = self._term_spans(st, node.aliases)
        if node.ambiguous:
            amb = self._term_spans(st, node.ambiguous)
            if node.capitalised and amb:
                amb = [s for s in amb if not self._lower_case(st, s, node.capitalised)]
            if amb and node.context is not None:
                ok, ctx = self._eval(st, node.context, ("title", "text"))
                if ok and ctx:
                    index = _SpanIndex(ctx)
                    within = node.context_within
                    for s in amb:
                        if within is None:
                            # Anywhere in the document, but not the occurrence itself.
                            if len(ctx) > len(index.overlapping(s)):
                                spans.append(s)
                        elif any(st.near(s, c, within) for c in index.closest(s)):
                            spans.append(s)
        if node.exclude and spans:
            ex = self._term_spans(st, node.exclude)
            if ex:
                ex_index = _SpanIndex(ex)
                spans = [s for s in spans if not ex_index.overlapping(s)]
        spans = self._apply_scope(st, spans, node.scope, fields)
        return bool(spans), spans

    def _lower_case(self, st: _Doc, s: Span, capitalised: tuple[str, ...]) -> bool:
        """Whether ``s`` is one of ``capitalised`` written with a lower-case first letter."""
        folded = self._folded[capitalised]  # filled at compile time: match stays read-only
        nt = st.norm[s[0]]
        if nt.text[s[1] : s[2]].replace(" ", "").replace("-", "") not in folded:
            return False
        a, _ = nt.span(s[1], s[2])
        return nt.original[a : a + 1].islower()

    # -- public ---------------------------------------------------------------------------------
    def match(self, doc: Document) -> list[RuleMatch]:
        """Every rule that matches ``doc``, sorted by rule id, each with its evidence."""
        st = _Doc(doc, self._field_order, self.scanner)
        if not st.norm:
            return []
        lang = (doc.language or "").split("-")[0].split("_")[0].lower()
        satisfied = st.satisfied
        sets_of_tid = self._sets_of_tid
        for tid in st.occ:
            found = sets_of_tid.get(tid)
            if found:
                satisfied.update(found)
        out: list[RuleMatch] = []
        for rid, spec, needed in self._plan:
            if needed and not needed <= satisfied:
                continue  # a term the rule needs does not occur: it cannot match
            if spec.languages and lang and lang not in spec.languages:
                continue
            ok, spans = self._eval(st, spec.root, spec.fields)
            if not ok or not spans:
                continue
            evidence = self._evidence(st, spans)
            amounts = [s[4] for s in spans if s[4] is not None]
            out.append(
                RuleMatch(
                    rule=rid,
                    name=spec.name,
                    severity=spec.severity,
                    tags=spec.tags,
                    evidence=evidence,
                    amount_usd=max(amounts) if amounts else None,
                )
            )
        return out

    def _evidence(self, st: _Doc, spans: list[Span]) -> tuple[Evidence, ...]:
        seen: set[tuple[str, int, int]] = set()
        ordered: list[Span] = []
        last: Span | None = None
        for s in sorted(spans, key=lambda s: (_FIELD_ORDER[s[0]], s[1], -s[2])):
            k = (s[0], s[1], s[2])
            if k in seen:
                continue
            if last is not None and last[0] == s[0] and s[2] <= last[2] and s[4] is None:
                continue  # nested inside the previous span
            last = s
            seen.add(k)
            ordered.append(s)
        # Keep amounts first among the evidence when there are many spans.
        ordered.sort(key=lambda s: s[4] is None)
        ordered = sorted(ordered[:MAX_EVIDENCE], key=lambda s: (_FIELD_ORDER[s[0]], s[1]))
        out = []
        for f, start, end, term, _ in ordered:
            end = st.stem_end.get((f, start, end), end)
            nt = st.norm[f]
            a, b = nt.span(start, end)
            out.append(
                Evidence(
                    field=_field(f),
                    start=a,
                    end=b,
                    text=nt.original[a:b],
                    term=term,
                    snippet=nt.snippet(a, b),
                )
            )
        return tuple(out)


# Node type -> its evaluation (RuleSet._eval dispatches on the exact type).
_EVALUATORS: dict[type, Callable[[RuleSet, _Doc, Node, tuple[str, ...]], Result]] = {
    TermsNode: RuleSet._eval_terms,  # type: ignore[dict-item]
    EntityNode: RuleSet._eval_entity,  # type: ignore[dict-item]
    RegexNode: RuleSet._eval_regex,  # type: ignore[dict-item]
    AmountNode: RuleSet._eval_amount,  # type: ignore[dict-item]
    AllNode: RuleSet._eval_all,  # type: ignore[dict-item]
    AnyNode: RuleSet._eval_any,  # type: ignore[dict-item]
    NotNode: RuleSet._eval_not,  # type: ignore[dict-item]
    NearNode: RuleSet._eval_near,  # type: ignore[dict-item]
}


def _near_order(node: NearNode) -> tuple[int, ...]:
    """The order a `near` evaluates its children in: amounts first (see `_eval_near`)."""
    children = node.children
    return tuple(
        sorted(range(len(children)), key=lambda i: not isinstance(children[i], AmountNode))
    )


def _same(x: Span, y: Span) -> bool:
    return x[0] == y[0] and x[1] == y[1] and x[2] == y[2]


def _subnodes(node: Node) -> list[Node]:
    """Every node evaluated on behalf of ``node``: children, context, vetoes and rivals."""
    out: list[Node] = []
    if isinstance(node, AllNode | AnyNode | NearNode):
        out.extend(node.children)
    elif isinstance(node, NotNode):
        out.append(node.child)
    elif isinstance(node, EntityNode) and node.context is not None:
        out.append(node.context)
    scope = getattr(node, "scope", None)
    if isinstance(scope, Scope):
        for veto, _, rival in scope.unless:
            out.append(veto)
            if rival is not None:
                out.append(rival)
    return out


def _dedup(sets: Iterable[frozenset[int]]) -> tuple[frozenset[int], ...]:
    """Distinct sets, smallest first, without any set that contains another (implied)."""
    out: list[frozenset[int]] = []
    for x in sorted(set(sets), key=len):
        if not any(y <= x for y in out):
            out.append(x)
    return tuple(out)


def _amount_label(usd: float) -> str:
    if usd >= 1e9:
        return f"amount ~${usd / 1e9:,.1f} billion"
    return f"amount ~${usd:,.0f}"


def _field(f: str) -> Field:
    if f == "title":
        return "title"
    if f == "url":
        return "url"
    if f == "source":
        return "source"
    return "text"


def compile_rules(specs: Sequence[RuleSpec], *, capex_threshold_usd: float = 1e9) -> RuleSet:
    """Compile validated rule specs into a :class:`RuleSet` (raises on duplicate rule ids)."""
    return RuleSet(specs, capex_threshold_usd)
