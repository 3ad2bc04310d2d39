"""The Media view's routes in Airflow's API server: auth, file serving, ranges, integrity, escaping.

Driven by real XComs of a ``dag.test()`` run (see conftest.py): files 0-4 of task ``persisted``
are ``frame.png``, ``clip.webm``, ``report.html``, ``resized.png`` (grown after the run) and
``swapped.png`` (same size, other bytes after the run); task ``provider_job`` holds a job dict
with a hostile job id and provider status, one expired and one valid signed URL.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.media_run import HOSTILE_JOB_ID, HOSTILE_REASON, SIGNATURE, MediaRun


def _file(media_run: MediaRun, index: int) -> str:
    return media_run.url("tasks", "persisted", "files", str(index))


def _routes(media_run: MediaRun) -> list[str]:
    return [
        media_run.url(),
        media_run.url("tasks", "persisted"),
        _file(media_run, 0),
        "/mediajobs/static/media-view.js",
    ]


def test_every_route_needs_a_user(client: Any, media_run: MediaRun) -> None:
    for route in _routes(media_run):
        response = client.get(route)
        assert response.status_code == 401, route
        assert b"PNG" not in response.content
        bad = client.get(route, headers={"Authorization": "Bearer not-a-jwt"})
        assert bad.status_code in (401, 403), route


def test_a_user_the_auth_manager_denies_the_dag_gets_403(
    client: Any, media_run: MediaRun, no_role: dict[str, str]
) -> None:
    """A signed-in simple-auth-manager user without a role: authenticated, denied every DAG.

    The simple auth manager has no per-DAG grants; a user without a role is the user it denies
    the DAG's runs and XComs (``_is_authorized`` returns False for ``role=None``).
    """
    for route in _routes(media_run)[:3]:
        response = client.get(route, headers=no_role)
        assert response.status_code == 403, route
        assert b"PNG" not in response.content and b"frame.png" not in response.content


def test_the_run_page_for_a_viewer(client: Any, media_run: MediaRun, viewer: dict[str, str]) -> None:
    response = client.get(media_run.url(), headers=viewer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"].startswith("private")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame.png" in response.text and "provider_job" in response.text
    script = client.get("/mediajobs/static/media-view.js", headers=viewer)
    assert script.status_code == 200, script.text[:200]
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/mediajobs/static/app.py", headers=viewer).status_code == 404


def test_job_id_and_provider_text_are_escaped(
    client: Any, media_run: MediaRun, viewer: dict[str, str]
) -> None:
    for route in (media_run.url(), media_run.url("tasks", "provider_job")):
        page = client.get(route, headers=viewer).text
        assert HOSTILE_JOB_ID not in page and HOSTILE_REASON not in page
        assert "&lt;script&gt;alert(&#x27;job&#x27;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(&#x27;reason&#x27;)&gt;" in page
        assert "<script>" not in page  # the only script is the page's own, by src
        assert SIGNATURE not in page.replace("fresh.png?" + SIGNATURE, "")  # expired URL unsigned


def test_an_expired_provider_url_is_shown_as_expired(
    client: Any, media_run: MediaRun, viewer: dict[str, str]
) -> None:
    page = client.get(media_run.url("tasks", "provider_job"), headers=viewer).text
    _, _, rest = page.partition("data-state='expired'")
    assert rest, "no output rendered as expired"
    late = rest.split("</figure>", 1)[0]
    assert "Expired at" in late and "MediaJobOutputsOperator" in late
    assert "https://cdn.example/old/late.png" in late and SIGNATURE not in late
    assert "<img" not in late  # nothing points the browser at the dead URL
    assert "data-state='valid'" in page and "fresh.png" in page


def test_a_persisted_image_is_served_inline(client: Any, media_run: MediaRun, viewer: dict[str, str]) -> None:
    response = client.get(_file(media_run, 0), headers=viewer)
    assert response.status_code == 200
    assert response.content == (media_run.out / "frame.png").read_bytes()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["cache-control"].startswith("private")
    assert response.headers["accept-ranges"] == "bytes"


def test_a_non_media_file_is_an_attachment(client: Any, media_run: MediaRun, viewer: dict[str, str]) -> None:
    response = client.get(_file(media_run, 2), headers=viewer)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == 'attachment; filename="report.html"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == b"<script>alert(1)</script>"


def test_a_byte_range_of_a_video(client: Any, media_run: MediaRun, viewer: dict[str, str]) -> None:
    body = (media_run.out / "clip.webm").read_bytes()
    response = client.get(_file(media_run, 1), headers={**viewer, "Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-9/{len(body)}"
    assert response.headers["content-length"] == "10"
    assert response.headers["content-type"] == "video/webm"
    assert response.content == body[:10]
    assert response.headers["content-encoding"] == "identity"  # never gzipped: the range is of the bytes
    tail = client.get(_file(media_run, 1), headers={**viewer, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == body[-5:]


@pytest.mark.parametrize(
    "header",
    [
        "bytes=100000-",
        "bytes=9-3",
        "bytes=-0",
        # past Python's int digit limit: 416, not a 500 from int()
        "bytes=0-" + "9" * 5000,
        "bytes=" + "9" * 5000 + "-",
        "bytes=-" + "9" * 5000,
    ],
    ids=["past-end", "reversed", "empty-suffix", "huge-last", "huge-first", "huge-suffix"],
)
def test_an_unsatisfiable_range_is_416(
    client: Any, media_run: MediaRun, viewer: dict[str, str], header: str
) -> None:
    size = (media_run.out / "clip.webm").stat().st_size
    response = client.get(_file(media_run, 1), headers={**viewer, "Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("index", ["5", "99", "-1"])
def test_an_index_past_the_record_is_404(
    client: Any, media_run: MediaRun, viewer: dict[str, str], index: str
) -> None:
    response = client.get(_file(media_run, 0).rsplit("/", 1)[0] + f"/{index}", headers=viewer)
    assert response.status_code == 404


@pytest.mark.parametrize("route", ["..%2F..%2Fetc%2Fpasswd", "%2E%2E%2Freport.html", "frame.png", "0.png"])
def test_a_path_in_the_request_is_never_a_file(
    client: Any, media_run: MediaRun, viewer: dict[str, str], route: str
) -> None:
    response = client.get(_file(media_run, 0).rsplit("/", 1)[0] + f"/{route}", headers=viewer)
    assert response.status_code in (404, 422)
    assert b"root:" not in response.content and b"PNG" not in response.content


def test_a_task_without_persisted_files_has_none_to_serve(
    client: Any, media_run: MediaRun, viewer: dict[str, str]
) -> None:
    response = client.get(media_run.url("tasks", "provider_job", "files", "0"), headers=viewer)
    assert response.status_code == 404


@pytest.mark.parametrize(("index", "why"), [(3, "size differs"), (4, "sha256 differs")])
def test_a_file_changed_after_the_task_is_refused(
    client: Any, media_run: MediaRun, viewer: dict[str, str], index: int, why: str
) -> None:
    response = client.get(_file(media_run, index), headers=viewer)
    assert response.status_code == 409
    assert why in response.text
    assert b"PNG" not in response.content
