"""Invented coverage of one event by six outlets (a wire story, two wire copies, three write-ups of their
own), plus an unrelated article, served as RSS feeds with full content for the end-to-end tests."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

WIRE = [
    "A chemical tanker caught fire at the port of Kelmsport early on Thursday, forcing the evacuation of "
    "two terminals and the closure of the Saltmarsh bridge.",
    "The Aurora Grace, carrying 14,000 tonnes of methanol, was unloading at berth nine when a pump room "
    "explosion was reported shortly after 4 a.m., harbour master Ingrid Velasco said.",
    "All 22 crew members were brought ashore, and three were treated for smoke inhalation at Kelmsport "
    "General Hospital.",
    "Fire crews from four districts fought the blaze with foam for six hours before declaring it "
    "contained at midday.",
    "Velasco said there was no sign of a leak into the estuary, but booms were laid around the vessel as "
    "a precaution.",
    "The Kelmsport Port Authority suspended all tanker traffic until further notice and diverted three "
    "ships to Dunmere.",
    "Residents of the Quayside district were told to keep windows closed while air quality was checked.",
    "The ship's operator, Northline Shipping, said it was cooperating with investigators and would "
    "publish its own account of the incident.",
]
WIRE_TITLE = "Tanker fire shuts Kelmsport terminals, crew rescued"

OTHER_D = [
    "Thick black smoke hung over Kelmsport on Thursday after fire broke out aboard the methanol tanker "
    "Aurora Grace at berth nine.",
    "Harbour master Ingrid Velasco said the crew of 22 had been evacuated and that three sailors were "
    "being treated in hospital.",
    "The Saltmarsh bridge was closed for most of the morning and tanker traffic in the port was halted.",
    "Northline Shipping, which operates the vessel, said an inquiry into the pump room explosion had begun.",
    "Fishermen on the estuary said they had watched the flames from several miles away.",
]
OTHER_D_TITLE = "Methanol tanker ablaze in Kelmsport harbour"

OTHER_E = [
    "Investigators are trying to establish what caused an explosion aboard the Aurora Grace, the tanker "
    "that burned for six hours in Kelmsport on Thursday.",
    "Ingrid Velasco, the harbour master, praised fire crews who kept the blaze away from the methanol tanks.",
    "The Kelmsport Port Authority diverted ships to Dunmere and told Quayside residents to stay indoors.",
    "Northline Shipping said all 22 crew were safe.",
]
OTHER_E_TITLE = "Kelmsport port closed to tankers after Aurora Grace blaze"

OTHER_F = [
    "Tanker traffic resumed at Kelmsport on Friday, a day after the Aurora Grace fire closed two terminals.",
    "Harbour master Ingrid Velasco said divers had found no damage to berth nine and no methanol in the "
    "estuary.",
    "Northline Shipping said the tanker would be towed to Dunmere for inspection once investigators "
    "allowed it.",
    "The Saltmarsh bridge reopened overnight.",
]
OTHER_F_TITLE = "Kelmsport reopens to tankers a day after Aurora Grace fire"

UNRELATED = [
    "The Kelmsport city council approved a new cycling lane along the old tram route on Wednesday evening.",
    "Councillor Moira Haddad said the two-kilometre lane would connect the university with the market hall.",
    "Work is due to start in the spring and will cost about 3 million crowns.",
    "Shopkeepers on Tram Street asked for loading bays to be kept during construction.",
]
UNRELATED_TITLE = "Council backs cycling lane on old tram route"

COPY_FOOTER = "Reporting by the Meridian Press desk; editing by Tomas Reyes."


@dataclass(frozen=True)
class Item:
    slug: str
    title: str
    paragraphs: list[str]


def outlets() -> dict[str, list[Item]]:
    """Outlet name -> its feed items. ``sixth`` is the outlet that reports later."""
    return {
        "meridian-press": [
            Item("tanker-fire", WIRE_TITLE, WIRE),
            Item("cycle-lane", UNRELATED_TITLE, UNRELATED),
        ],
        "coast-herald": [Item("port-blaze", "Port blaze: crew saved as tanker burns", [*WIRE, COPY_FOOTER])],
        "daily-ledger": [Item("kelmsport-fire", "Fire on methanol ship closes Kelmsport port", WIRE[:6])],
        "harbour-times": [Item("smoke-over-kelmsport", OTHER_D_TITLE, OTHER_D)],
        "estuary-news": [Item("aurora-grace", OTHER_E_TITLE, OTHER_E)],
        "sixth": [Item("reopens", OTHER_F_TITLE, OTHER_F)],
    }


def rss(base: str, outlet: str, items: list[Item], *, when: datetime) -> str:
    """An RSS 2.0 feed with the full text in ``content:encoded`` (the sources trust feed content)."""
    entries = []
    for it in items:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in it.paragraphs)
        entries.append(
            f"<item><title>{html.escape(it.title)}</title><link>{base}/{outlet}/{it.slug}.html</link>"
            f"<guid>{base}/{outlet}/{it.slug}</guid><pubDate>{format_datetime(when)}</pubDate>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{outlet}</title><link>{base}/{outlet}/</link><description>{outlet}</description>"
        + "".join(entries)
        + "</channel></rss>"
    )
