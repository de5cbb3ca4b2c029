"""Times, names and accessibility in Chromium: times in the browser's own zone, named, with UTC
on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import Server, log_in, open_url
from zviz_core.demo import DEMO_AUTH_CONFIG, DEMO_USERS

pytestmark = pytest.mark.browser


def _logged_in_page(demo_app: Server, browser, **context_options):
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, **context_options)
    page = context.new_page()
    open_url(page, demo_app.url)
    password = next(p for u, p, _ in DEMO_USERS if u == "admin")
    log_in(page, "admin", password, DEMO_AUTH_CONFIG["credentials"]["usernames"]["admin"]["name"])
    return page


def test_times_are_shown_in_the_browsers_zone_with_utc_on_hover(demo_app: Server, browser) -> None:
    shown = {}
    for zone in ("America/Los_Angeles", "Asia/Tokyo"):
        page = _logged_in_page(demo_app, browser, timezone_id=zone)
        try:
            open_url(page, demo_app.url + "/runs")
            first = page.locator("[data-testid=stMain] span[title]").first
            shown[zone] = (first.inner_text(), first.get_attribute("title"))
        finally:
            page.context.close()
    titles = {title for _, title in shown.values()}
    assert len(titles) == 1, shown  # the same instant, whatever the viewer's zone
    utc = datetime.strptime(titles.pop(), "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    for zone, (text, _) in shown.items():
        local = utc.astimezone(ZoneInfo(zone))
        assert text == local.strftime("%Y-%m-%d %H:%M ") + str(local.tzname()), (zone, text)
        assert re.search(r" [A-Z]{3}$", text), text  # the zone is named


def test_icon_buttons_have_names_a_screen_reader_can_read(demo_app: Server, browser) -> None:
    page = _logged_in_page(demo_app, browser)
    try:
        page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="Models").click()
        page.locator("[data-testid=stMain] a[href*='models?id=']").first.click()
        page.get_by_role("button", name="Actions for the tile Model card").wait_for()
        snapshot = page.locator("[data-testid=stMain]").aria_snapshot()
        buttons = [line.strip() for line in snapshot.splitlines() if "- button" in line]
        assert any(b.startswith('- button "Download ') for b in buttons), buttons
        assert not [b for b in buttons if "icon" in b or '""' in b], buttons
        box = page.get_by_role("button", name="Actions for the tile Model card").bounding_box()
        assert box is not None and box["width"] < 60, box  # the name is not shown, the icon is
    finally:
        page.context.close()


def test_a_date_picked_in_the_calendar_filters_at_once(demo_app: Server, browser) -> None:
    page = _logged_in_page(demo_app, browser)
    try:
        open_url(page, demo_app.url + "/runs")
        main = page.locator("[data-testid=stMain]")
        field = main.locator("[data-testid=stDateInput]").filter(has_text="Created from")
        field.locator("[data-testid=stDateInputCalendarButton]").click()
        calendar = page.locator("[data-testid=stDateInputCalendar]")
        calendar.get_by_role("button", name="Next month").click()  # every demo run is older
        calendar.get_by_role("gridcell").filter(has_text=re.compile(r"^1$")).first.click()
        main.get_by_text("No run matches these filters.").wait_for()  # no blur, no Enter
        assert re.search(r"[?&]from=\d{4}-\d\d-01", page.url), page.url
    finally:
        page.context.close()


AXE_RUN = """async () => {
  const result = await axe.run(
    {exclude: [["iframe"]]},  // artifact HTML is the artifact's markup, not zviz's
    {resultTypes: ["violations"]},
  );
  return result.violations
    .filter((v) => v.impact !== "minor")  // minor: st.dataframe's own empty corner header
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3)
      .map((n) => n.html.slice(0, 120)).join(" | ")}`);
}"""


def test_axe_finds_no_moderate_serious_or_critical_violation_on_the_seven_pages(
    demo_app: Server, browser, axe_source: str
) -> None:
    paths = demo_app.info["paths"]
    seven = [p for p in paths if "?" not in p]
    opened = [next(p for p in paths if p.startswith(f"/{kind}?id=")) for kind in ("runs", "models")]
    assert len(seven) == 7, seven
    login = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    page = _logged_in_page(demo_app, browser)
    found = {}
    try:
        open_url(login, demo_app.url)
        login.evaluate(axe_source)
        found["login"] = login.evaluate(AXE_RUN)
        for path in seven + opened:
            open_url(page, demo_app.url + path)
            page.evaluate(axe_source)
            found[path] = page.evaluate(AXE_RUN)
    finally:
        page.context.close()
        login.context.close()
    assert not {path: issues for path, issues in found.items() if issues}, found
