"""The moderators' page in a real headless Chromium, against the real service on 127.0.0.1.

Needs the Debian `chromium` package at /usr/bin/chromium (CI installs it) and the `playwright`
package (the `test` extra); Playwright's own browser downloads are not used.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from tests.conftest import live_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no /usr/bin/chromium: install it with `apt-get install chromium` (.ci/run does) to test the page",
)

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ["profanity", "personal_attack", "identity_attack", "threat"]
SECRET = "page-test-token-0123456789"
# Playwright gives every launch a fresh temporary profile (--user-data-dir) and adds --headless.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path("/tmp/review-page.png")
HOSTILE = '<img src=x onerror="window.pwned=1"><b>bold</b> you stupid loser'
QUEUE = [
    {"id": "q-attack", "text": "you are an idiot and a disgrace"},
    {"id": "q-kind", "text": "thank you for this balanced article"},
    {"id": "q-html", "text": HOSTILE},
    {"id": "q-threat", "text": "we will hunt him down and hang him"},
    {"id": "q-news", "text": "the talks in vienna resumed on monday"},
]


@pytest.fixture(scope="module")
def server(models_dir, tmp_path_factory):
    """`moderation serve` with a moderator token, a temporary feedback directory and a small queue."""
    tmp = tmp_path_factory.mktemp("review-page")
    queue_file = tmp / "queue.jsonl"
    queue_file.write_text("".join(json.dumps(r) + "\n" for r in QUEUE), encoding="utf-8")
    with live_server(models_dir, MODERATION_MODERATOR_TOKENS=f"maria:{SECRET}",
                     MODERATION_FEEDBACK_DIR=str(tmp / "feedback"), MODERATION_QUEUE_INPUT=str(queue_file)) as live:
        base = live.base + "/"
        version = httpx.get(base + "v1/model", timeout=10).json()["version"]
        yield SimpleNamespace(base=base, feedback=tmp / "feedback", version=version)
    assert "Traceback" not in live.output, live.output


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 1300})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.base)
    page.locator("#model-version").filter(has_text=server.version).wait_for()
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def feedback_rows(server) -> list[dict]:
    """Every row the service has written to its feedback files."""
    return [json.loads(line) for path in sorted(server.feedback.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def queue_ids(server) -> list[str]:
    return [item["id"] for item in httpx.get(server.base + "v1/review/queue", timeout=10).json()["items"]]


def test_paste_score_highlight_and_reject_with_the_keyboard(page, server):
    from playwright.sync_api import expect

    text = "what the fuck is this shit"
    page.fill("#moderator-token", SECRET)
    page.fill("#comment", text)
    page.click("#score-button")
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#decision")).to_have_text("reject")
    marks = page.locator("#highlighted mark")
    expect(marks.first).to_be_visible()
    assert {"fuck", "shit"} & set(marks.all_text_contents())
    expect(page.locator("#highlighted")).to_have_text(text)

    profanity, attack = page.locator("#score-cat-0"), page.locator("#score-cat-1")
    expect(profanity).to_be_checked()  # pre-ticked from the model's violations
    expect(attack).not_to_be_checked()
    page.keyboard.press("2")  # focus is on the Score button, not in a text box
    expect(attack).to_be_checked()
    page.keyboard.press("r")
    expect(page.locator("#score-status")).to_contain_text("Rejected (profanity, personal_attack)")
    expect(page.locator("#score-status")).to_contain_text("as maria")

    (row,) = [r for r in feedback_rows(server) if r["text"] == text]
    assert {c: row[c] for c in CATEGORIES} == {"profanity": 1, "personal_attack": 1, "identity_attack": 0,
                                               "threat": 0}
    assert (row["source"], row["annotator"], row["model"]) == ("feedback", "maria", server.version)
    assert row["id"].startswith("paste-")

    # Shortcuts are off while typing: "a" goes into the comment box and approves nothing.
    page.click("#comment")
    page.keyboard.type(" a")
    expect(page.locator("#comment")).to_have_value(text + " a")
    assert len([r for r in feedback_rows(server) if r["text"].startswith(text)]) == 1


def test_queue_shows_items_as_text_and_approves_with_the_keyboard(page, server):
    from playwright.sync_api import expect

    order = queue_ids(server)
    assert set(order) <= {r["id"] for r in QUEUE} and "q-html" in order
    page.click("#tab-queue")
    item = page.locator("#queue-item")
    expect(item).to_be_visible()
    expect(page.locator("#queue-meta")).to_contain_text(order[0])
    expect(page.locator("#queue-position")).to_have_text(f"Comment 1 of {len(order)} waiting")

    # Comment text is shown as text: the markup in it is neither parsed nor run.
    for _ in range(order.index("q-html")):
        page.keyboard.press("j")
    expect(page.locator("#queue-meta")).to_contain_text("q-html")
    expect(page.locator("#queue-text")).to_have_text(HOSTILE)
    assert page.locator("#queue-text img, #queue-text b").count() == 0
    assert page.evaluate("window.pwned") is None
    for _ in range(order.index("q-html")):
        page.keyboard.press("k")
    expect(page.locator("#queue-meta")).to_contain_text(order[0])
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # A wrong token is refused with a message saying what to do.
    page.fill("#moderator-token", "not-the-right-token-000")
    page.keyboard.press("Escape")  # leave the text box: shortcuts work again
    page.keyboard.press("a")
    expect(page.locator("#queue-error")).to_contain_text("moderator token was not accepted")
    assert not [r for r in feedback_rows(server) if r["id"] == order[0]]

    page.fill("#moderator-token", SECRET)
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#queue-status")).to_contain_text(f"Approved {order[0]}")
    expect(page.locator("#queue-error")).to_be_hidden()
    (row,) = [r for r in feedback_rows(server) if r["id"] == order[0]]
    assert {c: row[c] for c in CATEGORIES} == dict.fromkeys(CATEGORIES, 0)
    assert row["text"] == next(r["text"] for r in QUEUE if r["id"] == order[0])

    # The page moves on to the next comment, and the service leaves the decided one out.
    expect(page.locator("#queue-meta")).to_contain_text(order[1])
    expect(page.locator("#queue-position")).to_have_text(f"Comment 1 of {len(order) - 1} waiting")
    assert queue_ids(server) == order[1:]


def test_a_service_without_moderator_tokens_is_explained(page, server):
    from playwright.sync_api import expect

    page.route("**/v1/labels", lambda route: route.fulfill(status=503, json={"error": {
        "code": "feedback_disabled", "message": "feedback is disabled", "field": None, "details": []}}))
    page.fill("#moderator-token", SECRET)
    page.fill("#comment", "thank you for this balanced article")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#decision")).to_have_text("allow")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#error")).to_contain_text("no moderator tokens configured")
    page.keyboard.press("r")  # nothing ticked: nothing to reject for
    expect(page.locator("#error")).to_contain_text("Tick at least one category")
