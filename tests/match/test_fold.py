"""Folding and word cutting: the definition of "the same word"."""

from __future__ import annotations

import sys

import pytest

from monitor.match._fold import OffsetMap, char_tokens, clean, fold, fold_char, replace_non_ascii, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NATO", ["nato"]),
        ("Erdoğan", ["erdogan"]),
        ("İstanbul", ["istanbul"]),  # dotted capital I: casefold gives i + combining dot, dropped
        ("ıstanbul", ["istanbul"]),  # dotless small i: explicit map
        ("ISTANBUL", ["istanbul"]),
        ("Straße", ["strasse"]),
        ("STRASSE", ["strasse"]),
        ("ﬁnance", ["finance"]),  # ligature fi
        ("Æsir æsir", ["aesir", "aesir"]),
        ("œuvre Œuvre", ["oeuvre", "oeuvre"]),
        ("Łódź", ["lodz"]),
        ("Øresund", ["oresund"]),
        ("Đorđe", ["dorde"]),
        ("Þór", ["thor"]),
        ("ＮＡＴＯ", ["nato"]),  # full-width
        ("naïve café", ["naive", "cafe"]),
        ("Cafe\u0301", ["cafe"]),  # decomposed accent
        ("Київ", ["киів"]),  # Cyrillic keeps its letters, loses the diaeresis
        ("Ἀθῆναι", ["αθηναι"]),
    ],
)
def test_folding(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia's forces", ["russia", "forces"]),
        ("Russia’s forces", ["russia", "forces"]),  # curly apostrophe
        ("Russiaʼs forces", ["russia", "forces"]),  # modifier letter apostrophe
        ("RUSSIA'S", ["russia"]),
        ("the states' rights", ["the", "states", "rights"]),
        ("O'Brien", ["o", "brien"]),
        ("l'Ukraine", ["l", "ukraine"]),  # elision: the name stays a word
        ("don't", ["don", "t"]),
        ("it's'", ["it"]),
        ("'s", []),
        ("cease-fire", ["cease", "fire"]),
        ("U.S.", ["u", "s"]),
        ("U.S.-led", ["u", "s", "led"]),
        ("1,000.5", ["1", "000", "5"]),
        ("snake_case", ["snake", "case"]),
        ("a\u00a0b\u2003c", ["a", "b", "c"]),  # non-breaking and em spaces
        ("word—word…end", ["word", "word", "end"]),
    ],
)
def test_word_cutting(text: str, expected: list[str]) -> None:
    assert words(text) == expected
    assert [w for w, _s, _e in char_tokens(text)] == expected


def test_fast_fold_matches_definition_on_every_bmp_character() -> None:
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    text = "".join(chars)
    assert fold(text) == "".join(fold_char(c) for c in chars)


def test_fold_is_idempotent_on_every_bmp_character() -> None:
    for code in range(0x10000):
        folded = fold_char(chr(code))
        assert fold(folded) == folded, hex(code)


def test_clean_keeps_length_and_only_leaves_words_and_spaces() -> None:
    folded = fold("Russia’s «troops», O'Brien's—U.S. 'sic' rock'n'roll's")
    cleaned = clean(folded)
    assert len(cleaned) == len(folded)
    assert set(cleaned) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")
    assert cleaned.split() == ["russia", "troops", "o", "brien", "u", "s", "sic", "rock", "n", "roll"]


def test_replace_non_ascii_leaves_ascii_text_alone() -> None:
    text = "Plain ASCII, Text."
    assert replace_non_ascii(text) is text


@pytest.mark.parametrize(
    "text",
    ["plain ascii", "Straße ﬁne… x", "Cafe\u0301 noir", "½ İ ß æ", "", "\u0301\u0301abc", "ǅ Ǆ ŉ"],
)
def test_offset_map_points_back_to_the_original_word(text: str) -> None:
    cleaned = clean(fold(text))
    mapping = OffsetMap(text)
    starts = [i for i in range(len(cleaned)) if cleaned[i] != " " and (i == 0 or cleaned[i - 1] == " ")]
    expected = [(s, e) for _w, s, e in char_tokens(text)]
    got = []
    for start, (word, _s, _e) in zip(starts, char_tokens(text), strict=True):
        got.append((mapping.start(start), mapping.end(start + len(word))))
    assert got == expected


def test_offset_map_examples() -> None:
    text = "Straße ﬁne… Cafe\u0301 x"
    mapping = OffsetMap(text)
    folded = fold(text)
    assert folded == "strasse fine... cafe x"
    assert text[mapping.start(0) : mapping.end(7)] == "Straße"
    assert text[mapping.start(8) : mapping.end(12)] == "ﬁne"
    assert text[mapping.start(16) : mapping.end(20)] == "Cafe\u0301"


def test_folding_a_non_bmp_character() -> None:
    if sys.maxunicode < 0x1D400:  # pragma: no cover - narrow builds do not exist any more
        pytest.skip("narrow build")
    assert words("\U0001d40d\U0001d400\U0001d413\U0001d40e") == ["nato"]  # mathematical bold NATO
