"""Bytes to text the way a browser does it, plus the checks a browser does not make.

Extractors guess encodings on their own when handed bytes, and guess wrongly often enough to matter
(a page declared ``iso-8859-1`` that is really UTF-8 comes out as ``Ã©`` everywhere). So we decode
ourselves, in the browser's order: byte-order mark, the HTTP ``charset`` parameter, the ``<meta>``
declaration, then detection (charset-normalizer). Unlike a browser we *verify* each declared candidate:
it must decode without error, and a legacy single-byte declaration loses to UTF-8 when the bytes are
valid, non-ASCII UTF-8 (real windows-1252 prose is practically never valid UTF-8, so that case is a
wrong declaration, not a coincidence).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

__all__ = ["decode_html"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# WHATWG Encoding Standard label aliases that differ from Python's codec of the same name: browsers
# decode "iso-8859-1" and "ascii" as windows-1252, "shift_jis" as windows-31j, "gb2312" as gb18030...
# Matching them means we show what the publisher saw in their browser.
_WHATWG_ALIASES: dict[str, str] = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "cp819": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "windows-949": "cp949",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
}

# Codecs in which (almost) every byte sequence decodes, so a successful decode proves nothing.
_PERMISSIVE = frozenset(
    {"cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
     "cp874", "latin_1", "iso8859_2", "iso8859_15", "koi8_r", "koi8_u", "mac_roman"}
)

_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# The <meta charset=...> and <meta http-equiv=content-type content="...charset=..."> forms, and the XML
# declaration. The HTML prescan reads 1024 bytes; real pages often put the declaration after a wall of
# inline scripts, so we read further (the UTF-8 check below protects us from a stray match).
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml\b[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.I
)
_PRESCAN_BYTES = 16384
_DETECT_BYTES = 262144


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when the label is unknown or unusable."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG_ALIASES.get(label, label)
    if label in ("x-user-defined", "replacement", "binary", "none"):
        return None
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _bom(data: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def _http_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HTTP_CHARSET.search(content_type)
    return _codec(match.group(1)) if match else None


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:_PRESCAN_BYTES])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "ignore")
    codec = _codec(label)
    # A meta prescan only works on ASCII-compatible bytes, so a "utf-16" declaration found this way is a
    # lie; the HTML standard says to use UTF-8 then.
    if codec and codec.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return codec


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf8(data: bytes) -> str | None:
    return _try(data, "utf-8")


def _detect(data: bytes) -> str | None:
    best = from_bytes(data[:_DETECT_BYTES]).best()
    return _codec(best.encoding) if best is not None else None


def _accept(data: bytes, codec: str, utf8_text: str | None) -> str | None:
    """The decoded text if ``codec`` is believable for ``data``, else None."""
    if codec != "utf-8" and codec in _PERMISSIVE and utf8_text is not None and not data.isascii():
        return None  # valid non-ASCII UTF-8 declared as a legacy code page: the declaration is wrong
    return utf8_text if codec == "utf-8" else _try(data, codec)


def decode_html(data: bytes, *, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML (or text) payload; return ``(text, codec_name)``.

    Order: BOM, HTTP charset, ``<meta>`` charset, then detection, each checked (see module docstring).
    If nothing decodes cleanly, the least damaged reading wins (fewest replacement characters), so the
    caller always gets text back. ``codec_name`` is Python's name for the codec used (``utf-8``,
    ``cp1252``, ``cp932``...).
    """
    bom = _bom(data)
    if bom is not None:
        name, size = bom
        return data[size:].decode(name, "replace"), name
    utf8_text = _utf8(data)
    for codec in (_http_charset(content_type), _meta_charset(data)):
        if codec is None:
            continue
        text = _accept(data, codec, utf8_text)
        if text is not None:
            return text, codec
    if utf8_text is not None:
        return utf8_text, "utf-8"
    detected = _detect(data)
    if detected is not None:
        text = _try(data, detected)
        if text is not None:
            return text, detected
    # Nothing decodes strictly: take the reading with the fewest replacement characters.
    candidates = [c for c in (_http_charset(content_type), _meta_charset(data), detected) if c]
    candidates += ["utf-8", "cp1252"]
    best_text, best_codec = "", "utf-8"
    best_bad = -1
    for codec in dict.fromkeys(candidates):
        text = data.decode(codec, "replace")
        bad = text.count("\ufffd")
        if best_bad < 0 or bad < best_bad:
            best_text, best_codec, best_bad = text, codec, bad
    return best_text, best_codec
