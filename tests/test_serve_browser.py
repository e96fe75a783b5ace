"""`unseen serve` driven in a real headless Chromium (Selenium): upload, point, preview, run, download.

Screenshots of every step go to ``out/serve-screenshots/`` (look at them). Chromium and its driver come
from Debian (``apt-get install chromium chromium-driver``, which ``.ci/run`` does); without them the tests
fail under ``CI=true`` and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import pytest
import uvicorn

from test_serve import blue, scene
from unseen.serve import Workspace, create_app

from conftest import ROOT, make_video, probe, shared_path

SCREENSHOTS = ROOT / "out" / "serve-screenshots"


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        message = "chromium and chromedriver are missing: apt-get install chromium chromium-driver"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    app = create_app(Workspace(tmp_path_factory.mktemp("serve") / "ws"))
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < end, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(30)


@pytest.fixture
def browser() -> Iterator:
    from selenium import webdriver

    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1500"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def _until(driver, condition, timeout: float = 60, what: str = "") -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d), message=what)


def _shot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def _open(driver, server: str, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(server + "/")
    driver.find_element(By.ID, "file").send_keys(str(path))
    _until(driver, lambda d: d.execute_script(
        "return !document.getElementById('work').classList.contains('hidden') && "
        "document.getElementById('picture').width > 0"), what="the file did not open")


def _at(driver, x: float, y: float, width: int):
    """Selenium's offset from the overlay's centre for the frame pixel (x, y) of a ``width`` wide frame."""
    from selenium.webdriver.common.by import By

    overlay = driver.find_element(By.ID, "overlay")
    shown = overlay.size["width"] / width
    return overlay, (x - width / 2) * shown, (y - overlay.size["height"] / shown / 2) * shown


def _state(driver) -> str:
    return driver.execute_script("return document.getElementById('state').textContent")


def _finish(driver, timeout: float = 180) -> None:
    _until(driver, lambda d: _state(d) == "done" or d.execute_script(
        "return !document.getElementById('error').classList.contains('hidden')"), timeout, "the job did not end")
    error = driver.execute_script("return document.getElementById('error').textContent")
    assert _state(driver) == "done", error


def _download(driver, folder: Path, name: str) -> Path:
    from selenium.webdriver.common.by import By

    link = driver.find_element(By.ID, "download")
    assert link.is_displayed() and link.get_attribute("download") == name
    path = folder / name
    with urllib.request.urlopen(link.get_attribute("href"), timeout=60) as response:
        path.write_bytes(response.read())
    return path


def test_a_clicked_object_is_followed_and_removed_from_a_video(server: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    shared_path("models", "nanotrack_v2_backbone.onnx")  # the click is followed through the video
    images = [scene(320, 240, index=t, centre=(90 + 4 * t, 120)) for t in range(24)]
    make_video(tmp_path / "street.mp4", images=images, width=320, height=240)
    _open(browser, server, tmp_path / "street.mp4")
    assert "24 frames" in browser.find_element(By.ID, "media-info").text
    assert "with sound" in browser.find_element(By.ID, "media-info").text
    overlay, dx, dy = _at(browser, 90, 120, 320)
    ActionChains(browser).move_to_element_with_offset(overlay, dx, dy).click().perform()
    _until(browser, lambda d: d.execute_script("return masks[0] !== undefined && masks[0].complete"),
           what="no mask came back for the click")
    assert "1 click" in browser.find_element(By.ID, "what").text
    _shot(browser, "video-1-clicked")
    browser.find_element(By.ID, "preview").click()
    _until(browser, lambda d: _state(d).startswith("preview of"), 120, "the preview did not finish")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#previews img")) == 4
    _shot(browser, "video-2-preview")
    browser.find_element(By.ID, "run").click()
    _until(browser, lambda d: _state(d).startswith(("running", "done", "queued")), 30)
    _shot(browser, "video-3-running")
    _finish(browser)
    # Both videos load and play side by side (the result is H.264, which browsers decode).
    _until(browser, lambda d: d.execute_script(
        "return document.getElementById('video-after').readyState >= 2 && "
        "document.getElementById('video-before').readyState >= 2"), 30, "the videos did not load")
    _shot(browser, "video-4-done")
    result = _download(browser, tmp_path, "street.remove.mp4")
    facts, original = probe(result), probe(tmp_path / "street.mp4")
    assert facts["frames"] == 24 and facts["avg_fps"] == original["avg_fps"]
    assert facts["audio_codec"] == "aac" and abs(facts["audio_seconds"] - original["audio_seconds"]) < 0.05
    with av.open(str(result)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert sum(blue(f).sum() for f in frames) < 0.02 * sum(blue(i).sum() for i in images)
    assert browser.find_element(By.ID, "video-after").get_attribute("src").endswith("/result")


def test_a_brushed_photo_is_cleaned_with_a_before_after_slider(server: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    image = scene(320, 240, centre=(200, 100))
    cv2.imwrite(str(tmp_path / "photo.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    _open(browser, server, tmp_path / "photo.png")
    browser.find_element(By.ID, "tool-brush").click()
    browser.execute_script("document.getElementById('brush-size').value = 30")
    overlay, dx, dy = _at(browser, 186, 86, 320)
    chain = ActionChains(browser).move_to_element_with_offset(overlay, dx, dy).click_and_hold()
    shown = overlay.size["width"] / 320
    for step_x, step_y in ((28, 0), (0, 14), (-28, 0), (0, 14), (28, 0)):  # a zigzag over the disc
        chain = chain.move_by_offset(step_x * shown, step_y * shown)
    chain.release().perform()
    _until(browser, lambda d: d.execute_script("return state.brushed"), what="the brush left no paint")
    _shot(browser, "photo-1-brushed")
    browser.find_element(By.ID, "run").click()
    # A reload (or a closed tab, opened again) comes back to the same file and follows the same job.
    browser.refresh()
    _until(browser, lambda d: d.execute_script("return state.job !== null && state.upload !== null"), 30,
           "the page did not come back to its job")
    _finish(browser, 120)
    _until(browser, lambda d: d.execute_script("return document.getElementById('after').complete"))
    assert browser.find_element(By.ID, "compare-slider").is_displayed()
    _shot(browser, "photo-2-before-after")
    out = cv2.cvtColor(cv2.imread(str(_download(browser, tmp_path, "photo.remove.png"))), cv2.COLOR_BGR2RGB)
    assert blue(image).sum() > 700 and blue(out).sum() == 0
    assert (out != image).any(axis=2).mean() < 0.08  # the disc's surroundings only


def test_the_background_behind_a_person_is_replaced(server: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    photo = shared_path("data", "train", "seg-person", "images", "001.jpg")
    _open(browser, server, photo)
    Select(browser.find_element(By.ID, "job")).select_by_value("background")
    Select(browser.find_element(By.ID, "with")).select_by_value("white")
    _shot(browser, "background-1-form")
    browser.find_element(By.ID, "run").click()
    _finish(browser, 120)
    _shot(browser, "background-2-done")
    out = cv2.imread(str(_download(browser, tmp_path, "001.background.jpg")))
    before = cv2.imread(str(photo))
    white = (out > 245).all(axis=2)
    assert out.shape == before.shape and 0.1 < white.mean() < 0.95 and (before > 245).all(axis=2).mean() < 0.05
