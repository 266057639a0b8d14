"""Headless Chromium driven by Selenium, for the browser tests (test_browser, test_book).

``browser`` is a module-scoped pytest fixture, offered to every test by ``tests/conftest.py``.
Without Selenium, or without Chromium and its driver, the tests that use it are skipped with the
command that installs them.
"""

from __future__ import annotations

import shutil

import pytest

INSTALL = "apt-get install -y chromium chromium-driver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1100")


def chromium_paths() -> tuple[str, str]:
    """The Chromium binary and its driver; skip the test (with the install command) if absent."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip(f"Chromium and its driver are not installed; on Debian/Ubuntu: {INSTALL}")
    return browser, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="Selenium is missing: pip install -e '.[dev]'"
    )
    from selenium.common.exceptions import WebDriverException

    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
    except WebDriverException as err:
        pytest.fail(f"Chromium did not start ({err.msg}); is chromium-driver the same version?")
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
