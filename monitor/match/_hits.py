"""The hits of one article: for each matched watchlist, the sentence(s) its literals were found in.

This is the engine's fast path for what ``_snippet.build_hit`` defines (tests check that both agree).
At 100,000 watchlists an article has about 120 hits, so the costs per hit and per literal are what
count here:

* candidates are evaluated in the same pass, and a ``KeyTest`` names what its hit shows with no plan:
  its keys (a word, "stem*" or a word pair, in any field), which the tree walk shows too;
* each literal (a key, or a ``Ref`` from a plan) is found and its sentence located once per article,
  inline (sets of the view say title or body; a body word's first occurrence is one dict lookup, see
  ``FieldText.first_word``; the title's sentence is made once; body sentences come from the boundaries
  listed once per text), with its sentence's text and its span in it (``_Info``);
* watchlists showing the same literals share one snippet and spans (``made``);
* a snippet of one or two sentences that do not touch (nearly all) is one concatenation of sentence
  texts cut once per article (``_piece``), with the first literal's span as it is and only the second
  one's made for the snippet (a shared cache of spans by offsets cost more in lookups than it saved);
* ``WatchlistHit`` and ``Span`` are frozen dataclasses whose generated ``__init__`` sets each field with
  ``object.__setattr__``; ``make_hit`` sets the same slots through their descriptors, at half the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monitor.core import Span, WatchlistHit
from monitor.match._ast import Key, Term
from monitor.match._compile import KeyTest, Matcher
from monitor.match._snippet import Located, Part, locate, shown
from monitor.match._view import DocView
from monitor.match._witness import Plan, Ref, ref_ranges, resolve

__all__ = ["article_hits", "compose", "make_hit"]

_ELLIPSIS = "…"
_GAP = " … "


def _setter(cls: type, name: str) -> Callable[[object, object], None]:
    """The slot descriptor's ``__set__`` for field ``name`` (what ``object.__setattr__`` ends in)."""
    setter: Callable[[object, object], None] = vars(cls)[name].__set__
    return setter


_new = object.__new__
_set_id = _setter(WatchlistHit, "watchlist_id")
_set_snippet = _setter(WatchlistHit, "snippet")
_set_spans = _setter(WatchlistHit, "spans")
_set_start = _setter(Span, "start")
_set_end = _setter(Span, "end")


def make_hit(watchlist_id: int, snippet: str, spans: tuple[Span, ...]) -> WatchlistHit:
    """``WatchlistHit(watchlist_id, snippet, spans)``, set slot by slot as its ``__init__`` does."""
    hit: WatchlistHit = _new(WatchlistHit)
    _set_id(hit, watchlist_id)
    _set_snippet(hit, snippet)
    _set_spans(hit, spans)
    return hit


def article_hits(
    view: DocView,
    candidates: Sequence[int],
    tests: Sequence[KeyTest | Matcher],
    plans: list[Plan | None],
    ids: Sequence[int],
    compile_plan: Callable[[int], Plan],
) -> list[WatchlistHit]:
    """The hits of the candidates (internal numbers, sorted) whose test holds; ``ids`` maps internal
    numbers to watchlist ids.

    A ``KeyTest`` (most tests) is evaluated inline with set methods and names what its hit shows: its
    ``must`` keys and the first key present of each group, exactly what the tree walk (``witness``)
    shows for such a query, found while checking the groups. Other tests are closures, and their
    watchlists have a plan (``plans``, compiled by ``compile_plan`` on a first hit) that gives refs.
    """
    hits: list[WatchlistHit] = []
    made: dict[tuple[Key | Ref, ...], tuple[str, tuple[Span, ...]]] = {}
    located: dict[Key | Ref, list[_Info]] = {}
    if len(candidates) > 1:  # 97% of such articles locate several body sentences: skip the nearby scan
        view.body.expect_sentences()
    keys = view.any
    issuperset, isdisjoint = keys.issuperset, keys.isdisjoint
    refs: tuple[Key | Ref, ...]
    for n in candidates:
        test = tests[n]
        if isinstance(test, tuple):
            refs, absent, groups = test
            if not issuperset(refs) or not isdisjoint(absent):
                continue
            if groups:
                chosen: list[Key | Ref] = list(refs)
                for group in groups:
                    for key in group:
                        if key in keys:
                            chosen.append(key)
                            break
                    else:  # no key of the group is present
                        break
                if len(chosen) != len(refs) + len(groups):
                    continue
                refs = tuple(chosen)
        elif test(view):
            plan = plans[n]
            if plan is None:
                plan = plans[n] = compile_plan(n)
            refs = resolve(plan, view)
        else:
            continue
        made_for = made.get(refs)
        if made_for is None:
            if len(refs) == 1:
                infos = located.get(refs[0])
                if infos is None:
                    infos = located[refs[0]] = _infos(view, _locate(view, refs[0]))
            else:
                infos = []
                for ref in refs:
                    found = located.get(ref)
                    if found is None:
                        found = located[ref] = _infos(view, _locate(view, ref))
                    infos += found
            made_for = made[refs] = compose(view, infos)
        hit: WatchlistHit = _new(WatchlistHit)
        _set_id(hit, ids[n])
        _set_snippet(hit, made_for[0])
        _set_spans(hit, made_for[1])
        hits.append(hit)
    return hits


def _locate(view: DocView, ref: Key | Ref) -> list[Located]:
    """The located witness ranges of a key (a literal in any field) or a ``Ref``: as ``leaf_ranges``
    and ``locate`` find them, inline for keys (the sets of the view say whether the title has it)."""
    title, body = view.title, view.body
    first: tuple[int, int] | None
    if isinstance(ref, Ref):
        node = ref.node
        if type(node) is not Term or node.field != "any":
            return [locate(view, r) for r in ref_ranges(ref, view)]
        ref = node.word
    if isinstance(ref, tuple):
        field = title if ref in view.title_pairs else body
        first = field.first_phrase(ref)
    elif ref[-1] == "*":
        field = title
        first = title.first_prefix(ref[:-1])
        if first is None:
            field = body
            first = body.first_prefix(ref[:-1])
    elif ":" in ref:
        return []  # a filter shows nothing
    else:
        field = title if ref in view.title_keys else body
        first = field.first_word(ref)
    if first is None:  # pragma: no cover - a key of the view is in one of its fields
        return []
    if field is title:
        part = view.title_part
        if part is None:
            part = view.title_part = ("title", *title.whole())
        return [(part, *title.original(*first))]
    start, end = body.original(*first)
    return [(("body", *body.sentence(start, end)), start, end)]


# A located witness range with what every hit showing it needs, made once per article: its sentence, its
# original offsets, the sentence's text as a snippet shows it and the shift of offsets into that text
# (``_piece``), and its span in that text (the span it has in any snippet where that sentence is first).
_Info = tuple[Part, int, int, str, int, Span]


def _infos(view: DocView, found: list[Located]) -> list[_Info]:
    out: list[_Info] = []
    for part, start, end in found:
        text, base = _piece(view, part)
        out.append((part, start, end, text, base, _span(start + base, end + base)))
    return out


def compose(view: DocView, infos: list[_Info]) -> tuple[str, tuple[Span, ...]]:
    """``shown``, with fast paths for the usual hits: one or two sentences that do not touch; anything
    else (three sentences or more, sentences that overlap or touch) goes through ``shown``."""
    count = len(infos)
    if count == 1:  # one literal: the most common hit
        info = infos[0]
        return info[3], (info[5],)
    if count != 2:
        return shown(view, [info[:3] for info in infos])
    first, second = infos
    one, two = first[0], second[0]
    if one == two:  # one sentence: both spans are in its own text
        a, b = first[5], second[5]
        if (b.start, b.end) < (a.start, a.end):
            a, b = b, a
        return first[3], ((a,) if a == b else (a, b))
    if two[0] == "title" or (one[0] != "title" and two < one):  # title first, then in text order
        first, second, one, two = second, first, two, one
    if one[0] == two[0] and two[1] <= one[2] + 1:  # overlapping or touching sentences are merged
        return shown(view, [first[:3], second[:3]])
    text = first[3]
    shift = len(text) + len(_GAP) + second[4]
    return text + _GAP + second[3], (first[5], _span(second[1] + shift, second[2] + shift))


def _span(start: int, end: int) -> Span:
    """``Span(start, end)``, set slot by slot (see ``make_hit``)."""
    span: Span = _new(Span)
    _set_start(span, start)
    _set_end(span, end)
    return span


def _piece(view: DocView, part: Part) -> tuple[str, int]:
    """One sentence as a snippet shows it (with its ellipses), and the shift of its offsets into it."""
    piece = view.pieces.get(part)
    if piece is None:
        name, begin, finish, cut_begin, cut_end = part
        source = view.title.text if name == "title" else view.body.text
        text = source[begin:finish]
        if cut_begin:
            text = _ELLIPSIS + text
        if cut_end:
            text += _ELLIPSIS
        piece = view.pieces[part] = (text, (len(_ELLIPSIS) if cut_begin else 0) - begin)
    return piece
