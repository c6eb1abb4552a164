"""The job monitor page (issue #16) in headless chromium against a real kilnd."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import kiln
from conftest import TIMEOUT, Page, WebKilnd, error_body, eventually, job_in, submit

S = kiln.JobStatus


def open_menu(page: Page, job_id: str) -> None:
    page.click("row-menu", job_id)
    page.visible("row-menu-items")


def select(page: Page, *job_ids: str) -> None:
    for job_id in job_ids:
        if not page.checked(job_id):
            page.click("row-select", job_id)
        page.wait(lambda _: page.checked(job_id), f"job {job_id} to be selected")
    page.visible("batch-bar")
    page.wait(lambda _: page.find("batch-count").text.startswith(f"{len(job_ids)} selected"), "the selection's count")


def batch_actions(page: Page) -> list[str]:
    return [b.get_attribute("data-testid").removeprefix("batch-")
            for b in page.find("batch-bar").find_elements(By.CSS_SELECTOR, "#batch-actions button")]


def test_login_then_the_seeded_jobs_with_all_projects_for_the_admin(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    jobs = [submit(admin, project, sleep_ms=50), submit(admin, project), submit(admin, project, sleep_ms=50, fail_step="0", fail_times="9")]
    job_in(admin, jobs[0].id, S.FINISHED)
    job_in(admin, jobs[2].id, S.ERROR)

    page.open()
    page.visible("login")
    page.screenshot("login")
    page.find("login-token").send_keys("kiln_not-a-token")
    page.find("login-submit").click()
    assert "UNAUTHENTICATED" in page.visible("alert").text
    assert page.find("monitor").is_displayed() is False

    page.login(server.admin_token)
    assert page.find("whoami-name").text == "admin"
    # An ADMIN starts on all projects: the Project column is there.
    page.row(jobs[0].id)
    assert page.all("cell-project")
    page.show_project(project)
    page.wait(lambda _: sorted(page.row_ids()) == sorted(j.id for j in jobs), "the three seeded jobs")
    assert page.row_ids()[0] == jobs[2].id  # newest first
    assert not page.all("cell-project")
    page.wait_status(jobs[0].id, "FINISHED")
    page.wait_status(jobs[1].id, "RUNNING", "PENDING")
    page.wait_status(jobs[2].id, "ERROR")
    page.wait_total(3)
    page.screenshot("jobs")

    # The detail pane: steps, attempts, retries, the error.
    page.click("job-open", jobs[2].id)
    page.visible("detail")
    page.wait(lambda _: page.all("step-row"), "the steps")
    assert page.find("detail-status").text == "ERROR"
    assert "fail_step" in page.find("detail-error").text
    first = page.all("step-row")[0]
    assert first.get_attribute("data-status") == "ERROR"
    assert page.find("step-retries", first).text == "1"
    assert "simulated failure" in page.find("step-error", first).text
    assert {b.get_attribute("data-testid") for b in page.all("detail-actions")[0].find_elements(By.TAG_NAME, "button")} == {
        "detail-resume", "detail-restart", "detail-discard"}
    page.screenshot("detail")
    page.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.hidden("detail")
    assert not page.console_errors()


def test_filters_sorting_and_pages(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    admin.create_subject("other", project, kind="table")
    jobs = [submit(admin, project, sleep_ms=0) for _ in range(11)]
    odd = admin.submit_job(project, "TABLE_SAMPLING", "other", {"sleep_ms": "60000"})
    for job in jobs:
        job_in(admin, job.id, S.FINISHED)
    page.login(server.admin_token)
    page.show_project(project)
    page.wait_total(12)
    from selenium.webdriver.support.ui import Select
    before = page.loads()
    Select(page.find("page-size")).select_by_visible_text("10")
    page.wait_reloaded(before)
    first_page = page.row_ids()
    assert len(first_page) == 10 and first_page[0] == odd.id
    assert page.find("page-prev").get_attribute("disabled") is not None
    before = page.loads()
    page.click("page-next")
    page.wait_reloaded(before)
    assert len(page.row_ids()) == 2 and page.find("page-number").text == "Page 2"
    assert not set(page.row_ids()) & set(first_page)
    assert page.find("page-next").get_attribute("disabled") is not None
    before = page.loads()
    page.click("page-prev")
    page.wait_reloaded(before)
    assert page.row_ids() == first_page

    # Sorting by a column header: ascending by subject puts "other" last.
    before = page.loads()
    page.click("sort-subject")
    page.wait_reloaded(before)
    assert page.find("sort-subject").find_element(By.XPATH, "..").get_attribute("aria-sort") == "descending"
    assert odd.id not in page.row_ids()  # descending: the eleven on "s" first, "other" on page 2
    before = page.loads()
    page.click("sort-subject")
    page.wait_reloaded(before)
    assert page.find("sort-subject").find_element(By.XPATH, "..").get_attribute("aria-sort") == "ascending"
    assert page.row_ids()[0] == odd.id

    # Filters: status, type, key.
    before = page.loads()
    page.find("filter-status-RUNNING").click()
    page.find("filter-status-PENDING").click()
    page.click("filter-apply")
    page.wait_reloaded(before)
    assert page.row_ids() == [odd.id]
    page.wait_total(1)
    before = page.loads()
    page.click("filter-clear")
    page.wait_reloaded(before)
    Select(page.find("filter-project")).select_by_value(project)
    page.show_project(project)
    before = page.loads()
    Select(page.find("filter-type")).select_by_value("TABLE_SAMPLING")
    page.click("filter-apply")
    page.wait_reloaded(before)
    assert page.row_ids() == [odd.id]
    before = page.loads()
    Select(page.find("filter-type")).select_by_value("")
    page.find("filter-key").send_keys(jobs[3].id[:13])
    page.click("filter-apply")
    page.wait_reloaded(before)
    assert page.row_ids() == [jobs[3].id]
    page.screenshot("filtered")
    admin.discard(odd.id)


def test_a_job_submitted_over_grpc_appears_live_then_pauses_from_its_menu(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    seeded = submit(admin, project)
    page.login(server.admin_token)
    page.show_project(project)
    page.row(seeded.id)
    page.mark()

    job = submit(admin, project)
    page.row(job.id)
    assert page.row_ids()[0] == job.id
    page.wait_total(2)
    page.wait_status(job.id, "RUNNING")
    # Progress arrives live too.
    page.wait(lambda _: int(page.in_row(job.id, "progress").get_attribute("aria-valuenow")) >= 0, "a progress bar")

    open_menu(page, job.id)
    items = [b.get_attribute("data-testid") for b in page.find("row-menu-items").find_elements(By.TAG_NAME, "button")]
    assert items == ["action-restart", "action-pause", "action-discard"]
    # Escape closes the menu and gives the focus back to its button.
    page.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.hidden("row-menu-items")
    assert page.driver.switch_to.active_element.get_attribute("data-testid") == "row-menu"
    open_menu(page, job.id)
    page.screenshot("menu")
    page.click("action-pause")
    page.wait_status(job.id, "PAUSED")
    assert job_in(admin, job.id, S.PAUSED).status == S.PAUSED
    assert page.still_marked(), "the page reloaded"
    page.screenshot("paused")
    admin.discard(seeded.id)
    admin.discard(job.id)


def test_discard_three_from_the_batch_bar_after_confirming(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    jobs = [submit(admin, project) for _ in range(4)]
    page.login(server.admin_token)
    page.show_project(project)
    for job in jobs:
        page.row(job.id)
    select(page, *(j.id for j in jobs[:3]))
    page.wait(lambda _: "discard" in batch_actions(page), "the discard button")
    page.click("batch-discard")
    page.visible("confirm-dialog")
    assert "3" in page.find("confirm-title").text and "3 jobs" in page.find("confirm-ok").text
    page.screenshot("confirm")
    # Cancelling (Escape) changes nothing.
    page.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.hidden("confirm-dialog")
    assert all(admin.job(j.id).status != S.DISCARDED for j in jobs)
    page.click("batch-discard")
    page.visible("confirm-dialog")
    page.click("confirm-ok")
    for job in jobs[:3]:
        page.wait_status(job.id, "DISCARDED")
    assert [admin.job(j.id).status for j in jobs[:3]] == [S.DISCARDED] * 3
    assert admin.job(jobs[3].id).status in (S.RUNNING, S.PENDING)
    assert page.status_of(jobs[3].id) in ("RUNNING", "PENDING")
    assert "Discarded 3 jobs" in page.visible("notice").text
    page.screenshot("discarded")
    admin.discard(jobs[3].id)


def test_the_batch_bar_offers_only_what_every_selected_status_allows(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    finished = submit(admin, project, sleep_ms=0)
    running = submit(admin, project)
    paused = submit(admin, project)
    job_in(admin, finished.id, S.FINISHED)
    job_in(admin, running.id, S.RUNNING)
    admin.pause(paused.id)
    job_in(admin, paused.id, S.PAUSED)
    page.login(server.admin_token)
    page.show_project(project)
    for job, status in ((finished, "FINISHED"), (running, "RUNNING"), (paused, "PAUSED")):
        page.wait_status(job.id, status)

    select(page, running.id)
    assert batch_actions(page) == ["restart", "pause", "discard"]
    select(page, running.id, paused.id)
    assert batch_actions(page) == ["restart", "discard"]
    page.screenshot("running-and-paused")
    select(page, running.id, paused.id, finished.id)
    assert batch_actions(page) == []
    assert page.visible("batch-none")
    page.click("batch-clear")
    page.hidden("batch-bar")
    select(page, finished.id)
    assert batch_actions(page) == ["delete"]
    page.click("batch-delete")
    page.visible("confirm-dialog")
    assert "1 job" in page.find("confirm-title").text
    page.click("confirm-ok")
    page.wait(lambda _: finished.id not in page.row_ids(), "the deleted job's row to go")
    with pytest.raises(kiln.KilnError):
        admin.job(finished.id)
    # Select all takes every row of the page; the bar follows a status change live.
    page.click("select-all")
    page.wait(lambda _: page.find("batch-count").text.startswith("2 selected"), "both remaining jobs")
    assert batch_actions(page) == ["restart", "discard"]
    admin.resume(paused.id)
    page.wait(lambda _: batch_actions(page) in (["pause", "discard"], ["restart", "pause", "discard"]),
              "the bar to follow the resumed job (PENDING or RUNNING: pause, never resume)")
    admin.discard(running.id)
    admin.discard(paused.id)


def test_pause_two_from_the_batch_bar_then_resume_is_offered(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    one, two = submit(admin, project), submit(admin, project)
    page.login(server.admin_token)
    page.show_project(project)
    page.wait_status(one.id, "RUNNING")
    page.wait_status(two.id, "RUNNING")
    select(page, one.id, two.id)
    assert batch_actions(page) == ["restart", "pause", "discard"]
    page.click("batch-pause")
    page.wait_status(one.id, "PAUSED")
    page.wait_status(two.id, "PAUSED")
    select(page, one.id, two.id)
    assert batch_actions(page) == ["resume", "restart", "discard"]
    admin.discard(one.id)
    admin.discard(two.id)


class _OtherOrigin(http.server.BaseHTTPRequestHandler):
    """A page of another origin that tries a POST to kilnd with whatever cookie the browser would send."""

    target = ""
    body = ""

    def do_GET(self) -> None:  # noqa: N802
        page = f"""<!doctype html><title>elsewhere</title><script>
fetch({json.dumps(self.target)}, {{method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: {{'Content-Type': 'text/plain'}}, body: {json.dumps(self.body)}}})
  .then(() => {{ document.title = 'sent'; }}, () => {{ document.title = 'sent'; }});
</script>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        pass


def test_a_viewer_sees_no_mutating_controls_and_forged_requests_are_refused(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    job = submit(admin, project)
    name = f"viewer_{project[-6:]}"
    admin.create_user(name)
    admin.grant_role(name, project, kiln.Role.VIEWER)
    token = admin.create_token(name).secret
    page.login(token)
    assert page.find("whoami-name").text == name
    assert "VIEWER" in page.find("whoami-roles").text
    page.row(job.id)
    page.wait_status(job.id, "RUNNING", "PENDING")
    for control in ("row-select", "select-all", "row-menu", "batch-bar"):
        assert not [e for e in page.all(control) if e.is_displayed()], f"a viewer sees {control}"
    page.click("job-open", job.id)
    page.visible("detail")
    page.wait(lambda _: page.all("step-row"), "the steps")
    assert not page.find("detail-actions").find_elements(By.TAG_NAME, "button")
    page.screenshot("viewer")
    page.click("detail-close")

    pause = "/api/kiln.v1.JobService/PauseJob"
    csrf = page.driver.execute_script("return fetch('/api/session').then(r => r.json()).then(j => j.csrfToken)")
    assert csrf
    # With the cookie, but without the CSRF header or with a wrong one: 403, whoever the user.
    missing = page.fetch(pause, body={"id": job.id}, headers={"Content-Type": "application/json"})
    assert missing["status"] == 403, missing
    wrong = page.fetch(pause, body={"id": job.id}, headers={"X-Kiln-CSRF": "forged", "Content-Type": "application/json"})
    assert wrong["status"] == 403, wrong
    # With the right header the viewer is still refused: PERMISSION_DENIED.
    right = page.fetch(pause, body={"id": job.id}, headers={"X-Kiln-CSRF": csrf, "Content-Type": "application/json"})
    assert right["status"] == 403 and error_body(right).get("status") == "PERMISSION_DENIED", right

    # The admin's session: a forged POST with the cookie from another origin is refused.
    page.login(server.admin_token)
    cookies = {c["name"]: c["value"] for c in page.driver.get_cookies()}
    assert cookies, "no session cookie"
    cookie = next(c for c in page.driver.get_cookies() if c["name"] in cookies)
    assert cookie.get("httpOnly") is True and cookie.get("sameSite") == "Strict"
    forged = urllib.request.Request(
        server.url + pause.lstrip("/"), data=f'{{"id": "{job.id}"}}'.encode(), method="POST",
        headers={"Content-Type": "application/json", "Origin": "http://evil.example",
                 "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=TIMEOUT)
    assert refused.value.code == 403
    # And from a page of another origin in the browser itself (localhost is another site than 127.0.0.1).
    _OtherOrigin.target = f"http://127.0.0.1:{server.http_port}{pause}"
    _OtherOrigin.body = json.dumps({"id": job.id})
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtherOrigin)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        page.driver.get(f"http://localhost:{other.server_address[1]}/")
        page.wait(lambda d: d.title == "sent", "the forged request to be sent")
    finally:
        other.shutdown()
    assert admin.job(job.id).status in (S.RUNNING, S.PENDING), "a forged request paused the job"
    admin.discard(job.id)


def test_the_page_resumes_after_kilnd_is_killed_and_restarted(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    running = submit(admin, project)
    paused = submit(admin, project)
    admin.pause(paused.id)
    page.login(server.admin_token)
    page.show_project(project)
    page.wait_status(running.id, "RUNNING")
    page.wait_status(paused.id, "PAUSED")
    page.mark()

    server.kill()
    page.visible("reconnect-banner")
    assert page.find("reconnect-banner").text == "Live updates reconnecting…"
    page.screenshot("reconnecting")
    server.start_again()
    # Changes right after the restart, before or while the page reconnects: none may be missed.
    with server.client() as client:
        client.resume(paused.id)
        client.discard(running.id)
        new = submit(client, project)
    page.hidden("reconnect-banner")
    page.wait_status(running.id, "DISCARDED")
    page.wait_status(paused.id, "PENDING", "RUNNING")
    page.row(new.id)
    # And after it has reconnected.
    with server.client() as client:
        client.discard(new.id)
        client.discard(paused.id)
    page.wait_status(new.id, "DISCARDED")
    page.wait_status(paused.id, "DISCARDED")
    assert page.still_marked(), "the page reloaded"
    assert page.find("whoami").is_displayed()
    page.screenshot("resumed")


def test_a_running_steps_log_follows_then_completes(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    job = submit(admin, project, sleep_ms=8000)
    page.login(server.admin_token)
    page.show_project(project)
    page.wait_status(job.id, "RUNNING")
    page.click("job-open", job.id)
    page.visible("detail")
    name = page.wait(lambda _: [r.get_attribute("data-step") for r in page.all("step-row") if r.get_attribute("data-status") == "RUNNING"] or False,
                     "a running step")[0]
    page.click("step-log", step=name)
    page.visible("log")
    page.wait(lambda _: page.find("log-state").text.startswith("following"), "the log to follow")
    text = page.find("log-text")
    page.wait(lambda _: f"{name}: simulated work" in text.text, "the step's first line")
    page.wait(lambda _: f"{name}: 30%" in text.text, "later lines, appended as they are written")
    page.screenshot("log-following")
    page.wait(lambda _: f"=== {name} succeeded ===" in text.text, "the step's last line", timeout=TIMEOUT * 2)
    page.wait(lambda _: page.find("log-state").text == "complete", "the log to be complete")
    full = admin.step_log(job.id, name).data.decode()
    assert text.text.strip() == full.strip()
    # A finished step's log is read whole with GetStepLog.
    page.wait(lambda _: [r for r in page.all("step-row") if r.get_attribute("data-step") == name and r.get_attribute("data-status") == "FINISHED"],
              "the step to finish")
    page.click("step-log", step=name)
    page.wait(lambda _: page.find("log-state").text == "complete" and f"=== {name} succeeded ===" in page.find("log-text").text, "the finished log")
    admin.discard(job.id)


def test_phone_width_has_no_horizontal_page_overflow(page: Page, server: WebKilnd, admin: kiln.Client, project: str) -> None:
    jobs = [submit(admin, project) for _ in range(2)]
    page.driver.set_window_size(390, 844)
    page.login(server.admin_token)
    page.row(jobs[0].id)  # all projects, with the Project column: the widest table
    width = page.driver.execute_script("return document.documentElement.clientWidth")
    assert width <= 390
    overflow = page.driver.execute_script(
        "return [document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(overflow) <= width, overflow
    wrap = page.find("table-wrap")
    assert page.driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", wrap), "the table does not scroll"
    assert wrap.size["width"] <= width
    page.screenshot("phone")
    page.click("job-open", jobs[0].id)
    page.visible("detail")
    page.wait(lambda _: page.all("step-row"), "the steps")
    assert max(page.driver.execute_script("return [document.documentElement.scrollWidth, document.body.scrollWidth]")) <= width
    page.screenshot("phone-detail")
    page.click("detail-close")
    # Signing out shows the form again; the cookie no longer works.
    page.click("logout")
    page.visible("login")
    assert page.fetch("/api/session", method="GET")["status"] == 401
    for job in jobs:
        admin.discard(job.id)
