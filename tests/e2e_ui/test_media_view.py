"""The Media view in a real browser: ``make demo-ui``'s deployment, the example pipeline's outputs.

``scripts/demo_ui.py`` starts the emulator and a real Airflow (api-server, scheduler, dag-processor,
triggerer) on 127.0.0.1, runs the example pipeline once and prints the login and the run's Media
view URL. Headless Chromium then logs in with that password, as a user would, and checks:

- the run's Media tab: every media task, the persisted images decoded (natural size > 0), the
  persisted videos play and seek (the plugin answers byte ranges);
- after the TensorPix job's provider URL (scripted to last 30 s) expired, the copy its task
  persisted (one task per job: submit with ``destination=``) still plays;
- the submit task's "Media" extra link opens that task's Media tab;
- Ctrl-C (SIGINT) to the demo stops every process it started.

Screenshots go to MEDIAJOBS_E2E_UI_SCREENSHOTS (``make e2e-ui``: docs/screenshots/media-view-*.png).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

pytestmark = [pytest.mark.e2e_ui, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "mediajobs_pipeline"
URL_LIFETIME_S = 30
MARKER = "MEDIAJOBS_DEMO_UI"


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    marker: str
    url: str
    user: str
    password: str
    run_id: str
    run_view: str
    lines: list[str]
    seconds_to_url: float
    ready_at: float  # time.monotonic() when the demo printed the URL

    def task_page(self, task_id: str) -> str:
        return f"{self.url}/dags/{DAG_ID}/runs/{quote(self.run_id, safe='')}/tasks/{task_id}"


def _load_demo_ui() -> Any:
    """``scripts/demo_ui.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("demo_ui", ROOT / "scripts" / "demo_ui.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the processes carrying a demo's marker: the script's own finder, so the test checks what it kills
_marked_pids = _load_demo_ui().marked_pids


@pytest.fixture(scope="module")
def demo(require_browser: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``scripts/demo_ui.py`` (what ``make demo-ui`` runs) until it prints the Media view URL."""
    work = tmp_path_factory.mktemp("demo-ui")
    marker = uuid.uuid4().hex
    # the demo's Airflow gets its own configuration, not the test session's AIRFLOW_HOME
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({MARKER: marker, "PYTHONUNBUFFERED": "1"})
    cmd = [sys.executable, str(ROOT / "scripts" / "demo_ui.py"), "--port", "0", "--work", str(work / "w")]
    cmd += ["--url-lifetime", str(URL_LIFETIME_S)]
    began = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    fresh: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            fresh.put(line)
        fresh.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 600
        while not any(line.startswith("Ctrl-C stops") for line in lines):
            try:
                if fresh.get(timeout=max(0.1, deadline - time.monotonic())) is None:
                    raise AssertionError("demo-ui exited:\n" + "\n".join(lines))
            except queue.Empty:
                raise AssertionError("demo-ui printed no URL within 600 s:\n" + "\n".join(lines)) from None
        text = "\n".join(lines)
        assert re.search(r"^DAG run \S+: success$", text, re.M), text
        login = re.search(
            r"^Airflow UI: +(http://127\.0\.0\.1:\d+)/ +\(user (\S+), password (\S+)\)$", text, re.M
        )
        view = re.search(r"^Media view of the run: +(\S+)$", text, re.M)
        run = re.search(r"^DAG run (\S+): success$", text, re.M)
        assert login and view and run, text
        yield Demo(
            proc,
            marker,
            login[1],
            login[2],
            login[3],
            run[1],
            view[1],
            lines,
            time.monotonic() - began,
            time.monotonic(),
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for pid in _marked_pids(marker):  # never leave a process behind, whatever failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# ---- the browser side -------------------------------------------------------------------------------
def wait(driver: WebDriver, condition: Any, what: str, timeout: float = 60) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition, message=f"timed out: {what}")


def log_in(driver: WebDriver, demo: Demo, url: str) -> None:
    """Open ``url``; the simple auth manager's login form comes first, filled in like a user does."""
    driver.get(url)
    user = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=username]"), "the login form")[
        0
    ]
    user.send_keys(demo.user)
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(demo.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: "/auth/login" not in d.current_url, "the login to go through")


def media_frame(driver: WebDriver) -> WebElement:
    """The Media tab's iframe, switched into once its page has loaded."""
    driver.switch_to.default_content()
    frame = wait(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, "iframe[title='Media']"), "the Media tab"
    )[0]
    assert "/mediajobs/dags/" in str(frame.get_attribute("src"))
    driver.switch_to.frame(frame)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main section.task, main p.none"), "the view")
    return frame


def section(driver: WebDriver, task_id: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"section.task[data-task-id='{task_id}']")


def image_sizes(driver: WebDriver, root: WebElement) -> list[tuple[str, int, int]]:
    """(src, naturalWidth, naturalHeight) of every image under ``root``, each scrolled into view first."""
    found = []
    for img in root.find_elements(By.CSS_SELECTOR, "img.thumb"):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", img)
        wait(
            driver, lambda d, i=img: d.execute_script("return arguments[0].complete;", i), "an image to load"
        )
        width, height = driver.execute_script(
            "return [arguments[0].naturalWidth, arguments[0].naturalHeight];", img
        )
        found.append((str(img.get_attribute("src")), int(width), int(height)))
    return found


_PLAY_AND_SEEK = """
const [video, target, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const fail = (why) => done({error: why, readyState: video.readyState, code: video.error && video.error.code});
video.muted = true;
video.scrollIntoView({block: 'center'});
video.play().then(() => {
  const started = performance.now();
  const poll = setInterval(() => {
    if (video.currentTime > 0.2 || performance.now() - started > 15000) {
      clearInterval(poll);
      const played = video.currentTime;
      video.pause();
      video.addEventListener('seeked', () => done({
        played: played, readyState: video.readyState, currentTime: video.currentTime,
        duration: video.duration, width: video.videoWidth, height: video.videoHeight,
        seekableEnd: video.seekable.length ? video.seekable.end(0) : 0}), {once: true});
      video.currentTime = target;
    }
  }, 50);
}, (err) => fail('play() refused: ' + err));
video.addEventListener('error', () => fail('media error'), {once: true});
"""


def play_and_seek(driver: WebDriver, video: WebElement, target: float = 1.5) -> dict[str, Any]:
    driver.set_script_timeout(40)
    return dict(driver.execute_async_script(_PLAY_AND_SEEK, video, target))


def assert_plays(driver: WebDriver, video: WebElement) -> dict[str, Any]:
    result = play_and_seek(driver, video)
    assert "error" not in result, result
    assert result["played"] > 0.2, result  # it played
    assert result["readyState"] >= 2, result  # HAVE_CURRENT_DATA at least, after the seek
    assert abs(result["currentTime"] - 1.5) < 0.05, result  # the seek landed (byte ranges work)
    assert result["width"] == 160 and result["height"] == 90 and result["duration"] > 1.9, result
    return result


def test_the_run_media_tab_shows_every_media_task_with_working_images_and_videos(
    demo: Demo, driver: WebDriver, screenshots: Path
) -> None:
    log_in(driver, demo, demo.run_view)
    media_frame(driver)
    tasks = [s.get_attribute("data-task-id") for s in driver.find_elements(By.CSS_SELECTOR, "section.task")]
    submits = ["goenhance_face_swap", "tensorart_artwork", "vozo_lipsync", "tensorpix_upscale"]
    # one task per job: each submit persisted its job's files (the job dict's "files")
    assert sorted(tasks) == sorted(submits), tasks
    # persisted images: served by the plugin, decoded by the browser (the emulator's 256x256 PNGs)
    for task in ("goenhance_face_swap", "tensorart_artwork"):
        sizes = image_sizes(driver, section(driver, task))
        assert sizes and all("/mediajobs/dags/" in src and (w, h) == (256, 256) for src, w, h in sizes), sizes
    for task in ("vozo_lipsync", "tensorpix_upscale"):
        (video,) = section(driver, task).find_elements(By.CSS_SELECTOR, "video.player")
        assert "/mediajobs/dags/" in str(video.get_attribute("src"))
        assert_plays(driver, video)
    # a TAMS job id is a 64-bit integer: shown as the exact text, never rounded like a JS number
    job_id = section(driver, "tensorart_artwork").find_element(By.CSS_SELECTOR, "dd.job-id").text
    persisted = section(driver, "tensorart_artwork").find_element(By.CSS_SELECTOR, ".name").text
    assert re.fullmatch(r"\d{16,20}", job_id) and persisted.startswith(f"tensorart-{job_id}-"), (
        job_id,
        persisted,
    )
    driver.execute_script("window.scrollTo(0, 0);")
    driver.switch_to.default_content()
    driver.set_window_size(1280, 1500)  # the gallery's first two rows
    driver.save_screenshot(str(screenshots / "media-view-run.png"))


def test_the_persisted_copy_plays_after_the_provider_url_expired(
    demo: Demo, driver: WebDriver, screenshots: Path
) -> None:
    """The TensorPix job's signed URL lasts URL_LIFETIME_S; the file its task persisted still plays."""
    remaining = demo.ready_at + URL_LIFETIME_S + 5 - time.monotonic()  # the URL predates the run's end
    if remaining > 0:
        time.sleep(remaining)
    log_in(driver, demo, demo.task_page("tensorpix_upscale") + "/plugin/media")
    media_frame(driver)
    (video,) = section(driver, "tensorpix_upscale").find_elements(By.CSS_SELECTOR, "video.player")
    assert "/mediajobs/dags/" in str(video.get_attribute("src"))  # the plugin serves it, not the CDN
    assert_plays(driver, video)
    driver.switch_to.default_content()
    driver.save_screenshot(str(screenshots / "media-view-task.png"))


def test_the_media_extra_link_opens_the_tasks_media_tab(demo: Demo, driver: WebDriver) -> None:
    log_in(driver, demo, demo.task_page("vozo_lipsync"))
    # the task's Details tab lists its extra links (links out, not the UI's own tab links)
    details = wait(
        driver,
        lambda d: [
            a for a in d.find_elements(By.XPATH, "//a[normalize-space(.)='Details']") if a.is_displayed()
        ],
        "the Details tab",
    )[0]
    details.click()
    link = wait(
        driver,
        lambda d: [
            a
            for a in d.find_elements(By.XPATH, "//a[@rel='noopener noreferrer'][normalize-space(.)='Media']")
            if a.is_displayed()
        ],
        "the Media extra link",
    )[0]
    href = str(link.get_attribute("href"))
    assert href.startswith(demo.url) and href.endswith("/tasks/vozo_lipsync/plugin/media"), href
    link.click()
    if len(driver.window_handles) > 1:  # a link that opens a new tab
        driver.switch_to.window(driver.window_handles[-1])
    wait(driver, lambda d: d.current_url.endswith("/tasks/vozo_lipsync/plugin/media"), "the Media tab URL")
    media_frame(driver)
    shown = driver.find_element(By.CSS_SELECTOR, "section.task")
    assert shown.get_attribute("data-task-id") == "vozo_lipsync"
    facts = shown.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert "vozo" in facts and "succeeded" in facts, facts


def test_ctrl_c_stops_everything_the_demo_started(demo: Demo, record_property: Any) -> None:
    record_property("seconds_to_media_view_url", round(demo.seconds_to_url, 1))
    assert len(_marked_pids(demo.marker)) >= 5, "api-server, scheduler, dag-processor, triggerer and demo-ui"
    os.killpg(demo.proc.pid, signal.SIGINT)
    assert demo.proc.wait(timeout=60) == 0, "\n".join(demo.lines)
    assert demo.lines[-1] == "stopped.", demo.lines[-3:]
    assert _marked_pids(demo.marker) == []
