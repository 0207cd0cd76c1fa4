"""decode_html: the browser's order (BOM, HTTP charset, <meta>, detection), with every declaration checked."""

from __future__ import annotations

import codecs

import pytest

from monitor.extract import decode_html

TEXT = "Zoë’s café: “naïve” crème brûlée – 5 € … déjà vu"


def _page(charset_meta: str, body: str = TEXT) -> str:
    return f"<html><head>{charset_meta}<title>t</title></head><body><p>{body}</p></body></html>"


def test_bom_wins_over_every_declaration() -> None:
    data = codecs.BOM_UTF8 + _page('<meta charset="windows-1252">').encode("utf-8")
    text, encoding = decode_html(data, content_type="text/html; charset=iso-8859-1")
    assert encoding == "utf-8"
    assert TEXT in text
    assert not text.startswith("\ufeff")


def test_utf16_bom() -> None:
    data = codecs.BOM_UTF16_LE + _page("").encode("utf-16-le")
    text, encoding = decode_html(data)
    assert encoding == "utf-16-le"
    assert TEXT in text


def test_http_charset_used_when_meta_is_absent() -> None:
    data = _page("").encode("cp1252")
    text, encoding = decode_html(data, content_type='text/html; charset="ISO-8859-1"')
    assert encoding == "cp1252"  # browsers read iso-8859-1 as windows-1252: the curly quotes survive
    assert TEXT in text


def test_meta_charset_used_when_header_is_silent() -> None:
    data = _page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">').encode(
        "cp1252"
    )
    text, encoding = decode_html(data, content_type="text/html")
    assert encoding == "cp1252"
    assert TEXT in text


def test_http_charset_beats_meta() -> None:
    japanese = "港の朝市が三年ぶりに再開された。"
    data = _page('<meta charset="euc-jp">', japanese).encode("shift_jis")
    text, encoding = decode_html(data, content_type="text/html; charset=Shift_JIS")
    assert encoding == "cp932"
    assert japanese in text


def test_wrong_legacy_declaration_loses_to_valid_utf8() -> None:
    data = _page('<meta charset="iso-8859-1">').encode("utf-8")
    text, encoding = decode_html(data, content_type="text/html; charset=windows-1252")
    assert encoding == "utf-8"
    assert TEXT in text
    assert "Ã" not in text


def test_declaration_that_cannot_decode_is_skipped() -> None:
    # Declared UTF-8 in the header, really windows-1252: strict UTF-8 fails, the meta tag is right.
    data = _page('<meta charset="windows-1252">').encode("cp1252")
    text, encoding = decode_html(data, content_type="text/html; charset=utf-8")
    assert encoding == "cp1252"
    assert TEXT in text


def test_shift_jis_declared_in_meta_only() -> None:
    japanese = "漁師の田中さんは「朝早くから多くの人が来てくれて本当にうれしい」と話した。"
    data = _page('<meta charset="shift_jis">', japanese).encode("shift_jis")
    text, encoding = decode_html(data)
    assert encoding == "cp932"
    assert japanese in text


def test_undeclared_legacy_text_is_detected() -> None:
    body = "Привет, мир! Это тестовая страница новостей о погоде и транспорте в нашем городе. " * 5
    data = _page("", body).encode("cp1251")
    text, _encoding = decode_html(data)
    assert "Привет, мир!" in text


def test_undeclared_utf8_is_recognised_without_detection() -> None:
    text, encoding = decode_html(_page("").encode("utf-8"))
    assert (text, encoding) == (_page(""), "utf-8")


def test_unknown_label_is_ignored() -> None:
    data = _page('<meta charset="x-no-such-charset">').encode("utf-8")
    text, encoding = decode_html(data, content_type="text/html; charset=bogus")
    assert encoding == "utf-8"
    assert TEXT in text


@pytest.mark.parametrize("data", [b"", b"\xff\xfe\xfd", bytes(range(256))])
def test_never_raises(data: bytes) -> None:
    text, encoding = decode_html(data)
    assert isinstance(text, str)
    assert encoding
