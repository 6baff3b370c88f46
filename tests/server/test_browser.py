"""The review page in Debian's headless Chromium (Selenium + chromedriver) against `cogvlm-media serve`
started as a subprocess: search → a hit with its thumbnail → the video seeks there; an inline marker
edit survives a reload and is stored as verified with the original kept; the export button downloads a
file OpenTimelineIO reads; a missing file is an error on that asset only. Screenshots of the search
and asset views go to $COGVLM_MEDIA_ARTIFACTS (default /tmp/cogvlm-media-artifacts)."""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from serveproc import ServerProcess
from serverkit import marker, raw_get

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("COGVLM_MEDIA_ARTIFACTS", "/tmp/cogvlm-media-artifacts"))
WAIT = 30  # seconds, for any one thing the page does


@pytest.fixture(scope="module")
def server(archive, tmp_path_factory):
    proc = ServerProcess(archive.env, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, downloads):
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "apt-get install chromium chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1100",
                 "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, what: str, timeout: float = WAIT):
    """Poll ``condition`` until it is truthy; elements re-rendered meanwhile count as not yet."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition, message=what)


def open_page(driver, url: str) -> None:
    driver.get("about:blank")  # a fresh page load even when only the #fragment differs
    driver.get(url)


def video_state(driver) -> dict:
    return driver.execute_script("const v = document.getElementById('player');"
                                 "return {t: v.currentTime, ready: v.readyState, seeking: v.seeking,"
                                 " error: v.error && v.error.code};")


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path))
    return path


def test_search_hit_opens_the_video_at_its_time(browser, server, archive):
    browser.get(f"{server.url}/")
    box = wait(browser, lambda d: d.find_element(By.ID, "q"), "search box")
    box.send_keys("kitchen table", Keys.ENTER)
    hits = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "a.hit"), "search hits")
    first = hits[0]
    assert "speech clip.mp4" in first.text and "00:00:1" in first.text
    image = first.find_element(By.CSS_SELECTOR, "img.thumb")
    wait(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image),
         "the hit's thumbnail to load")
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
    wait(browser, lambda d: d.execute_script("return [...document.querySelectorAll('a.hit img')]"
                                             ".every(i => i.complete)"), "every card's thumbnail")
    shot = screenshot(browser, "search.png")
    assert shot.stat().st_size > 10_000
    t = float(first.get_attribute("data-time"))
    first.click()
    fps = 25.0
    wait(browser, lambda d: (s := video_state(d))["ready"] >= 1 and not s["seeking"] and abs(s["t"] - t) <= 1 / fps,
         f"the video to seek to {t}")
    state = video_state(browser)
    assert state["error"] is None and abs(state["t"] - t) <= 1 / fps, (state, t)
    assert browser.current_url.endswith(f"#/asset/{archive.speech}?t={t}")
    wait(browser, lambda d: d.execute_script(
        "return [...document.querySelectorAll('#filmstrip img')].every(i => i.complete && i.naturalWidth > 0)"
        " && document.querySelectorAll('#filmstrip img').length == 2"), "the filmstrip")
    wait(browser, lambda d: video_state(d)["ready"] >= 2, "the video frame at the playhead")
    screenshot(browser, "asset.png")


def test_inline_edit_is_saved_as_verified_and_survives_reload(browser, server, archive):
    open_page(browser, f"{server.url}/#/asset/{archive.speech}?t=8")
    rows = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.marker[data-kind=speech]:not(.verified)"),
                "an unverified speech marker")
    row = rows[0]
    old_id = int(row.get_attribute("data-marker-id"))
    wait(browser, lambda d: abs(video_state(d)["t"] - 8.0) < 0.05 and video_state(d)["ready"] >= 1, "seek to 8 s")
    name = row.find_element(By.CSS_SELECTOR, "input.name")
    name.clear()
    name.send_keys("Stella is called — checked")
    row.find_element(By.CSS_SELECTOR, "button.to-playhead").click()
    assert "(unsaved)" in row.find_element(By.CSS_SELECTOR, "button.tc").text
    row.find_element(By.CSS_SELECTOR, "button.save").click()

    def saved(d):
        for r in d.find_elements(By.CSS_SELECTOR, "li.marker.verified"):
            if r.find_element(By.CSS_SELECTOR, "input.name").get_attribute("value") == "Stella is called — checked":
                return r
        return None

    wait(browser, saved, "the saved, verified marker")
    browser.refresh()
    row = wait(browser, saved, "the edit after a reload")
    new_id = int(row.get_attribute("data-marker-id"))
    assert "verified" in row.text and row.find_element(By.CSS_SELECTOR, "button.tc").text == "00:00:08:00"
    stored_new, stored_old = marker(archive.engine, new_id), marker(archive.engine, old_id)
    assert stored_new.verified and stored_new.source == "editor" and stored_new.replaces_id == old_id
    assert stored_new.time == pytest.approx(8.0) and stored_new.name == "Stella is called — checked"
    assert stored_old.superseded and not stored_old.verified and stored_old.name != stored_new.name
    ids = {int(r.get_attribute("data-marker-id")) for r in browser.find_elements(By.CSS_SELECTOR, "li.marker")}
    assert old_id not in ids


def test_export_button_downloads_a_timeline(browser, server, archive, downloads):
    open_page(browser, f"{server.url}/#/asset/{archive.speech}")
    select = wait(browser, lambda d: d.find_element(By.ID, "export-format"), "export formats")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#export-format option[value=otio]"), "otio option")
    browser.execute_script("arguments[0].value = 'otio'; arguments[0].dispatchEvent(new Event('change'))", select)
    link = browser.find_element(By.ID, "export-link")
    wait(browser, lambda d: link.get_attribute("href").endswith(f"/assets/{archive.speech}/export/otio"), "export link")
    link.click()
    target = downloads / "speech clip.otio"
    wait(browser, lambda d: target.is_file() and not list(downloads.glob("*.crdownload")), "the download")
    timeline = otio.adapters.read_from_file(str(target))
    clip = next(iter(timeline.find_clips()))
    live = browser.execute_script("return document.querySelectorAll('li.marker').length")
    assert len(clip.markers) == live > 0
    assert any(mk.name == "Stella is called — checked" for mk in clip.markers)  # the edit is in the export


def test_missing_media_is_an_error_on_that_asset_only(browser, server, archive):
    open_page(browser, f"{server.url}/#/asset/{archive.gone}")
    # the page may show the asset twice (load and hash change), hiding the error while it asks again: wait for
    # the error with its text, then read it once
    text = wait(browser, lambda d: (e := d.find_element(By.ID, "media-error")).is_displayed() and e.text, "media error")
    assert "missing" in text and "gone.mp4" in text
    assert browser.find_elements(By.CSS_SELECTOR, "#scene-strip .scene")  # the rest of the page works
    open_page(browser, f"{server.url}/#/")
    cards = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#asset-cards a.card"), "asset cards")
    assert len(cards) == 2 and any("media missing" in c.text for c in cards)
    # the status area shows the queue as `status --json` has it, quarantined files with their reasons
    toggle = wait(browser, lambda d: "quarantined" in (e := d.find_element(By.ID, "status-toggle")).text and e,
                  "queue counts")
    assert "1 quarantined" in toggle.text or "1 failed" in toggle.text, toggle.text
    toggle.click()
    panel = wait(browser, lambda d: (e := d.find_element(By.ID, "status-panel")).is_displayed() and e, "status panel")
    assert "corrupt.mp4" in panel.text
    reason = panel.find_element(By.CSS_SELECTOR, ".reason").text
    assert reason and reason != "no reason recorded"


def test_live_server_refuses_raw_traversal_and_stays_up(server):
    for target in ("/static/../../../../etc/passwd", "/static/..%2f..%2fapp.py", "/../cogvlm-media.db",
                   "/static/%2e%2e/%2e%2e/config.py", "/api/v1/assets/../../etc/passwd/media"):
        status, body = raw_get(server.port, target)
        assert 400 <= status < 500, (target, status)
        assert b"root:" not in body and b"SQLite format" not in body and b"import" not in body
    status, _ = raw_get(server.port, "/api/v1/health")
    assert status == 200 and server.proc.poll() is None


def test_queue_panel_shows_no_null_for_empty_sections(browser, server):
    open_page(browser, f"{server.url}/#/")
    toggle = wait(browser, lambda d: "quarantined" in (e := d.find_element(By.ID, "status-toggle")).text and e,
                  "queue counts")
    toggle.click()
    panel = wait(browser, lambda d: (e := d.find_element(By.ID, "status-panel")).is_displayed() and e, "status panel")
    wait(browser, lambda d: "corrupt.mp4" in panel.text, "the failed file in the panel")
    assert "null" not in panel.text  # running and queued are empty: left out, not written as "null"
    assert not panel.find_elements(By.XPATH, "./text()[normalize-space()]") and panel.text.count("(") >= 1


@pytest.fixture(scope="module")
def tc_archive(tmp_path_factory):
    """Two assets for the asset switch: one whose timecode starts at 10:00:00:00, one with none."""
    import mediagen
    from cogvlm_media import records
    from cogvlm_media.media.fingerprint import fingerprint
    from cogvlm_media.media.probe import probe
    from cogvlm_media.store.engine import get_engine, write_session
    from cogvlm_media.store.writer import FileState, record_analysis

    home = tmp_path_factory.mktemp("tc-archive")
    clips = [mediagen.timecode_clip(home / "ten.mp4", "10:00:00:00"), mediagen.silent_clip(home / "plain.mp4")]
    engine = get_engine(f"sqlite:///{home / 'cogvlm-media.db'}")
    ids = []
    for clip in clips:
        analysis = records.Analysis("embedded", "test",
                                    scenes=[records.Scene(0, 0.0, 1.0, f"{clip.path.stem} scene", "s")],
                                    moments=[records.KeyMoment(0.5, f"{clip.path.stem} moment", "n", "moment")])
        with write_session(engine) as session:
            asset = record_analysis(session, state=FileState.of(str(clip.path)), fingerprint=fingerprint(clip.path),
                                    media=probe(str(clip.path)), shots=[], transcript=None, windows=[],
                                    analysis=analysis)
            ids.append(asset.id)
    env = {"COGVLM_MEDIA_HOME": str(home), "COGVLM_MEDIA_DB": "", "COGVLM_MEDIA_CONFIG": "",
           "XDG_CONFIG_HOME": str(home / "xdg")}
    proc = ServerProcess(env, home / "serve.log")
    try:
        proc.wait_ready()
        yield proc, ids
    finally:
        proc.stop()


def test_playhead_label_is_the_shown_assets_timecode(browser, tc_archive):
    server, (ten, plain) = tc_archive
    label = lambda d: d.find_element(By.ID, "playhead-tc").text  # noqa: E731
    open_page(browser, f"{server.url}/#/asset/{ten}")
    wait(browser, lambda d: label(d).startswith("10:00:00:"), "the 10:00:00:00 asset's playhead label")
    browser.execute_script(f"location.hash = '#/asset/{plain}'")  # the page's own navigation, no reload
    wait(browser, lambda d: d.find_element(By.ID, "asset-name").text == "plain.mp4", "the second asset")
    wait(browser, lambda d: label(d) == "00:00:00:00", "the second asset's own playhead label")
    browser.execute_script(f"location.hash = '#/asset/{ten}?t=0.4'")
    wait(browser, lambda d: label(d) == "10:00:00:10", "back to the first asset, at 0.4 s")


def test_unknown_asset_shows_nothing_of_the_previous_one(browser, tc_archive):
    server, (ten, _plain) = tc_archive
    open_page(browser, f"{server.url}/#/asset/{ten}")
    wait(browser, lambda d: video_state(d)["ready"] >= 1, "the first asset's video")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.marker"), "its markers")
    browser.execute_script("location.hash = '#/asset/999'")
    wait(browser, lambda d: "999" in d.find_element(By.ID, "asset-name").text
         or "not found" in d.find_element(By.ID, "asset-name").text.lower(), "the no-asset message")
    state = browser.execute_script(
        "const v = document.getElementById('player');"
        "return {src: v.getAttribute('src'), network: v.networkState, ready: v.readyState,"
        " meta: document.getElementById('asset-meta').textContent,"
        " markers: document.querySelectorAll('li.marker, #scene-strip .scene, #marker-strip .tick').length,"
        " tc: document.getElementById('playhead-tc').textContent};")
    # no source, nothing loaded (NETWORK_EMPTY, HAVE_NOTHING: no frame of the old video), no metadata or markers
    assert state == {"src": None, "network": 0, "ready": 0, "meta": "", "markers": 0, "tc": "--:--:--:--"}, state


def test_search_says_when_there_are_no_more_results(browser, server):
    open_page(browser, f"{server.url}/#/search?q=kitchen%20table")
    end = wait(browser, lambda d: d.find_element(By.ID, "search-end"), "the end of the results")
    hits = browser.find_elements(By.CSS_SELECTOR, "a.hit")
    # two files, one about a kitchen table: a few relevant hits, not 24 padded ones, and the page says so
    assert 0 < len(hits) < 24 and end.text == f"No more results ({len(hits)} relevant)."
