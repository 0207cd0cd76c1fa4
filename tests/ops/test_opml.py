"""``monitor source import-opml`` / ``export-opml``: a feed reader's real-world-shaped export, round trip."""

from __future__ import annotations

from pathlib import Path

from defusedxml.ElementTree import fromstring

from tests.ops.conftest import cli, cli_json, write_config

# Shaped like a feed reader's export: nested folders, a title-less folder, entities in titles, htmlUrl,
# type="rss", a feed listed in two folders, a podcast link and a non-http URL.
READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<!-- exported by a desktop feed reader -->
<opml version="2.0">
  <head>
    <title>Subscriptions of a harbour-master</title>
    <dateCreated>Thu, 19 Nov 2026 18:02:11 GMT</dateCreated>
    <ownerName>Port office</ownerName>
  </head>
  <body>
    <outline text="Maritime" title="Maritime">
      <outline text="Ports &amp; Harbours" title="Ports &amp; Harbours">
        <outline type="rss" text="Tidewater Courier &#8211; Harbour" title="Tidewater Courier &#8211; Harbour"
                 xmlUrl="https://courier.example/harbour/rss" htmlUrl="https://courier.example/harbour/"/>
        <outline type="rss" text="Pilots&#39; Association News" title="Pilots&#39; Association News"
                 xmlUrl="https://pilots.example/feed.xml" htmlUrl="https://pilots.example/"/>
      </outline>
      <outline text="Weather">
        <outline type="rss" text="Coastal forecast" xmlUrl="https://met.example/coast.atom"/>
      </outline>
    </outline>
    <outline text="Local">
      <outline type="rss" text="Pilots&#39; Association News" xmlUrl="https://pilots.example/feed.xml"/>
      <outline type="rss" text="Town council &quot;minutes&quot;" xmlUrl="http://council.example/minutes.rss"
               htmlUrl="http://council.example/"/>
      <outline type="link" text="Harbour webcam" url="https://cam.example/" xmlUrl="https://cam.example/live"/>
      <outline type="rss" text="Old intranet" xmlUrl="ftp://files.example/feed.xml"/>
    </outline>
    <outline type="rss" text="Lighthouse Keepers&#39; Journal" xmlUrl="https://keepers.example/journal.rss"/>
  </body>
</opml>
"""

EXPECTED = {
    (
        "Tidewater Courier – Harbour",
        "https://courier.example/harbour/rss",
        "Maritime/Ports & Harbours",
        "https://courier.example/harbour/",
    ),
    (
        "Pilots' Association News",
        "https://pilots.example/feed.xml",
        "Maritime/Ports & Harbours",
        "https://pilots.example/",
    ),
    ("Coastal forecast", "https://met.example/coast.atom", "Maritime/Weather", None),
    ('Town council "minutes"', "http://council.example/minutes.rss", "Local", "http://council.example/"),
    ("Lighthouse Keepers' Journal", "https://keepers.example/journal.rss", None, None),
}


def _feeds(opml: bytes) -> set[tuple[str, str, str | None, str | None]]:
    """(title, xmlUrl, folder path, htmlUrl) of every feed outline, parsed independently of the CLI."""
    out: set[tuple[str, str, str | None, str | None]] = set()

    def walk(node: object, path: tuple[str, ...]) -> None:
        for o in node.findall("outline"):  # type: ignore[attr-defined]
            if o.get("xmlUrl"):
                out.add(
                    (
                        o.get("title") or o.get("text"),
                        o.get("xmlUrl"),
                        "/".join(path) or None,
                        o.get("htmlUrl"),
                    )
                )
            else:
                walk(o, (*path, o.get("text")))

    walk(fromstring(opml).find("body"), ())
    return out


def test_opml_round_trip(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    src = tmp_path / "reader.opml"
    src.write_text(READER_EXPORT, encoding="utf-8")

    result = cli_json(cfg, "source", "import-opml", str(src))
    by_status: dict[str, list[dict[str, str]]] = {}
    for line in result["results"]:
        by_status.setdefault(line["status"], []).append(line)
    assert {(x["title"], x["url"], x["category"]) for x in by_status["added"]} == {
        (t, u, c) for t, u, c, _h in EXPECTED
    }
    assert [x["url"] for x in by_status["duplicate"]] == ["https://pilots.example/feed.xml"]
    assert sorted(x["reason"] for x in by_status["skipped"]) == [
        "not an http(s) URL",
        'type="link" is not a feed',
    ]
    sources = {s["name"]: s for s in cli_json(cfg, "source", "ls")}
    assert "Pilots' Association News" in sources and "Tidewater Courier – Harbour" in sources
    assert sources["Tidewater Courier – Harbour"]["options"]["html_url"] == "https://courier.example/harbour/"

    # a second import adds nothing and says which sources exist already
    again = cli_json(cfg, "source", "import-opml", str(src))
    statuses = [x["status"] for x in again["results"]]
    assert statuses.count("exists") == 5 and "added" not in statuses

    # export to standard output and to a file: the same feeds, titles, folders and site links
    code, out = cli(cfg, "source", "export-opml")
    assert code == 0 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert _feeds(out.encode()) == EXPECTED
    dest = tmp_path / "export.opml"
    code, out = cli(cfg, "source", "export-opml", str(dest))
    assert code == 0 and "wrote 5 feed(s)" in out
    exported = dest.read_bytes()
    assert b"Ports &amp; Harbours" in exported
    assert _feeds(exported) == EXPECTED

    # and importing the export into an empty database gives the same sources back
    fresh = write_config(tmp_path / "fresh.yaml", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert cli(fresh, "source", "import-opml", str(dest))[0] == 0
    code, out = cli(fresh, "source", "export-opml")
    assert _feeds(out.encode()) == EXPECTED


def test_opml_import_dry_run_adds_nothing(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    src = tmp_path / "reader.opml"
    src.write_text(READER_EXPORT, encoding="utf-8")
    code, out = cli(cfg, "source", "import-opml", str(src), "--dry-run")
    assert code == 0 and "5 would-add, 1 duplicate, 2 skipped" in out
    assert cli_json(cfg, "source", "ls") == []


def test_opml_import_errors(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path / "m.yaml", db_url)
    broken = tmp_path / "broken.opml"
    broken.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n  <outline text="a & b"/>\n</body></opml>'
    )
    code, out = cli(cfg, "source", "import-opml", str(broken))
    assert code == 2 and "not well-formed XML at line 4, column" in out and str(broken) in out

    bomb = tmp_path / "bomb.opml"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
        '<opml version="2.0"><body><outline type="rss" text="&b;" xmlUrl="https://x.example/rss"/></body></opml>'
    )
    code, out = cli(cfg, "source", "import-opml", str(bomb))
    assert code == 2 and "refused" in out and "DTD" in out
    assert cli_json(cfg, "source", "ls") == []

    html = tmp_path / "page.opml"
    html.write_text("<html><body><outline/></body></html>")
    code, out = cli(cfg, "source", "import-opml", str(html))
    assert code == 2 and "the root element is <html>, not <opml>" in out
    code, out = cli(cfg, "source", "import-opml", str(tmp_path / "absent.opml"))
    assert code == 2 and "cannot read" in out
