"""The Studies page in a real browser: headless Chromium signs in to `saber ui`, opens Studies
from Airflow's navigation (an iframe), sorts the trials of the README's sample study, sees its
plots drawn and follows a trial's link to the scored task's log. The page's scripts, its CSP
and Airflow's iframe only meet in a browser; TestClient sees none of them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from saber_testing import needs_docker, run_saber, saber_ui

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")  # scripts/setup.sh
STUDY = "browser-sample"
WAIT = 60  # seconds for any one thing to show up in the browser


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not os.environ.get("CI"):
        pytest.skip("needs Debian's chromium and chromium-driver (bash scripts/setup.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def test_study_page_in_a_browser(saber_home, browser, tmp_path: Path) -> None:
    # the study first, then the UI over the same home (as a user would: `saber run`, `saber ui`)
    result = run_saber("run", "workflows/blob_count.cwl", "sweeps/blob_count.yml", "--outdir", str(tmp_path / "out"),
                       "--study", STUDY)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = run_saber("results", STUDY, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    best = json.loads(shown.stdout)["best"]
    shots = Shots(browser, tmp_path / "screenshots")
    try:
        with saber_ui() as (base, password):
            check_in_browser(browser, base, password, best, shots)
    finally:
        shots.publish()


def check_in_browser(driver, base: str, password: str, best: dict, shots: Shots) -> None:
    """Everything the test does in the browser, from the login form to the task log."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT)
    driver.get(f"{base}/")
    # SimpleAuthManager's sign-in form (a React page: wait for it to render)
    wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "/auth/login" not in d.current_url)
    console(driver)  # Airflow's own messages (a 401 before signing in) are not the page's

    # Studies sits in the Browse menu; Airflow shows it in an iframe of its own page.
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[aria-label=Browse]"))).click()
    wait.until(ec.element_to_be_clickable((By.XPATH, "//*[@role='menuitem'][normalize-space()='Studies']"))).click()
    wait.until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "iframe[src*='saber/']")))
    wait.until(ec.element_to_be_clickable((By.LINK_TEXT, STUDY)))
    shots.take("1-studies-list")
    driver.find_element(By.LINK_TEXT, STUDY).click()

    # the study page: four trials, the best one highlighted
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#trials tbody tr")) == 4)
    wait.until(lambda d: d.find_element(By.ID, "best").text)
    best_row = column_values(driver, "#", rows="#trials tbody tr.best")
    assert best_row == [str(best["number"])], best_row
    (score,) = column_values(driver, "score", rows="#trials tbody tr.best")
    assert float(score) == pytest.approx(best["score"], rel=1e-5)
    assert driver.find_element(By.ID, "best").text == f"Best trial: #{best['number']}, score {score}"
    assert not driver.find_element(By.ID, "message").text
    shots.take("2-study")

    # a parameter's header sorts by it; a second click reverses the order
    for order in ("asc", "desc"):
        driver.find_element(By.CSS_SELECTOR, "th[data-sort='param:noise']").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f"th.sorted-{order}[data-sort='param:noise']")))
        noise = [float(v) for v in column_values(driver, "noise")]
        assert noise == sorted(noise, reverse=order == "desc") and noise[0] != noise[-1], (order, noise)
    shots.take("3-sorted-by-noise-desc")

    # the plots: plotly drew history, one slice per varied parameter (noise, n_blobs), the
    # importance bars and the parallel coordinates
    titles = ["Optimization history: evaluate", "noise (slice)", "n_blobs (slice)", "Parameter importance: evaluate",
              "Parallel coordinates: evaluate"]
    wait.until(lambda d: all(any(t in g.text for g in d.find_elements(By.CSS_SELECTOR, "#plots .gtitle"))
                             for t in titles))
    driver.execute_script("document.getElementById('plots').scrollIntoView()")
    shots.take("4-plots")
    driver.execute_script("document.querySelector('#plots .plot:last-child').scrollIntoView()")
    shots.take("4b-importance-parallel")
    errors = console(driver)
    assert not errors, f"the browser's console: {errors}"

    # a trial's "log" link leaves the iframe for the scored task's page in Airflow's UI
    # (Airflow's sandbox blocks a target=_top link: common.js has Airflow's page follow it)
    score = column_values(driver, "score")[0]
    link = driver.find_element(By.CSS_SELECTOR, "#trials tbody tr a[target=_top]:nth-of-type(2)")
    href = link.get_attribute("href")
    assert link.text == "log" and "/tasks/evaluate" in href, href
    link.click()
    driver.switch_to.default_content()
    wait.until(lambda d: d.current_url == href)
    # the log view is React: its lines come in after the page
    WebDriverWait(driver, 2 * WAIT).until(lambda d: f"score: {score}" in d.find_element(By.TAG_NAME, "body").text)
    shots.take("5-task-log")


def column_values(driver, label: str, rows: str = "#trials tbody tr") -> list[str]:
    """The texts of the trials table's column headed ``label``, top to bottom."""
    from selenium.webdriver.common.by import By

    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#trials thead th")]
    index = headers.index(label) + 1
    return [td.text for td in driver.find_elements(By.CSS_SELECTOR, f"{rows} > td:nth-child({index})")]


def console(driver) -> list[str]:
    """The browser console's errors since the last call: SEVERE messages but a missing
    favicon, and every Content-Security-Policy violation whatever its level."""
    found = []
    for entry in driver.get_log("browser"):
        message = entry["message"]
        if "Content Security Policy" in message or "Content-Security-Policy" in message:
            found.append(message)
        elif entry["level"] == "SEVERE" and "favicon" not in message:
            found.append(message)
    return found


class Shots:
    """Screenshots into ``folder``, copied to $SABER_ARTIFACTS too when it is set (CI keeps them)."""

    def __init__(self, driver, folder: Path) -> None:
        self.driver, self.folder = driver, folder
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        self.driver.save_screenshot(str(self.folder / f"{name}.png"))

    def publish(self) -> None:
        if target := os.environ.get("SABER_ARTIFACTS"):
            shutil.copytree(self.folder, Path(target) / "studies-browser", dirs_exist_ok=True)
