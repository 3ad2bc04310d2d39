"""A Media page whose job carries hostile output URLs, in headless Chromium: nothing runs, it renders.

The job dict in XCom (written by ``airflow dags test`` into the API server's database, as an older
release or a hand-edited XCom would leave it) lists outputs whose URLs try every way in: text that
adds Content-Security-Policy directives (``script-src-elem 'unsafe-inline'``, ``report-uri``),
``javascript:`` and ``data:`` links, an IDN host (whose raw text made the header unencodable: a
500 for the task page and the run's gallery), numeric spellings of the metadata address; and a
name that is markup. The checks do not depend on the page's layout:

- the task page and the run page answer 200 and render (the task id is on the page);
- their Content-Security-Policy has exactly the expected directives, no inline script, and its
  only outside sources are the policy-checked origins (the IDN in its ASCII form);
- no element links or loads anything but http(s), and none of the payloads ran (they would set
  ``window.__pwned``).

Chromium resolves no name but 127.0.0.1/localhost (``--host-resolver-rules``): the page's images
of outside hosts fail to load instead of reaching the network.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from support.airflow_compat import all_admins_token
from support.connections import environ_without_airflow

pytestmark = [pytest.mark.e2e_ui, pytest.mark.timeout(600)]

DAG_ID = "mediajobs_hostile_urls"
TASK_ID = "hostile_job"
PAYLOAD = "window.__pwned=(window.__pwned||0)+1"
HOSTILE_OUTPUTS = [
    (
        "https://cdn.example;script-src-elem 'unsafe-inline' *;frame-ancestors *;"
        "report-uri https://evil.example/r;x/a.png",
        "image",
    ),
    ("https://cdn.example;script-src-elem/b.png", "image"),
    (f"javascript:{PAYLOAD}", "other"),
    (f"javascript:{PAYLOAD}", "image"),
    (f"data:text/html,<script>{PAYLOAD}</script>", "other"),
    ("http://2852039166/latest/meta-data/", "other"),
    ("http://0251.0376.0251.0376/latest/meta-data/", "image"),
    ("https://例え.jp/out/idn.png?sig=SECRET-SIGNATURE", "image"),
    ("https://cdn.example:8443/out/fine.png?sig=SECRET-SIGNATURE", "image"),
]
ALLOWED_SOURCES = {"'self'", "https://xn--r8jz45g.jp", "https://cdn.example:8443"}
DIRECTIVES = {
    "default-src",
    "script-src",
    "style-src",
    "img-src",
    "media-src",
    "frame-ancestors",
    "base-uri",
    "form-action",
}

DAG_FILE = textwrap.dedent(
    '''
    """A job dict with hostile output URLs (written by tests/e2e_ui/test_hostile_media.py)."""
    import pendulum
    from airflow.sdk import dag, get_current_context, task

    OUTPUTS = {outputs!r}
    NAME = "<img src=x onerror='{payload}'><script>{payload}</script>"


    @dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)
    def hostile():
        @task(task_id={task_id!r})
        def hostile_job():
            with open({run_file!r}, "w") as out:
                out.write(get_current_context()["run_id"])
            return {{
                "provider": "goenhance",
                "job_id": "job-<script>{payload}</script>",
                "state": "succeeded",
                "provider_status": "success",
                "error": "see https://cdn.example/x.png?sig=SECRET-SIGNATURE",
                "outputs": [
                    {{"url": url, "kind": kind, "name": NAME, "expires_at": "2999-01-01T00:00:00+00:00"}}
                    for url, kind in OUTPUTS
                ],
            }}

        hostile_job()


    hostile()
    '''
)


@pytest.fixture(scope="module")
def hostile_run(airflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``airflow dags test`` of the hostile DAG into the API server's database; its run id."""
    home: Path = airflow_server.home
    run_file = tmp_path_factory.mktemp("hostile") / "run_id"
    (home / "dags" / "hostile_media.py").write_text(
        DAG_FILE.format(
            outputs=HOSTILE_OUTPUTS,
            payload=PAYLOAD,
            dag_id=DAG_ID,
            task_id=TASK_ID,
            run_file=str(run_file),
        )
    )
    env = environ_without_airflow()
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run(
        [airflow, "dags", "test", DAG_ID],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return run_file.read_text().strip()


def _login(driver: WebDriver, url: str) -> str:
    """A token from the simple auth manager (everyone admin), set as the UI's session cookie."""
    token = all_admins_token(url)
    driver.get(url + "/api/v2/monitor/health")  # any page of the origin, to set its cookie on
    driver.add_cookie({"name": "_token", "value": token, "path": "/"})
    return token


def _fetch(url: str, token: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        headers = {name.lower(): value for name, value in response.headers.items()}
        return response.status, headers, response.read().decode()


def _csp(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, f"directive {words[0]} given twice: {header}"
            directives[words[0]] = words[1:]
    return directives


LOADED_SCHEMES = """
const found = [];
for (const el of document.querySelectorAll('[href],[src],[srcset],[action],[formaction],[poster]')) {
  for (const attr of ['href', 'src', 'action', 'formaction', 'poster']) {
    const value = el.getAttribute(attr);
    if (value !== null) found.push(new URL(value, document.baseURI).protocol);
  }
}
return found;
"""


@pytest.mark.parametrize("page", ["task", "run"])
def test_a_media_page_with_hostile_urls_renders_and_runs_nothing(
    airflow_server: Any, hostile_run: str, driver: WebDriver, page: str
) -> None:
    run_path = f"{airflow_server.url}/mediajobs/dags/{DAG_ID}/runs/{quote(hostile_run, safe='')}"
    url = f"{run_path}/tasks/{TASK_ID}" if page == "task" else run_path
    token = _login(driver, airflow_server.url)

    status, headers, html = _fetch(url, token)
    assert status == 200
    csp = _csp(headers["content-security-policy"])
    assert set(csp) == DIRECTIVES, csp
    assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'self'"]
    for directive in ("img-src", "media-src"):
        assert set(csp[directive]) <= ALLOWED_SOURCES, csp[directive]
    assert "https://xn--r8jz45g.jp" in csp["img-src"]
    assert "SECRET-SIGNATURE" not in html.replace("sig=SECRET-SIGNATURE", "")  # only inside links

    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    time.sleep(1.0)  # let lazy images and the page's script run
    assert TASK_ID in driver.find_element("tag name", "body").text
    schemes = driver.execute_script(LOADED_SCHEMES)
    assert schemes and set(schemes) <= {"http:", "https:"}, schemes
    # clicking every link that stays on the page would run a javascript: payload; there is none
    assert driver.execute_script("return window.__pwned === undefined"), "a hostile payload ran"
    text = driver.find_element("tag name", "body").text
    assert "SECRET-SIGNATURE" not in text, "a signed query string is shown as text"
