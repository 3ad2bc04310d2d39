"""The Media view in a real browser: ``make demo-ui``'s deployment and its three runs.

``scripts/demo_ui.py`` starts the emulator and a real Airflow (api-server, scheduler, dag-processor,
triggerer) on 127.0.0.1, runs the example pipeline, a batch of 10 mapped TAMS jobs, and the pipeline
again with its TAMS job scripted to fail on both tries, then prints the login and each run's Media
view URL. Headless Chromium logs in with that password, as a user would, and checks:

- the pipeline run: one card per job (its submit task, which persisted the files), the persisted copies
  instead of provider URLs (no expiry hint), images decoded, videos play and seek (byte ranges);
- the batch: a contact sheet of 10 tiles (not 20), several per row, each with its prompt; the
  filters; a tile opens its card with the prompt, negative prompt and size beside the image;
- a persisted file downloads under its own name, with the recorded sha256;
- the failed job: the provider's reason, the cost in credits, try 2 with try 1 listed (and its job
  id on 3.3+), the log link opens the failed try's log;
- the submit task's "Media" extra link opens that task's Media tab;
- Ctrl-C (SIGINT) to the demo stops every process it started.

Screenshots go to MEDIAJOBS_E2E_UI_SCREENSHOTS (``make e2e-ui``: docs/screenshots/media-view-*.png).
"""

from __future__ import annotations

import contextlib
import hashlib
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
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

pytestmark = [pytest.mark.e2e_ui, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path) -> Any:
    """A script or example DAG file as a module (neither is part of the package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_demo_ui() -> Any:
    return _load("demo_ui", ROOT / "scripts" / "demo_ui.py")


def _load_example(name: str) -> Any:
    return _load(name, ROOT / "example_dags" / f"{name}.py")


DAG_ID = "mediajobs_pipeline"
URL_LIFETIME_S = 30
BATCH_PROMPTS = _load_example("example_tensorart_batch").PROMPTS
FAILURE_REASON = _load_demo_ui().FAILURE_REASON
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
    batch_view: str
    failed_view: str
    lines: list[str]
    seconds_to_url: float

    def task_page(self, task_id: str) -> str:
        return f"{self.url}/dags/{DAG_ID}/runs/{quote(self.run_id, safe='')}/tasks/{task_id}"


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
        deadline = time.monotonic() + 1200
        while not any(line.startswith("Ctrl-C stops") for line in lines):
            try:
                if fresh.get(timeout=max(0.1, deadline - time.monotonic())) is None:
                    raise AssertionError("demo-ui exited:\n" + "\n".join(lines))
            except queue.Empty:
                raise AssertionError("demo-ui printed no URL within 1200 s:\n" + "\n".join(lines)) from None
        text = "\n".join(lines)
        assert re.search(r"^DAG run \S+: success$", text, re.M), text
        login = re.search(
            r"^Airflow UI: +(http://127\.0\.0\.1:\d+)/ +\(user (\S+), password (\S+)\)$", text, re.M
        )
        view = re.search(r"^Media view of the run: +(\S+)$", text, re.M)
        batch = re.search(r"^Media view of the batch: +(\S+)$", text, re.M)
        failed = re.search(r"^Media view of the failed job's run: +(\S+)$", text, re.M)
        run = re.search(r"^DAG run (\S+): success$", text, re.M)
        assert re.search(r"^Batch run \S+: success$", text, re.M), text
        assert re.search(r"^Run with a failed job \S+: failed$", text, re.M), text
        assert login and view and run and batch and failed, text
        yield Demo(
            proc,
            marker,
            login[1],
            login[2],
            login[3],
            run[1],
            view[1],
            batch[1],
            failed[1],
            lines,
            time.monotonic() - began,
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
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "main article.card, main p.none"), "the view")
    return frame


def cards(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "article.card")


def card(driver: WebDriver, task_id: str, map_index: int = -1) -> WebElement:
    return driver.find_element(
        By.CSS_SELECTOR, f"article.card[data-task-id='{task_id}'][data-map-index='{map_index}']"
    )


def open_card(driver: WebDriver, task_id: str, map_index: int = -1) -> WebElement:
    """Click a tile of the sheet: its card opens over the sheet."""
    found = card(driver, task_id, map_index)
    tile = found.find_element(By.CSS_SELECTOR, "button.tile")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tile)
    tile.click()
    wait(driver, lambda _: found.find_element(By.CSS_SELECTOR, ".details").is_displayed(), "the card to open")
    return found


def close_card(driver: WebDriver, opened: WebElement) -> None:
    opened.find_element(By.CSS_SELECTOR, ".details button.close").click()
    wait(
        driver,
        lambda _: not opened.find_element(By.CSS_SELECTOR, ".details").is_displayed(),
        "the card to close",
    )


def choose(driver: WebDriver, name: str, value: str) -> None:
    Select(driver.find_element(By.CSS_SELECTOR, f"select.filter[data-filter='{name}']")).select_by_value(
        value
    )


def decoded_size(driver: WebDriver, img: WebElement) -> tuple[int, int]:
    """(naturalWidth, naturalHeight) of an image once loaded (scrolled into view first: lazy loading)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", img)
    wait(driver, lambda d: d.execute_script("return arguments[0].complete;", img), "an image to load")
    width, height = driver.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight];", img
    )
    return int(width), int(height)


def airflow_version() -> tuple[int, int]:
    import airflow

    major, minor = airflow.__version__.split(".")[:2]
    return int(major), int(minor)


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


def test_the_run_media_tab_has_one_card_per_job_with_its_persisted_copies(
    demo: Demo, driver: WebDriver, screenshots: Path
) -> None:
    log_in(driver, demo, demo.run_view)
    media_frame(driver)
    jobs = ["goenhance_face_swap", "tensorart_artwork", "vozo_lipsync", "tensorpix_upscale"]
    # one card per job, ordered by task; one task per job (the submit persisted its files itself)
    assert [c.get_attribute("data-task-id") for c in cards(driver)] == sorted(jobs)
    for job in jobs:
        links = [
            li.get_attribute("data-task-id")
            for li in card(driver, job).find_elements(By.CSS_SELECTOR, "li.task-link")
        ]
        assert links == [job], links
    assert "4 job(s), 4 persisted file(s), 0 failed" in driver.find_element(By.CSS_SELECTOR, ".summary").text
    # persisted images on the sheet: served by the plugin, decoded by the browser (256x256 PNGs)
    for job in ("goenhance_face_swap", "tensorart_artwork"):
        (img,) = card(driver, job).find_elements(By.CSS_SELECTOR, ".tile img.tile-img")
        assert "/mediajobs/dags/" in str(img.get_attribute("src"))
        assert decoded_size(driver, img) == (256, 256)
    # the persisted copies replace the provider URLs: no expiry hint on any card
    page = driver.find_element(By.TAG_NAME, "main").get_attribute("textContent") or ""
    assert "Expired" not in page and "provider URL" not in page
    assert not driver.find_elements(By.CSS_SELECTOR, "figure.source-provider")
    # a persisted video plays and seeks from its card (the plugin's byte ranges)
    for job in ("vozo_lipsync", "tensorpix_upscale"):
        opened = open_card(driver, job)
        (video,) = opened.find_elements(By.CSS_SELECTOR, ".details video.player")
        assert "/mediajobs/dags/" in str(video.get_attribute("src"))
        assert_plays(driver, video)
        close_card(driver, opened)
    # a TAMS job id is a 64-bit integer: shown as the exact text, never rounded like a JS number
    tams = card(driver, "tensorart_artwork")
    job_id = tams.get_attribute("data-job-id") or ""
    name = tams.find_element(By.CSS_SELECTOR, ".details figure .name").get_attribute("textContent") or ""
    assert re.fullmatch(r"\d{16,20}", job_id) and name.startswith(f"tensorart-{job_id}-"), (job_id, name)
    # the face swap's reference image (the "before") is an input beside the output
    inputs = (
        card(driver, "goenhance_face_swap")
        .find_element(By.CSS_SELECTOR, ".inputs")
        .get_attribute("textContent")
    )
    assert "Reference image" in str(inputs) and "poster.jpg" in str(inputs), inputs
    driver.switch_to.default_content()
    driver.save_screenshot(str(screenshots / "media-view-run.png"))


def test_a_batch_of_ten_mapped_jobs_is_a_contact_sheet_of_ten_with_prompts(
    demo: Demo, driver: WebDriver, screenshots: Path
) -> None:
    log_in(driver, demo, demo.batch_view)
    media_frame(driver)
    shown = cards(driver)
    assert len(shown) == 10, [c.get_attribute("data-task-id") for c in shown]  # not 20
    assert [int(c.get_attribute("data-map-index") or -1) for c in shown] == list(range(10))
    summary = driver.find_element(By.CSS_SELECTOR, ".summary").text
    assert "10 job(s), 10 persisted file(s), 0 failed" in summary, summary
    assert "credits" in driver.find_element(By.CSS_SELECTOR, ".run-cost").text
    prompts = [c.find_element(By.CSS_SELECTOR, ".caption .prompt").text for c in shown]
    assert sorted(prompts) == sorted(BATCH_PROMPTS) and prompts[0] == BATCH_PROMPTS[0], prompts
    for tile in shown:
        (img,) = tile.find_elements(By.CSS_SELECTOR, ".tile img.tile-img")
        assert decoded_size(driver, img) == (256, 256)
    # several tiles per row; the sheet of 10 fits in a screen or so
    rows = driver.execute_script(
        "return new Set([...document.querySelectorAll('.sheet .card')].map(c => c.offsetTop)).size;"
    )
    assert rows <= 3, rows
    assert driver.execute_script("return document.documentElement.scrollHeight;") < 1400
    # filters: by provider (all ten), by state (none failed)
    choose(driver, "provider", "tensorart")
    assert len([c for c in cards(driver) if c.is_displayed()]) == 10
    choose(driver, "state", "succeeded")
    assert driver.find_element(By.CSS_SELECTOR, ".filters .shown").text == "10 shown"
    choose(driver, "provider", "")
    choose(driver, "state", "")
    driver.execute_script("window.scrollTo(0, 0);")
    driver.switch_to.default_content()
    driver.save_screenshot(str(screenshots / "media-view-batch.png"))
    # a tile opens its card: the prompt and negative prompt beside the image, a download
    media_frame(driver)
    opened = open_card(driver, "generate", map_index=3)
    details = opened.find_element(By.CSS_SELECTOR, ".details")
    texts = {
        dt.text: dd.text
        for dt, dd in zip(
            details.find_elements(By.CSS_SELECTOR, ".inputs dt"),
            details.find_elements(By.CSS_SELECTOR, ".inputs dd"),
            strict=True,
        )
    }
    assert texts["Prompt"] == BATCH_PROMPTS[3] and texts["Negative prompt"] == "blurry, watermark", texts
    assert texts["Size"] == "512x512", texts
    img = details.find_element(By.CSS_SELECTOR, "figure.source-persisted img.thumb")
    assert decoded_size(driver, img) == (256, 256)
    driver.switch_to.default_content()
    driver.save_screenshot(str(screenshots / "media-view-card.png"))


def test_a_persisted_file_downloads_with_its_name(demo: Demo, driver: WebDriver, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    log_in(driver, demo, demo.batch_view)
    media_frame(driver)
    opened = open_card(driver, "generate", map_index=0)
    link = opened.find_element(By.CSS_SELECTOR, ".details figure a.download")
    name = opened.find_element(By.CSS_SELECTOR, ".details figure .name").text
    sha = opened.find_element(By.CSS_SELECTOR, ".details figure .sha256").text.removeprefix("sha256 ").strip()
    link.click()
    target = downloads / name
    wait(driver, lambda _: target.exists() and target.stat().st_size > 0, f"{name} to download")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    # the run's files are listed too, each a download
    listed = driver.find_elements(By.CSS_SELECTOR, ".run-files a.download")
    assert len(listed) == 10 and all("download=1" in str(a.get_attribute("href")) for a in listed)


def test_a_failed_job_says_why_what_it_cost_and_links_its_log(
    demo: Demo, driver: WebDriver, screenshots: Path, tmp_path: Path
) -> None:
    log_in(driver, demo, demo.failed_view)
    media_frame(driver)
    failed = card(driver, "tensorart_artwork")
    assert failed.get_attribute("data-state") == "failed"
    assert FAILURE_REASON in failed.find_element(By.CSS_SELECTOR, ".caption .reason").text
    assert "1 failed" in driver.find_element(By.CSS_SELECTOR, ".summary").text
    run_cost = driver.find_element(By.CSS_SELECTOR, ".run-cost").text
    assert "credits" in run_cost and "no cost reported by goenhance, vozo" in run_cost, run_cost
    opened = open_card(driver, "tensorart_artwork")
    details = opened.find_element(By.CSS_SELECTOR, ".details")
    assert details.find_element(By.CSS_SELECTOR, "dd.error").text == FAILURE_REASON
    assert re.fullmatch(r"\d+(\.\d+)? credits", details.find_element(By.CSS_SELECTOR, "dd.cost").text)
    job_task = details.find_element(By.CSS_SELECTOR, "li.task-link[data-role='job']")
    assert "failed" in job_task.text and "try 2" in job_task.text, job_task.text
    earlier = details.find_element(By.CSS_SELECTOR, ".tries li[data-try='1']").text
    assert "try 1" in earlier, earlier
    if airflow_version() >= (3, 3):  # the task state store keeps each try's job id
        assert re.search(r"job \d{16,20} failed", earlier), earlier
    # one task per job: no outputs task downstream, so none is listed as not having run
    assert not details.find_elements(By.CSS_SELECTOR, "li.task-link[data-role='outputs']")
    driver.switch_to.default_content()
    driver.save_screenshot(str(screenshots / "media-view-failed.png"))
    # the log link opens the failed try's log in the Airflow UI, which says the same
    media_frame(driver)
    log = job_task.find_element(By.CSS_SELECTOR, "a.log")
    href = str(log.get_attribute("href"))
    assert href.startswith(demo.url) and href.endswith("/tasks/tensorart_artwork?try_number=2"), href
    log.click()
    driver.switch_to.default_content()
    # the UI keeps the try in its state, not always in the address (it drops try_number)
    wait(
        driver,
        lambda d: "/tasks/tensorart_artwork" in d.current_url and "/plugin/" not in d.current_url,
        "the task's log page",
    )
    try:
        wait(
            driver,
            lambda d: FAILURE_REASON in d.find_element(By.TAG_NAME, "body").text,
            "the reason in the log",
            90,
        )
    finally:
        driver.save_screenshot(str(tmp_path / "log-page.png"))


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
    shown = driver.find_element(By.CSS_SELECTOR, "article.card.single")
    assert shown.get_attribute("data-task-id") == "vozo_lipsync"
    facts = shown.find_element(By.CSS_SELECTOR, ".details dl.facts").text
    assert "vozo" in facts and "succeeded" in facts, facts


def test_ctrl_c_stops_everything_the_demo_started(demo: Demo, record_property: Any) -> None:
    record_property("seconds_to_media_view_url", round(demo.seconds_to_url, 1))
    assert len(_marked_pids(demo.marker)) >= 5, "api-server, scheduler, dag-processor, triggerer and demo-ui"
    os.killpg(demo.proc.pid, signal.SIGINT)
    assert demo.proc.wait(timeout=60) == 0, "\n".join(demo.lines)
    assert demo.lines[-1] == "stopped.", demo.lines[-3:]
    assert _marked_pids(demo.marker) == []
