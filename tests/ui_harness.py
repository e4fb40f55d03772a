"""Helpers for browser tests: serve a Solara app on loopback and drive Debian's Chromium.

Not a test module. Typical use::

    from playwright.sync_api import sync_playwright
    from ui_harness import free_port, serve_solara, launch_browser, PageWatch  # tests/ is on sys.path

    with serve_solara(APP, free_port(), tmp_path / "solara.log") as url, sync_playwright() as pw:
        browser = launch_browser(pw)
        page = browser.new_page()
        watch = PageWatch(page)
        page.goto(url)
        ...
        assert watch.problems() == []

The machine has no internet: `scripts/bootstrap.sh --browser` installs /usr/bin/chromium and
fills Solara's offline asset cache; Playwright's own browser download must never be used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# The background-networking flags stop Chromium from calling home: on this closed network
# those calls are refused, noisily and many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP error status still means the server is up
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    # The server runs in its own process group (start_new_session), so this also ends
    # any children it started, and nothing else.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class ServerURL(str):
    """The server's URL (a str), with its process id and log file for tests that watch it."""

    pid: int
    log: Path

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve_solara(
    app_path: str | os.PathLike,
    port: int,
    log_path: str | os.PathLike,
    env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> Iterator[ServerURL]:
    """Run `solara run APP --production` on 127.0.0.1:PORT; yield its URL (a ServerURL);
    stop it on exit.

    Output goes to `log_path` (an unread pipe can fill and block the server). Raises
    RuntimeError with the log's tail if the server exits or does not answer in `timeout` s.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/"
    # No telemetry calls to the outside; extra env (e.g. model settings) is layered on top.
    full_env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", **(env or {})}
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(app_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--production",
        "--no-open",  # the default opens a browser window on the server's machine
        "--no-check-version",  # the default asks pypi.org for a newer solara, blocking startup
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"solara exited with code {proc.returncode} before answering on {url}; "
                    f"log {log_path}:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"solara did not answer on {url} within {timeout:.0f} s; "
                    f"log {log_path}:\n{_tail(log_path)}"
                )
            time.sleep(0.25)
        served = ServerURL(url)
        served.pid, served.log = proc.pid, log_path
        yield served
    finally:
        _stop(proc)


def launch_browser(playwright, **kwargs):
    """Headless Debian Chromium through Playwright (never Playwright's downloaded browsers)."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"{CHROMIUM} not found: run `scripts/bootstrap.sh --browser` (or `make test`)"
        )
    options = {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}
    options.update(kwargs)
    return playwright.chromium.launch(**options)


class PageWatch:
    """Records what a page did wrong: script errors, failed requests (including HTTP >= 400,
    e.g. an asset missing from Solara's offline cache) and requests to hosts off this machine."""

    def __init__(self, page) -> None:
        self.page_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.external_requests: list[str] = []
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("requestfailed", self._on_failed)
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_request(self, request) -> None:
        parsed = urllib.parse.urlparse(request.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS:
            self.external_requests.append(request.url)

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.url} (HTTP {response.status})")

    def _on_failed(self, request) -> None:
        self.failed_requests.append(f"{request.url} ({request.failure})")

    def problems(self) -> list[str]:
        return (
            [f"page error: {e}" for e in self.page_errors]
            + [f"failed request: {r}" for r in self.failed_requests]
            + [f"external request: {r}" for r in self.external_requests]
        )
