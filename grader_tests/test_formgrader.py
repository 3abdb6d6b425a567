"""Formgrader in a real browser: headless Chromium (Debian's, driven by Playwright, which
downloads no browser) opens JupyterLab, the Nbgrader menu's Formgrader, a graded submission,
gives its written answer points and a comment; `course export` and `course report` then show
the manual grade, and the answer no longer pending. Then it opens, as the instructor grading
it would, a submission carrying every kind of active content (the adversarial corpus's
`script_in_markdown_and_outputs`): nothing of it runs, and no request leaves the page."""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from adversarial.corpus import CANARY
from e2e import ADVERSARIAL, MINI, mini_course

from course_lib.cli import main
from course_lib.gradebook import open_gradebook
from course_lib.pipeline.collect import place_submission

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags a closed network needs (no background connections), as root (no sandbox).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, mnist_dir) -> Path:
    """The small practical, alice's solution graded: her written answer waits for the instructor."""
    course = mini_course(tmp_path_factory.mktemp("formgrader") / "course", mnist_dir)
    place_submission(course_dir=course, assignment=MINI, student="alice",
                     notebook=ADVERSARIAL / "cases" / "twin_solution.ipynb")
    place_submission(course_dir=course, assignment=MINI, student="mallory",
                     notebook=ADVERSARIAL / "cases" / "script_in_markdown_and_outputs.ipynb")
    assert main(["grade", MINI, "--course-dir", str(course)]) == 0
    return course


@pytest.fixture(scope="module")
def jupyterlab(graded_course, tmp_path_factory) -> Iterator[str]:
    """JupyterLab with nbgrader's formgrader, on 127.0.0.1, in the course folder: its URL."""
    if not Path(CHROMIUM).is_file():
        message = "Chromium is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    state = tmp_path_factory.mktemp("jupyter")  # no workspace or setting of an earlier session
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(state / "config"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(state / "settings")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={graded_course}"],
        cwd=graded_course, env=env, stdout=subprocess.DEVNULL, stderr=(state / "server.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start: " + (state / "server.log").read_text()[-2000:])
                time.sleep(0.5)
        yield f"{base}/lab?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_manual_grade_given_in_formgrader_reaches_export_and_report(graded_course, jupyterlab, capsys):
    from playwright.sync_api import expect, sync_playwright

    at = ["--course-dir", str(graded_course)]
    assert main([*at, "report"]) == 0
    before = (graded_course / "reports" / "report.html").read_text()
    assert before.count("manual grading pending: answer_why") == 2  # alice's and mallory's

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            formgrader = open_submission(page, jupyterlab, graded_course, "alice")

            score = formgrader.locator("input.score#answer_why")
            expect(score).to_have_class("score tabbable needs_manual_grade")
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                                      and r.request.method == "PUT" and r.ok):
                score.fill("1")
                score.press("Tab")  # formgrader saves on the input's change event
            comment = formgrader.locator("textarea.comment#answer_why-comment")
            with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url
                                      and r.request.method == "PUT" and r.ok):
                comment.fill("Juste : des entrées à la même échelle.")
                comment.press("Tab")
            expect(score).not_to_have_class("score tabbable needs_manual_grade")
        finally:
            browser.close()

    with open_gradebook(graded_course) as gradebook:
        grade = gradebook.find_grade("answer_why", MINI, MINI, "alice")
        comment = gradebook.find_comment("answer_why", MINI, MINI, "alice")
        assert (grade.manual_score, grade.needs_manual_grade) == (1.0, False)
        assert comment.manual_comment == "Juste : des entrées à la même échelle."

    capsys.readouterr()
    assert main([*at, "export"]) == 0 and main([*at, "export", "--detail"]) == 0
    [row] = [r for r in csv.DictReader((graded_course / "exports" / "grades.csv").open()) if r["student_id"] == "alice"]
    assert (row["student_id"], row[MINI], row[f"{MINI}_status"], row["needs_attention"]) == (
        "alice", "11", "graded", "")
    detail = {r["grade_id"]: r for r in csv.DictReader((graded_course / "exports" / "grades-detail.csv").open())
              if r["student_id"] == "alice"}
    assert (detail["answer_why"]["points"], detail["answer_why"]["status"]) == ("1", "passed")
    assert detail["answer_why"]["message"] == "Juste : des entrées à la même échelle."
    assert main([*at, "report"]) == 0
    after = (graded_course / "reports" / "report.html").read_text()
    assert after.count("manual grading pending: answer_why") == 1  # mallory's only


def open_submission(page, jupyterlab: str, course: Path, student: str):
    """Open `student`'s submission as an instructor does: JupyterLab's Nbgrader menu,
    Formgrader, Manual Grading, the assignment, its notebook, the submission (formgrader names
    it "Submission #N", N its rank among the notebook's submissions by id); its frame."""
    with open_gradebook(course) as gradebook:
        ordered = sorted(gradebook.notebook_submissions(MINI, MINI), key=lambda s: s.id)
        name = f"Submission #{[s.student.id for s in ordered].index(student) + 1}"
    page.goto(jupyterlab)
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Formgrader", exact=True).click()
    formgrader = page.frame_locator("iframe")  # the Formgrader tab
    formgrader.get_by_role("link", name="Manual Grading").click()
    formgrader.get_by_role("link", name=MINI, exact=True).first.click()  # the assignment
    formgrader.get_by_role("link", name=MINI, exact=True).first.click()  # its notebook
    formgrader.get_by_role("link", name=name).click()
    return formgrader


# Formgrader's own page loads MathJax from a CDN (with its Safe extension), for every submission.
FORMGRADER_MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"


class Canary:
    """An HTTP server on the corpus's canary address that counts the requests it gets."""

    def __init__(self) -> None:
        import http.server

        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_POST = do_PUT = do_GET

            def log_message(self, *args: object) -> None:
                pass

        host, port = urllib.parse.urlsplit(CANARY).netloc.split(":")
        self.server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_submission_full_of_scripts_runs_nothing_in_formgrader(graded_course, jupyterlab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    base = jupyterlab.split("/lab?")[0]
    canary, requests, dialogs = Canary(), [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(60_000)
                page.on("request", lambda request: requests.append((request.method, request.url)))
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
                formgrader = open_submission(page, jupyterlab, graded_course, "mallory")
                try:  # a page that scripts broke never shows it: what they did is asserted below
                    formgrader.locator("input.score#answer_why").wait_for(timeout=20_000)
                except PlaywrightTimeout:
                    pass
                page.mouse.move(700, 450)
                page.wait_for_timeout(3000)  # time for a handler or a timer to fire
                pwned = [frame.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
                         for frame in page.frames]
            finally:
                browser.close()
    finally:
        canary.close()
    assert pwned == [None] * len(pwned) and len(pwned) >= 2 and dialogs == []
    assert canary.hits == []
    leaving = [(method, url) for method, url in requests
               if not url.startswith((base, FORMGRADER_MATHJAX)) or (method != "GET" and "/api/contents" in url)]
    assert leaving == [], leaving
    assert not (graded_course / "pwned.txt").exists()
