"""html_report and its helpers: complete documents, one shared stylesheet, escaped text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from zviz_core import pipeline, step
from zviz_core.enums import VisualizationType
from zviz_core.report import STYLESHEET, figure, html_report, metric_cards, table
from zviz_core.types import HTMLString


class _Outline(HTMLParser):
    """Collects the tags a document opens and closes, and the text of <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[str] = []
        self.ends: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.starts.append(tag)
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _outline(document: str) -> _Outline:
    parser = _Outline()
    parser.feed(document)
    parser.close()
    return parser


def test_html_report_is_a_complete_document_with_the_shared_stylesheet() -> None:
    doc = html_report("<p>Body text</p>", title="Evaluation")

    assert isinstance(doc, HTMLString)
    assert doc.startswith("<!DOCTYPE html>")
    assert STYLESHEET in doc
    outline = _outline(doc)
    for tag in ("html", "head", "body", "style", "title", "main"):
        assert tag in outline.starts and tag in outline.ends, tag
    assert outline.starts.count("style") == 1
    assert 'charset="utf-8"' in doc
    assert outline.title == "Evaluation"
    assert "<h1>Evaluation</h1>" in doc
    assert "<p>Body text</p>" in doc
    # The stylesheet comes before the body, so nothing renders unstyled.
    assert doc.index("</style>") < doc.index("<body>")


def test_title_is_escaped_and_body_is_not() -> None:
    doc = html_report("<b>trusted</b>", title="<script>alert(1)</script> & co")

    assert "<script>" not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in doc
    assert _outline(doc).title == "<script>alert(1)</script> & co"
    assert "<b>trusted</b>" in doc


def test_without_title_there_is_no_heading_and_a_default_title() -> None:
    doc = html_report("<p>x</p>")

    assert "<h1>" not in doc
    assert _outline(doc).title == "zviz report"


def test_extra_css_comes_after_the_stylesheet_and_cannot_close_the_style() -> None:
    doc = html_report("<p>x</p>", extra_css=":root { --zviz-accent: #7c3aed; }")
    assert doc.index(STYLESHEET) < doc.index("--zviz-accent: #7c3aed")

    with pytest.raises(ValueError, match="</style"):
        html_report("<p>x</p>", extra_css="</STYLE ><script>alert(1)</script>")


def test_stylesheet_uses_variables_for_its_colours() -> None:
    # Colours are set once in :root and used through var(), so one override restyles all reports.
    root = STYLESHEET.split("}", 1)[0]
    rest = STYLESHEET.split("}", 1)[1]
    assert "--zviz-accent" in root
    assert not re.search(r"#[0-9a-fA-F]{3,6}\b", rest)


def test_metric_cards_format_and_escape() -> None:
    cards = metric_cards({"accuracy": 0.98148, "rows": 12345, "<b>name</b>": "<i>v</i>"})

    assert "0.981" in cards
    assert "12,345" in cards
    assert "&lt;b&gt;name&lt;/b&gt;" in cards and "&lt;i&gt;v&lt;/i&gt;" in cards
    assert cards.count('class="zviz-card"') == 3


def test_table_escapes_cells_and_says_what_it_left_out() -> None:
    df = pd.DataFrame({"name": ["<script>x</script>"] * 7, "score": [0.123456] * 7})

    html = table(df, max_rows=5, index=False)

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "0.123" in html and "0.123456" not in html
    assert html.count("<tr") == 6  # header + 5 rows
    assert "First 5 of 7 rows." in html
    assert "zviz-table" in html
    with pytest.raises(ValueError):
        table(df, max_rows=0)


def test_figure_embeds_png_as_a_data_uri() -> None:
    html = figure(b"\x89PNG fake", alt='a "quoted" alt', caption="<caption>")

    assert 'src="data:image/png;base64,iVBORyBmYWtl"' in html
    assert 'alt="a &quot;quoted&quot; alt"' in html
    assert "&lt;caption&gt;" in html


def test_a_step_returning_html_report_is_stored_as_an_html_visualization(client) -> None:
    @step
    def make_report() -> HTMLString:
        return html_report(metric_cards({"accuracy": 0.9}), title="Report")

    @pipeline
    def reporting() -> None:
        make_report()

    run = reporting()
    av = run.steps["make_report"].output
    [viz] = av.visualizations
    assert viz.type is VisualizationType.HTML
    content = client.load_visualization(viz.id).value
    assert STYLESHEET in content
    assert av.load() == content
