"""P11: the Studies page on a 10,000-trial study.

    .venv/bin/python bench/p11_studies_page.py [--trials 10000] [--dashboard /tmp/od-venv]   # ~1-2 min

Store: a temp SQLite results store holding one study of N complete trials (written straight into
Optuna's tables, as tests/results_testing.py's write_big_study does). Server: saber's app
(create_app) under uvicorn on 127.0.0.1 in a child process, with Airflow's auth dependency
overridden (a signed-in user): the figures are the page's own, not Airflow's login or proxying.
- (a) the JSON API's page of 100 trials, warm (goal <= 100 ms); baseline: a static file from the
  same server (the HTTP round trip alone);
- (b) the study page in headless Chromium, warm: first contentful paint and the trials table
  filled with 100 rows (goal <= 2 s); baseline: the studies list page's table filled;
- (c) optuna-dashboard (in a virtualenv of its own, --dashboard, made if missing) on the same store: its
  study API and its study page's first plot with points, as ratios saber / optuna-dashboard (its
  page draws empty plot frames at once and fills them when every trial has arrived; a "plot" here
  is one with at least one marker drawn, on both pages).
Each figure is the median of 3 after one warm-up; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
STUDY = "big"
ROWS = 100
# Set in every new document before its own scripts run (through the DevTools protocol, so the
# pages' CSP does not apply): the time, from navigation start, when each selector first matched.
MARKER = """
window.__p11 = {};
const __p11check = () => {
  for (const [name, selector, count] of window.__p11wanted || []) {
    if (!(name in window.__p11) && document.querySelectorAll(selector).length >= count)
      window.__p11[name] = performance.now();
  }
};
new MutationObserver(__p11check).observe(document, {childList: true, subtree: true});
"""


def median3(measure: Callable[[], float]) -> float:
    measure()  # warm-up: engine opened, plotly.js cached, Python modules imported
    return statistics.median(measure() for _ in range(3))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(command: list[str], url: str) -> Iterator[None]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"{command[0]} exited: {proc.stderr.read()[-2000:]}")
                if time.monotonic() > deadline:
                    sys.exit(f"{url} did not answer in 60 s")
                time.sleep(0.3)
        yield
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def serve_saber(url: str, port: int) -> None:
    """The child process: saber's app over ``url`` with a signed-in user, on 127.0.0.1:port."""
    import uvicorn

    from saber.ui_plugin._app import create_app
    from saber.ui_plugin._compat import user_dependency

    app = create_app(url)
    app.dependency_overrides[user_dependency()] = lambda: "bench"
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def make_store(folder: Path, n: int) -> tuple[str, int]:
    """A SQLite store with one study of ``n`` trials: (its URL, the study's id)."""
    from results_testing import write_big_study

    from saber.scores import ResultsStore

    url = f"sqlite:///{folder / 'results.db'}"
    with ResultsStore(url) as store:
        write_big_study(store, STUDY, n)
        return url, store.storage.get_study_id_from_name(STUDY)


def get_seconds(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return time.perf_counter() - began


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARKER})
    return driver


def page_times(driver, url: str, wanted: dict[str, tuple[str, int]]) -> dict[str, float]:
    """Seconds from navigation start to first contentful paint and to each wanted selector
    matching its count of elements."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(url)  # returns at the load event; the tables and plots come later
    driver.execute_script("window.__p11wanted = arguments[0]; __p11check();",
                          [[name, selector, count] for name, (selector, count) in wanted.items()])
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(
        "return arguments[0].every(n => n in window.__p11)", list(wanted)))
    marks = driver.execute_script("return window.__p11")
    fcp = driver.execute_script(
        "const [e] = performance.getEntriesByName('first-contentful-paint'); return e ? e.startTime : null")
    return {"paint": fcp / 1000, **{name: marks[name] / 1000 for name in wanted}}


def median_times(driver, url: str, wanted: dict[str, tuple[str, int]]) -> dict[str, float]:
    page_times(driver, url, wanted)  # warm-up
    runs = [page_times(driver, url, wanted) for _ in range(3)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--dashboard", type=Path, default=Path("/tmp/od-venv"),
                    help="a virtualenv with optuna-dashboard (made and installed into if missing)")
    ap.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_saber(args.serve[0], int(args.serve[1]))
        return
    load = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="saber-bench-p11-"))
    url, study_id = make_store(tmp, args.trials)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    driver = browser()
    try:
        with serving([sys.executable, __file__, "--serve", url, str(port)], f"{base}/static/common.js"):
            api = median3(lambda: get_seconds(f"{base}/api/studies/{STUDY}/trials?limit={ROWS}"))
            api_sorted = median3(lambda: get_seconds(
                f"{base}/api/studies/{STUDY}/trials?limit={ROWS}&offset=4900&sort=param:x&order=desc"))
            round_trip = median3(lambda: get_seconds(f"{base}/static/common.js"))
            page = median_times(driver, f"{base}/studies/{STUDY}",
                                {"table": ("#trials tbody tr", ROWS), "plot": ("#plots .main-svg .point", 1)})
            listing = median_times(driver, f"{base}/", {"table": ("#studies tbody tr", 1)})
        dashboard = measure_dashboard(driver, args.dashboard, url, study_id)
    finally:
        driver.quit()
    end_load = os.getloadavg()[0]

    print(f"\nP11 (a study of {args.trials} trials in SQLite; load {load:.1f} at start, {end_load:.1f} at end)")
    print(f"  (a) API, page of {ROWS} by number: {1000 * api:.0f} ms (goal <= 100 ms); "
          f"ratio to a static file's round trip ({1000 * round_trip:.1f} ms): {api / round_trip:.1f}")
    print(f"      API, page 50 sorted by param:x desc: {1000 * api_sorted:.0f} ms")
    print(f"  (b) study page: first paint {page['paint']:.2f} s, table of {ROWS} rows {page['table']:.2f} s "
          f"(goal <= 2 s), first plot {page['plot']:.2f} s; ratio table / studies list's table "
          f"({listing['table']:.2f} s): {page['table'] / listing['table']:.1f}")
    if dashboard is None:
        return
    print(f"  (c) optuna-dashboard: study API (every trial) {1000 * dashboard['api']:.0f} ms, page first paint "
          f"{dashboard['paint']:.2f} s, first plot {dashboard['plot']:.2f} s")
    print(f"      ratios saber / optuna-dashboard: API {api / dashboard['api']:.2f}, first paint "
          f"{page['paint'] / dashboard['paint']:.2f}, table filled vs its first plot "
          f"{page['table'] / dashboard['plot']:.2f}, first plot {page['plot'] / dashboard['plot']:.2f}")


def measure_dashboard(driver, venv: Path, url: str, study_id: int) -> dict[str, float] | None:
    command = venv / "bin" / "optuna-dashboard"
    if not command.exists():
        # A virtualenv of its own: its dependencies must not change saber's.
        try:
            subprocess.run(["python3", "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "optuna-dashboard"], check=True,
                           capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as e:
            detail = getattr(e, "stderr", None) or e
            print(f"  (c) optuna-dashboard: not measured, it did not install into {venv}: {str(detail)[-500:]}")
            return None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving([str(command), url, "--host", "127.0.0.1", "--port", str(port)], f"{base}/api/studies"):
        # Its study API has no paging: every trial, sent after=0 (what its page asks for first).
        api = median3(lambda: get_seconds(f"{base}/api/studies/{study_id}?after=0"))
        page = median_times(driver, f"{base}/dashboard/studies/{study_id}", {"plot": (".main-svg .point", 1)})
    return {"api": api, **page}


if __name__ == "__main__":
    main()
