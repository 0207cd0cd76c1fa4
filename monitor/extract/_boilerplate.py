"""Lines that are page furniture, not article: the text-level half of boilerplate removal.

The HTML extractor removes most furniture by structure; what is left (and everything in text that was
extracted elsewhere) is recognised here by wording. Every rule is restricted to *short* lines unless the
wording cannot occur in prose, so an article that talks about cookies or newsletters keeps its sentences.
"""

from __future__ import annotations

import re

from monitor.extract._dates import parse_date_line

__all__ = ["is_boilerplate", "is_section_end", "strip_list_marker"]

_ALNUM = re.compile(r"[^\W_]")
_SHORT_WORDS = 14  # a line longer than this is prose unless its wording says otherwise

# Script/tag remnants such as "!-- Google tag (gtag.js) -->" or "<div class=...>".
_MARKUP = re.compile(
    r"<!--|-->|^!--|</?(?:script|style|div|span|iframe|noscript|img|a|p|br|meta|link)\b[^>]*>"
    r"|\bgtag\s*\(|\bdataLayer\b|document\.write\s*\(|\bfunction\s*\(\s*\)\s*\{",
    re.I,
)

_SHARE_OR_COMMENT = re.compile(
    r"^(?:share(?: this| the)?(?: article| story| post| page| on \w+)?|share via \w+|tweet(?: this)?"
    r"|pin(?: it)?|e-?mail(?: this)?(?: article)?|print(?: this)?(?: article| page)?|copy link|link copied"
    r"|save(?: article)?"
    r"|facebook|twitter|x|linkedin|whatsapp|reddit|telegram|flipboard|pinterest"
    r"|comments?|\d+ comments?|leave a (?:comment|reply)|post a comment|add a comment|view comments"
    r"|show comments|no comments(?: yet)?|be the first to comment\.?|join the (?:conversation|discussion)"
    r"|click (?:here )?to (?:share|print|email)\b.*|follow us(?: on .{0,40})?|listen to (?:this )?article"
    r"|\d+ min(?:ute)?s? read|reading time:? .{0,20}|advertisement|sponsored(?: content)?|ad|"
    r"story continues below(?: advertisement)?|continue reading(?: below)?|skip (?:to )?(?:main )?content"
    r"|skip advert(?:isement)?|back to top|top|home|menu|search|log ?in|sign in|register|next|previous"
    r"|prev|next (?:article|post|story)|previous (?:article|post|story)|toggle navigation|close|open)"
    r"[\s.:!|»›>]*$",
    re.I,
)
# WordPress-style meta lines: "Europe, News, US No Comments on <title>", "Comments Off on ...".
_COMMENT_META = re.compile(r"\b(?:no comments|comments off|\d+ comments?|one comment) on\b", re.I)

_NEWSLETTER = re.compile(
    r"^(?:subscribe|sign up|signup)\b|^(?:join|get)\b.{0,60}\b(?:newsletter|mailing list|inbox|updates)\b"
    r"|^enter your e-?mail(?: address)?\b|\bnewsletters?\b.{0,60}\b(?:sign up|subscribe|inbox)\b"
    r"|\b(?:sign up|subscribe)\b.{0,60}\bnewsletters?\b|\bunsubscribe\b|delivered (?:straight )?to your inbox"
    r"|^your e-?mail(?: address)?:?$",
    re.I,
)
_COOKIE = re.compile(
    r"\b(?:we|this (?:web)?site|our (?:web)?site|our partners) (?:uses?|stores?) cookies\b"
    r"|\baccept (?:all )?cookies\b|\bcookies? (?:policy|settings|preferences|consent|notice|banner)\b"
    r"|\bmanage (?:your )?(?:cookie|privacy) (?:settings|preferences|choices)\b"
    r"|\bby (?:continuing|using) (?:to (?:use|browse) )?(?:this|our) (?:web)?site\b",
    re.I,
)
_RELATED = re.compile(
    r"^(?:related(?: articles?| posts?| stories| content| reading| links| coverage| news| topics)?"
    r"|read (?:more|next|also)|also read|see also|more (?:from|on|in|about) .{1,60}"
    r"|more (?:stories|news|articles)"
    r"|you (?:may|might) also (?:like|enjoy|be interested in)|recommended(?: for you| reading| stories)?"
    r"|most (?:read|popular|viewed)|trending(?: now| stories)?|popular (?:posts|stories|articles)"
    r"|latest (?:news|stories|articles|posts)|further reading|don'?t miss|editor'?s picks|top stories"
    r"|recent posts|about the author|tags?|filed under|categories|topics)\s*:?$",
    re.I,
)
# "Read more: <headline>" style inline promotions.
_PROMO = re.compile(
    r"^(?:read (?:more|also|next)|also read|related|see also|watch|listen|must read)\s*[:|»›>-]\s*\S", re.I
)
_COPYRIGHT = re.compile(r"^(?:copyright\b|©|\(c\)\s*\d{4})|\ball rights reserved\b|^\s*\d{4}\s*©", re.I)
# Breadcrumbs and menus: "Home > News > World", "Europe | News | US".
_NAVIGATION = re.compile(
    r"^home\s*[>/»›|]|^(?:[\w&'.-]+(?: [\w&'.-]+){0,2}\s*[|•·»›>]\s*){2,}[\w&'.-]+(?: [\w&'.-]+){0,2}$"
)
_CAPTION = re.compile(
    r"\((?:photo|image|picture|pic|illustration|graphic|video|file photo)s?(?: credit)?s?\s*[:/].*\)\s*$"
    r"|^(?:photo|image|picture|pic|illustration|graphic|caption|photograph)s?(?: credits?)?\s*(?:by)?\s*[:|-]"
    r"|^credits?\s*:"
    r"|\b(?:getty images|shutterstock|ap photo|afp via getty|reuters/|istock(?:photo)?|via getty)\b",
    re.I,
)
_NAME = r"[A-Z][\w.'’-]*"
_NAMES = _NAME + r"(?:\s+" + _NAME + r"){0,4}"  # one to five capitalised words
_BYLINE = re.compile(
    r"^(?i:by|written by|posted by|words by|author|reporting by|edited by)\s*:?\s+"
    + _NAMES
    + r"(?:\s*(?:,|and|&)\s*"
    + _NAMES
    + r")*(?:\s*[|,•·-]\s*[A-Z0-9].{0,40})?$"
)
# "SOURCE: REUTERS", "Sources: AP, AFP", "sources interfax, rt" (a list of names, not a sentence).
_SOURCE = re.compile(
    r"^(?:sources?|via|credits?)\s*:\s*[\w.&' -]{1,40}(?:,\s*[\w.&' -]{1,40}){0,4}\.?$"
    r"|^sources?\s+[\w.&'-]+(?:\s*,\s*[\w.&'-]+)+\.?$",
    re.I,
)
# The footer WordPress appends to every feed item: "The post <title> appeared first on <site>."
_FEED_FOOTER = re.compile(r"^the (?:post|article) .{1,400} appeared first on .{1,200}$", re.I)
_LIST_MARKER = re.compile(r"^(?:[-*•▪►●◦]\s+)+")
_COMMENTS_HEADING = re.compile(
    r"^(?:comments?|leave a (?:comment|reply)|\d+ comments?|post a comment"
    r"|join the (?:conversation|discussion))"
    r"\s*:?$",
    re.I,
)


def strip_list_marker(line: str) -> str:
    """Drop a leading bullet ("- ", "• "); numbered items keep their number, it is often content."""
    if line[:1] in "-*•▪►●◦":
        return _LIST_MARKER.sub("", line, count=1)
    return line


def is_section_end(line: str) -> bool:
    """A heading after which a page has no more article: related lists, comments, footers."""
    if len(line) > 60:
        return False
    ends = bool(_RELATED.match(line) or _COMMENTS_HEADING.match(line) or _COPYRIGHT.search(line))
    # Always a subset of is_boilerplate: the heading itself is dropped too, which keeps cleaning idempotent.
    return ends and is_boilerplate(line)


def _has_markup(line: str, lower: str) -> bool:
    return (
        "<" in line or "-->" in line or "!--" in line or "gtag" in lower or "datalayer" in lower
        or "document.write" in lower or "function" in lower
    ) and bool(_MARKUP.search(line))


def _is_caption(line: str, lower: str) -> bool:
    return (
        "photo" in lower or "image" in lower or "picture" in lower or "pic" in lower or "credit" in lower
        or "illustration" in lower or "graphic" in lower or "caption" in lower or "getty" in lower
        or "shutterstock" in lower or "reuters/" in lower or "istock" in lower or "video" in lower
    ) and bool(_CAPTION.search(line))


def is_boilerplate(line: str) -> bool:
    """True when ``line`` (already whitespace-normalised) is furniture rather than article text.

    Plain substring tests gate every regular expression: most lines are prose and match none of them,
    and this runs on every line of every article.
    """
    if not line:
        return True
    if not _ALNUM.search(line):
        return True  # separators, ornaments, lone punctuation
    lower = line.lower()
    if _has_markup(line, lower):
        return True
    if "appeared first on" in lower and _FEED_FOOTER.match(line):
        return True
    words = line.count(" ") + 1
    if words <= 60 and (
        ("cookie" in lower and _COOKIE.search(line)) or ("comment" in lower and _COMMENT_META.search(line))
    ):
        return True
    if words > _SHORT_WORDS:
        return words <= 30 and line.endswith(")") and _is_caption(line, lower)
    return bool(
        _is_caption(line, lower)
        or (
            ("subscri" in lower or "sign" in lower or "mail" in lower or "newsletter" in lower
             or "inbox" in lower or "join" in lower or "get " in lower)
            and _NEWSLETTER.search(line)
        )
        or (
            ("copyright" in lower or "©" in line or "(c)" in lower or "rights reserved" in lower)
            and _COPYRIGHT.search(line)
        )
        or _SHARE_OR_COMMENT.match(line)
        or _RELATED.match(line)
        or _PROMO.match(line)
        or _NAVIGATION.match(line)
        or _BYLINE.match(line)
        or _SOURCE.match(line)
        or (len(line) <= 70 and parse_date_line(line) is not None)
    )
