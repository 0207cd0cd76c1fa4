"""Invented news texts for the story tests: three events in one fictional port city, two on one topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.stories import ArticleRecord

T0 = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)

STRIKE_WIRE = [
    "Dock workers at the Port of Trellmouth walked off the job on Monday, halting container traffic at "
    "the busiest harbour on the Aldric coast.",
    "The Harbour Workers Union said about 2,400 members joined the stoppage after talks with the Trellmouth "
    "Port Authority collapsed late on Sunday night.",
    "Union leader Mirela Kostova told reporters outside the main gate that the strike would continue until "
    "the authority withdrew its plan to automate three cranes.",
    "The authority's chief executive, Anton Brisk, called the walkout unlawful and said the cranes were "
    "needed to keep the port competitive with Velmar and Osterhaven.",
    "Shipping agents said at least eleven vessels were waiting at anchor outside the breakwater by midday.",
    "Mayor Elena Varga urged both sides to return to the table and offered the city hall as a venue.",
    "A spokesman for the regional transport ministry said contingency plans for fuel deliveries were in "
    "place.",
    "The last strike at Trellmouth, in 2019, lasted nine days and cost exporters an estimated 40 million "
    "crowns.",
    "Kostova said the union had warned the authority three times since January that automation without "
    "retraining was unacceptable.",
    "Brisk said the authority would meet the union again on Wednesday but would not drop the crane order.",
]
STRIKE_TITLE = "Trellmouth dock workers strike over crane automation"

# The same event, written independently by another outlet.
STRIKE_OTHER = [
    "Container traffic at Trellmouth ground to a halt on Monday as dockers began an open-ended strike "
    "against the automation of cranes.",
    "Mirela Kostova, who leads the Harbour Workers Union, said the Trellmouth Port Authority had ignored "
    "repeated warnings about job losses.",
    "Anton Brisk, head of the port authority, insisted the stoppage broke the law and that the three new "
    "cranes were essential.",
    "Queues of lorries stretched along the coast road, and agents counted eleven ships waiting offshore.",
    "Mayor Elena Varga offered to host new talks at city hall.",
    "Exporters fear a repeat of the 2019 stoppage, which lasted more than a week.",
]
STRIKE_OTHER_TITLE = "Port of Trellmouth paralysed as union walks out"

# Same topic, same city, a different event: a ferry collision in the harbour a day later.
FERRY = [
    "Two passengers were injured when a ferry struck a pier in Trellmouth harbour on Tuesday evening.",
    "The coastguard said the Northern Star ferry, arriving from Lindqvist Island with 180 people on board, "
    "lost steering in a strong crosswind.",
    "Captain Jonas Heller reported the failure minutes before the impact, according to a statement from "
    "the operator, Baltic Line Ferries.",
    "Investigators from the Maritime Accident Board were expected on Wednesday to examine the rudder.",
    "The injured passengers, a man and a woman, were taken to St Agnes hospital with minor fractures.",
    "Baltic Line Ferries cancelled its evening crossings to Lindqvist Island while the damage was assessed.",
    "Local residents said the pier had been due for repairs since a storm in the autumn.",
]
FERRY_TITLE = "Ferry hits pier in Trellmouth harbour, two hurt"

# Same topic again, a different port and different people: a strike elsewhere.
STRIKE_ELSEWHERE = [
    "Rail freight staff at Osterhaven junction stopped work on Monday in a dispute over night shifts.",
    "The Railway Freight Guild said 300 signal operators had joined the action led by Petra Lund.",
    "The operator, Osterhaven Rail Cargo, said grain trains to the interior would be delayed by a day.",
    "Lund said the guild wanted a fourth crew on every night shift before returning.",
    "Managing director Karl Fenwick said the company was ready to discuss rosters but not staffing levels.",
    "Farmers' groups warned that storage silos near Osterhaven were already close to full.",
]
STRIKE_ELSEWHERE_TITLE = "Osterhaven rail freight staff strike over night shifts"

SIGN_OFF = (
    "Reporting by Jane Merriman in Lisbon and Hugo Bastide in Marseille; Editing by Tom Brown and "
    "Alison Williams for the Northern Wire Service. "
    "Copyright Northern Wire Service, all rights reserved, no part may be republished without permission."
)

# Short, unrelated items that all carry the same wire sign-off.
UNRELATED = [
    (
        "Glassworks in Brenn to close",
        [
            "The century-old glassworks in Brenn will close in June, its owner Ilse Marquardt said.",
            "Ninety workers will be offered jobs at the group's plant in Sorel.",
            "Marquardt blamed energy prices that tripled in two years.",
        ],
    ),
    (
        "Cycling: Duarte wins mountain stage",
        [
            "Tomas Duarte won the queen stage of the Tour of the Sierras on Sunday after a solo attack.",
            "The Portuguese rider finished forty seconds ahead of defending champion Luca Ferrante.",
            "Ferrante keeps the leader's jersey with two stages left.",
        ],
    ),
    (
        "Museum returns bronze mask",
        [
            "The Royal Museum of Antiquities in Kessel handed a bronze mask back to the Republic of Umbala.",
            "Curator Agnes Holm said the mask had been taken by a colonial officer in 1898.",
            "Umbala's culture minister, Kofi Mensari, attended the ceremony in Kessel.",
        ],
    ),
    (
        "Central bank holds rates",
        [
            "The Bank of Varnia kept its main interest rate at 4.5 percent on Thursday.",
            "Governor Sofia Rendl said inflation was easing more slowly than forecast.",
            "Economists at Harlan Securities had expected a cut of a quarter point.",
        ],
    ),
    (
        "Wildfire near Calder contained",
        [
            "Firefighters contained a wildfire that burned 300 hectares of pine forest near Calder.",
            "The regional fire chief, Marta Oyelaran, said no homes had been lost.",
            "Two roads into the Calder valley remain closed while crews watch for flare-ups.",
        ],
    ),
    (
        "Chess: Ivanova takes title",
        [
            "Daria Ivanova won the national chess championship in Tellin with a round to spare.",
            "She beat grandmaster Piet Roelofs in the penultimate game after a long endgame.",
            "Ivanova qualifies for the candidates tournament in Madrigal next spring.",
        ],
    ),
]


def article(
    aid: int,
    title: str,
    sentences: list[str],
    *,
    hours: float = 0.0,
    source: str = "example.com",
) -> ArticleRecord:
    return ArticleRecord(aid, title, " ".join(sentences), T0 + timedelta(hours=hours), source)
