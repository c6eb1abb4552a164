"""Fixtures for the job monitor's tests in a real browser: a real kilnd with its HTTP face
(`--http-port`), seeded over gRPC by the Python client, and Debian's chromium driven headless
by Selenium through Debian's chromedriver (Selenium Manager never downloads anything)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = REPO_ROOT / "Sources" / "KilnWeb" / "Page"

# The Python client's test helpers (Kilnd, stable_port, eventually, job_in), reused as they
# are: loaded under another name so that pytest does not take them for this directory's conftest.
_spec = importlib.util.spec_from_file_location("kiln_client_test_helpers", REPO_ROOT / "clients" / "python" / "tests" / "conftest.py")
assert _spec and _spec.loader
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

import kiln  # noqa: E402  (on sys.path through the helpers)

Kilnd = helpers.Kilnd
stable_port = helpers.stable_port
job_in = helpers.job_in

TIME_FACTOR = float(os.environ.get("KILN_TEST_TIME_FACTOR") or 1)
TIMEOUT = 30 * TIME_FACTOR
SCREENSHOTS = Path(os.environ.get("KILN_SCREENSHOT_DIR") or "/tmp/kiln-screenshots")
CHROMIUM = os.environ.get("KILN_CHROMIUM") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("KILN_CHROMEDRIVER") or "/usr/bin/chromedriver"
WEB_URL = re.compile(r"serving the web monitor on (http://127\.0\.0\.1:\d+/)")


def eventually(condition: Callable[[], Any], what: str = "the condition", timeout: float = TIMEOUT) -> Any:
    return helpers.eventually(condition, timeout, what)


class WebKilnd(Kilnd):
    """A kilnd serving the page on a fixed HTTP port (kept across restarts) from this tree's
    Sources/KilnWeb/Page (KILN_WEB_ROOT=builtin: the copy built into the binary)."""

    def __init__(self, data_dir: Path) -> None:
        self.http_port = stable_port()
        args = ["--http-port", str(self.http_port)]
        web_root = os.environ.get("KILN_WEB_ROOT", str(PAGE_DIR))
        if web_root != "builtin":
            args += ["--web-root", web_root]
        args += os.environ.get("KILN_TEST_KILND_ARGS", "").split()  # e.g. "--log-level debug" (the last one wins)
        super().__init__(data_dir, port=stable_port(), args=tuple(args))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def start(self, timeout: float = 60 * TIME_FACTOR) -> "WebKilnd":
        super().start(timeout)
        eventually(lambda: WEB_URL.search(self.log_path.read_text(errors="replace")), "kilnd to serve the web monitor")
        return self

    def kill(self) -> None:
        """Ends kilnd with SIGKILL: no graceful shutdown, no goodbye to the streams."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def start_again(self) -> None:
        """Starts kilnd on the same ports and data directory after a kill."""
        self.requested_port = self.port
        self.start()


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kiln-browser-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server(workdir: Path) -> Iterator[WebKilnd]:
    kilnd = WebKilnd(workdir / "data")
    try:
        kilnd.start()
        yield kilnd
    finally:
        kilnd.stop()
        if os.environ.get("KILN_KEEP_LOGS"):
            shutil.copy(kilnd.log_path, SCREENSHOTS / "kilnd.log")


@pytest.fixture
def admin(server: WebKilnd) -> Iterator[kiln.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def project(admin: kiln.Client, request: pytest.FixtureRequest) -> str:
    """A new project for the test, with the subject `s`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:40] + "_" + uuid.uuid4().hex[:6]
    admin.create_project(name, description=f"for {request.node.name}")
    admin.create_subject("s", name, kind="model", schema="id INT")
    return name


@pytest.fixture(scope="session")
def driver() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER)
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_script_timeout(TIMEOUT)
    try:
        yield browser
    finally:
        browser.quit()


class Page:
    """The job monitor in the browser, with explicit waits for everything."""

    def __init__(self, driver: webdriver.Chrome, server: WebKilnd, name: str) -> None:
        self.driver = driver
        self.server = server
        self.name = re.sub(r"[^A-Za-z0-9_]", "_", name)[:60]

    # -- finding and waiting
    def wait(self, condition: Callable[[webdriver.Chrome], Any], what: str, timeout: float = TIMEOUT) -> Any:
        # Live updates re-render rows and steps as events arrive: a stale element is retried.
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
            condition, f"timed out waiting for {what}")

    def click(self, testid: str, job_id: Optional[str] = None, step: Optional[str] = None) -> None:
        """Clicks the element, in the job's row or the step's row if given, found afresh until the click lands."""
        scope = f'tr[data-job-id="{job_id}"] ' if job_id else f'tr[data-testid=step-row][data-step="{step}"] ' if step else ""
        css = f'{scope}[data-testid="{testid}"]'

        def attempt(driver: Any) -> bool:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return True
        self.wait(attempt, f"a click on {css}")

    def in_row(self, job_id: str, testid: str) -> WebElement:
        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, f'tr[data-job-id="{job_id}"] [data-testid="{testid}"]'),
                         f"{testid} in the row of {job_id}")

    def checked(self, job_id: str) -> bool:
        return bool(self.driver.execute_script(
            "const b = document.querySelector(`tr[data-job-id=\"${arguments[0]}\"] [data-testid=row-select]`); return b && b.checked;", job_id))

    def find(self, testid: str, within: Optional[WebElement] = None) -> WebElement:
        return (within or self.driver).find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def all(self, testid: str, within: Optional[WebElement] = None) -> list[WebElement]:
        return (within or self.driver).find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def visible(self, testid: str) -> WebElement:
        def check(_: Any) -> Any:
            found = [e for e in self.all(testid) if e.is_displayed()]
            return found[0] if found else False
        return self.wait(check, f"{testid} to be visible")

    def hidden(self, testid: str) -> None:
        self.wait(lambda _: not any(e.is_displayed() for e in self.all(testid)), f"{testid} to be hidden")

    def row(self, job_id: str) -> WebElement:
        return self.wait(lambda d: (d.find_elements(By.CSS_SELECTOR, f'tr[data-job-id="{job_id}"]') or [False])[0],
                         f"the row of job {job_id}")

    def rows(self) -> list[WebElement]:
        return self.all("job-row")

    def row_ids(self) -> list[str]:
        return [row.get_attribute("data-job-id") for row in self.rows()]

    def status_of(self, job_id: str) -> Optional[str]:
        return self.driver.execute_script(
            "const r = document.querySelector(`tr[data-job-id=\"${arguments[0]}\"]`); return r && r.dataset.status;", job_id)

    def wait_status(self, job_id: str, *statuses: str) -> str:
        return self.wait(lambda _: self.status_of(job_id) in statuses and self.status_of(job_id),
                         f"job {job_id} to show {'/'.join(statuses)}")

    # -- actions
    def open(self) -> "Page":
        self.driver.get(self.server.url)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete", "the page to load")
        return self

    def login(self, token: str) -> "Page":
        self.open()  # cookies are deleted for the current document's site
        self.driver.delete_all_cookies()
        self.open()
        field = self.visible("login-token")
        field.clear()
        field.send_keys(token)
        self.find("login-submit").click()
        self.visible("monitor")
        self.wait(lambda d: d.execute_script(
            "return document.querySelector('[data-testid=total]').textContent.length > 0"), "the first list")
        return self

    def show_project(self, project: str) -> None:
        from selenium.webdriver.support.ui import Select
        Select(self.find("filter-project")).select_by_value(project)
        self.wait(lambda _: self.find("monitor").get_attribute("data-project") == project, f"the jobs of {project}")

    def loads(self) -> int:
        return int(self.find("monitor").get_attribute("data-loads") or 0)

    def wait_reloaded(self, before: int) -> None:
        self.wait(lambda _: self.loads() > before, "the list to be read again")

    def wait_total(self, count: int) -> None:
        self.wait(lambda _: self.find("total").text.startswith(f"{count} job"), f"a total of {count}")

    def mark(self) -> None:
        """Marks the document; `still_marked` is then true only if the page was not reloaded."""
        self.driver.execute_script("window.__kilnTestMark = 'not reloaded';")

    def still_marked(self) -> bool:
        return self.driver.execute_script("return window.__kilnTestMark") == "not reloaded"

    def screenshot(self, state: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}--{state}.png"
        self.driver.save_screenshot(str(path))
        return path

    def fetch(self, path: str, method: str = "POST", body: Any = None, headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
        """A fetch made by the page's document (its origin, its cookie); returns status and body."""
        return self.driver.execute_async_script(
            """
            const [path, method, body, headers, done] = arguments;
            fetch(path, {method, headers, credentials: 'same-origin', body: body === null ? undefined : JSON.stringify(body)})
              .then(async r => done({status: r.status, body: await r.text()}))
              .catch(e => done({status: -1, body: String(e)}));
            """, path, method, body, headers or {})

    def console_errors(self, all_levels: bool = False) -> list[str]:
        """The browser console's errors since the last call (every entry with ``all_levels``)."""
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - not every driver keeps the log
            return []
        return [e["message"] for e in entries
                if (all_levels or e.get("level") == "SEVERE") and "favicon" not in e["message"]
                and (all_levels or "Failed to load resource" not in e["message"])]


@pytest.fixture
def page(driver: webdriver.Chrome, server: WebKilnd, request: pytest.FixtureRequest) -> Iterator[Page]:
    driver.set_window_size(1280, 900)
    monitor = Page(driver, server, request.node.name)
    for old in SCREENSHOTS.glob(f"{monitor.name}--*.png"):  # the last run's, so that none is mistaken for this one's
        old.unlink()
    yield monitor
    # The page retries a mutation that got no answer (same request id): say so, a stall is a finding.
    for line in monitor.console_errors(all_levels=True):
        if "retrying with the same request id" in line:
            warnings.warn(f"{request.node.name}: the page had to retry: {line}")
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        monitor.screenshot("failed")
        print("alert:", monitor.driver.execute_script(
            "const a = document.getElementById('alert'); return a ? a.hidden + ' ' + a.textContent : 'none'"))
        print("requests:", monitor.driver.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
            ".map(e => `${e.name.split('/api/')[1].slice(0, 60)} start=${Math.round(e.startTime)} end=${Math.round(e.responseEnd)} status=${e.responseStatus}`)"))
        print("browser console:", *monitor.console_errors(all_levels=True), sep="\n  ")
        print("kilnd log:", server.log_tail(20), sep="\n")
    driver.get("about:blank")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def submit(client: kiln.Client, project: str, sleep_ms: int = 60_000, **params: str) -> kiln.Job:
    """An INDEX_BUILD job on the project's subject `s`, each step sleeping ``sleep_ms``."""
    return client.submit_job(project, "INDEX_BUILD", "s", {"sleep_ms": str(sleep_ms), **params})


def error_body(response: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(response["body"])
    except (ValueError, KeyError):
        return {}
