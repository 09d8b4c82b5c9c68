"""A real browser (headless Debian chromium via Selenium) uses the page of a running server.

Skips, with the reason, where chromium, its driver or the real HAM10000 images are absent
(``scripts/test`` installs ``chromium chromium-driver`` and ``selenium``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared_dataset
from tests.serve.server import running_server

CLASSES = ["Parasitized", "Uninfected"]


def _browser_paths() -> tuple[str, str]:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip(
            "no headless browser: install Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver; scripts/test does)"
        )
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    browser_path, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1200,1000")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.slow  # a server and a browser start: about a minute
def test_the_page_scores_and_explains_a_real_image(browser, run_dir, tmp_path):
    import requests
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    image = shared_dataset("ham10000_fullres_sample") / "images" / "ISIC_0024306.jpg"
    if not image.is_file():
        pytest.skip(f"the real image {image} is absent")
    with running_server(run_dir, log=tmp_path / "server.log") as (url, _):
        api = requests.post(
            f"{url}/v1/predict",
            files={"files": (image.name, image.read_bytes(), "image/jpeg")},
            timeout=60,
        ).json()["results"][0]
        browser.get(url + "/")
        wait = WebDriverWait(browser, 90)
        wait.until(lambda d: d.find_elements(By.ID, "card-facts"))
        card = browser.find_element(By.ID, "card").text
        assert "Intended use" in card
        assert "Not a medical device" in card
        # keyboard: the first Tab from the page lands on the file picker
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        assert browser.switch_to.active_element.get_attribute("id") == "files"
        browser.find_element(By.ID, "files").send_keys(str(image))
        wait.until(
            lambda d: d.execute_script(
                "const i = document.querySelector('article.result img.overlay');"
                "return i !== null && i.complete && i.naturalWidth > 0;"
            )
        )
        result = browser.find_element(By.CSS_SELECTOR, "article.result")
        rows = result.find_elements(By.CSS_SELECTOR, "table.probabilities tr")
        shown = {
            r.find_element(By.CLASS_NAME, "name").text: r.find_element(By.CLASS_NAME, "value").text
            for r in rows
        }
        assert shown == {c: f"{100 * api['probabilities'][c]:.1f}%" for c in CLASSES}
        assert f"Top class: {api['prediction']}" in result.text
        size = browser.execute_script(
            "const i = document.querySelector('img.overlay');"
            "return [i.naturalWidth, i.naturalHeight];"
        )
        assert size == [600, 450]  # the overlay at the image's own resolution
        assert "Warm colours" in result.text
        shots = os.environ.get("DERMNET_SERVE_SCREENSHOTS")
        if shots:
            browser.save_screenshot(str(Path(shots) / "serve-page.png"))
        # phone width: nothing wider than the screen
        browser.set_window_size(390, 844)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        inner = browser.execute_script("return window.innerWidth")
        assert width <= inner
        if shots:
            browser.save_screenshot(str(Path(shots) / "serve-page-phone.png"))
