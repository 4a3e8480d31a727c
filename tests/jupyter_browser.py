"""Drive JupyterLab in Debian's headless Chromium with Playwright, for end-to-end tests.

Two layers, usable with or without pytest:

* :func:`start_jupyter_lab` / :class:`JupyterServer`: a JupyterLab server from this
  venv on a free loopback port with a random token, isolated config dirs and the
  settings overrides that keep dialogs and news toasts out of the way.
* :func:`launch_chromium` and :class:`LabPage`: a Playwright page with helpers to
  open a notebook, wait for the kernel, run all cells, click widget buttons and
  read widget text and progress bars.

Fixtures (import them in conftest): ``jupyter_lab`` (session; with the virtual
microphone, so kernels can record), ``chromium`` (session) and ``lab_page``
(a fresh :class:`LabPage` per test; on teardown it screenshots into
``tmp_path`` and shuts the test's kernels down).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.audio_env import require_system_packages

__all__ = [
    "CHROMIUM_PATH",
    "JupyterServer",
    "LabPage",
    "chromium",
    "jupyter_lab",
    "lab_page",
    "launch_chromium",
    "start_jupyter_lab",
    "write_lab_overrides",
]

CHROMIUM_PATH = "/usr/bin/chromium"
# No GPU, no sandbox as root, and nothing that phones home (the network is closed).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
# Without these a "Select Kernel" dialog and a news toast cover the notebook.
LAB_OVERRIDES = {
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
PROGRESS_BAR = ".widget-hprogress .progress-bar"


def write_lab_overrides(prefix: str | Path = sys.prefix) -> Path:
    """Merge :data:`LAB_OVERRIDES` into ``{prefix}/share/jupyter/lab/settings/overrides.json``.

    Keeps any other settings already there; writes only when something changes.
    """
    path = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    current = json.loads(path.read_text()) if path.is_file() else {}
    merged = {**current}
    for plugin, settings in LAB_OVERRIDES.items():
        merged[plugin] = {**current.get(plugin, {}), **settings}
    if merged != current:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(merged, indent=2) + "\n")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class JupyterServer:
    """A running ``jupyter lab``; ``stop()`` ends it and its kernels."""

    process: subprocess.Popen
    url: str
    token: str
    root_dir: Path
    log_path: Path

    def api(self, path: str, timeout: float = 5.0) -> dict | list:
        """GET ``/api/<path>`` and decode the JSON."""
        request = urllib.request.Request(f"{self.url}/api/{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def add_notebook(self, source: str | Path, name: str | None = None) -> Path:
        """Copy a notebook into ``root_dir``; return its path relative to it (for ``open_notebook``)."""
        target = self.root_dir / (name or Path(source).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target.relative_to(self.root_dir)

    def lab_url(self, relative_path: str | Path = "") -> str:
        """Address of the Lab UI, opening ``relative_path`` (under root_dir) if given."""
        tree = f"/tree/{Path(relative_path).as_posix()}" if str(relative_path) else ""
        # ``reset``: start from an empty workspace, so notebooks opened by earlier tests are not restored
        # as extra (possibly active) tabs.
        return f"{self.url}/lab{tree}?token={self.token}&reset"

    def shutdown_kernels(self) -> None:
        """Shut down every kernel (frees the CPU between tests; the server keeps running)."""
        for kernel in self.api("kernels"):
            request = urllib.request.Request(f"{self.url}/api/kernels/{kernel['id']}", method="DELETE",
                                             headers={"Authorization": f"token {self.token}"})
            urllib.request.urlopen(request, timeout=10).close()

    def log_tail(self, n_lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n_lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group (server + kernels), SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            # The server shuts its kernels down on SIGTERM; the group catches stragglers.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def start_jupyter_lab(root_dir: Path, *, state_dir: Path | None = None,
                      env: dict[str, str] | None = None, timeout: float = 60.0) -> JupyterServer:
    """Start JupyterLab from this venv serving ``root_dir``; return once ``/api/status`` answers.

    Parameters
    ----------
    root_dir : Path
        Directory the file browser and kernels start in.
    state_dir : Path, optional
        Where config, user settings, workspaces, runtime files and the log go
        (default: a new temp dir), so no earlier session's tabs or settings leak in.
    env : dict, optional
        Extra environment for the server and its kernels (e.g. ``PULSE_SERVER``).
    """
    write_lab_overrides()
    state_dir = Path(state_dir or tempfile.mkdtemp(prefix="audioclf-lab-"))
    token = secrets.token_hex(16)
    port = _free_port()
    server_env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(state_dir / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(state_dir / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state_dir / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(state_dir / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        **(env or {}),
    }
    log_path = state_dir / "jupyter-lab.log"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--port-retries=0", f"--ServerApp.token={token}", "--allow-root",
        "--LabApp.news_url=None", f"--ServerApp.root_dir={root_dir}",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=server_env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = JupyterServer(process, f"http://127.0.0.1:{port}", token, Path(root_dir), log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("status", timeout=1.0)
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"jupyter lab did not answer in {timeout} s:\n{server.log_tail()}")
        time.sleep(0.1)


@contextmanager
def launch_chromium() -> Iterator["playwright.sync_api.Browser"]:  # noqa: F821
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class LabPage:
    """A Playwright page on a JupyterLab server, with notebook and widget helpers.

    Timeouts are in seconds; each helper waits by polling the page, never by sleeping.
    """

    def __init__(self, page, server: JupyterServer):
        self.page = page
        self.server = server

    def open_notebook(self, relative_path: str | Path, *, timeout: float = 60) -> None:
        """Open a notebook (path under the server's root dir) and wait for its kernel."""
        self.page.goto(self.server.lab_url(relative_path), timeout=timeout * 1000)
        # Only the visible panel: a notebook restored from an earlier test's workspace sits hidden behind it.
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").first.wait_for(
            timeout=timeout * 1000)
        self.wait_for_kernel_idle(timeout=timeout)

    def kernel_status(self) -> str:
        """The status bar's kernel text, e.g. ``'Python 3 (ipykernel) | Idle'``."""
        return self.page.locator(".jp-StatusBar-Widget", has_text="|").first.inner_text()

    def wait_for_kernel_idle(self, *, timeout: float = 60) -> None:
        """Wait until the status bar reads ``| Idle``; running cells earlier silently does nothing."""
        self.page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\|\s*Idle")).first.wait_for(
            timeout=timeout * 1000)

    def run_all_cells(self) -> None:
        """Run > Run All Cells, through the menu bar as a user would."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    def wait_for_cells_done(self, *, timeout: float = 120) -> None:
        """Wait until every code cell has an execution count and none is queued (``[*]``)."""
        self.page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll(
                    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=timeout * 1000, polling=100,
        )
        self.wait_for_kernel_idle(timeout=timeout)

    def button(self, description: str):
        """Locator of the ipywidgets Button whose text is exactly ``description``."""
        exact = re.compile(rf"^\s*{re.escape(description)}\s*$")
        return self.page.locator("button.widget-button", has_text=exact)

    def click_button(self, description: str, *, timeout: float = 30) -> None:
        """Click the (single) ipywidgets Button labelled ``description``."""
        self.button(description).click(timeout=timeout * 1000)

    def text(self, selector: str, *, timeout: float = 30) -> str:
        """Visible text of the first element matching a CSS ``selector`` (e.g. ``.result-label``)."""
        return self.page.locator(selector).first.inner_text(timeout=timeout * 1000)

    def wait_for_text(self, selector: str, pattern: str | re.Pattern, *, timeout: float = 30) -> str:
        """Wait until ``selector``'s text matches ``pattern`` (regex search); return the text."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        try:
            self.page.locator(selector, has_text=pattern).first.wait_for(timeout=timeout * 1000)
        except PlaywrightTimeout:
            raise TimeoutError(f"{selector} never matched {pattern.pattern!r} in {timeout} s; "
                               f"it reads {self._text_now(selector)!r}") from None
        return self.text(selector)

    def _text_now(self, selector: str) -> str | None:
        found = self.page.locator(selector)
        return found.first.inner_text(timeout=1000) if found.count() else None

    def progress(self, selector: str = PROGRESS_BAR, *, timeout: float = 30) -> float:
        """Fill of an ipywidgets progress bar in [0, 1], from its bar's CSS width (a percentage)."""
        bar = self.page.locator(selector).first
        width = bar.evaluate("element => element.style.width", timeout=timeout * 1000)
        return float(width.rstrip("%")) / 100 if width.endswith("%") else 0.0

    def wait_for_progress(self, minimum: float, selector: str = PROGRESS_BAR, *,
                          timeout: float = 30) -> float:
        """Wait until the progress bar is at least ``minimum`` full; return its fill."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                "([selector, minimum]) => { const bar = document.querySelector(selector);"
                " return bar && parseFloat(bar.style.width) / 100 >= minimum; }",
                arg=[selector, minimum], timeout=timeout * 1000, polling=50,
            )
        except PlaywrightTimeout:
            raise TimeoutError(f"{selector} stayed below {minimum:.0%} for {timeout} s; "
                               f"it is at {self.progress(selector, timeout=1):.0%}") from None
        return self.progress(selector)

    def screenshot(self, path: str | Path) -> Path:
        """Save a PNG of the whole page and return its path."""
        path = Path(path)
        self.page.screenshot(path=str(path))
        return path


def missing_browser_requirements() -> list[str]:
    """System pieces the browser tests need and cannot find."""
    return [] if Path(CHROMIUM_PATH).is_file() else ["chromium"]


@pytest.fixture(scope="session")
def jupyter_lab(virtual_mic, tmp_path_factory) -> Iterator[JupyterServer]:
    """A JupyterLab server for the session, root dir a temp dir, kernels on the virtual mic.

    Put notebooks under ``jupyter_lab.root_dir`` and open them by relative path.
    """
    root_dir = tmp_path_factory.mktemp("lab-root")
    server = start_jupyter_lab(root_dir, state_dir=tmp_path_factory.mktemp("lab-state"),
                               env=virtual_mic.env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (each test gets its own page)."""
    require_system_packages(missing_browser_requirements(), "the browser tests")
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def lab_page(chromium, jupyter_lab, tmp_path) -> Iterator[LabPage]:
    """A fresh page on the session's JupyterLab; a screenshot lands in tmp_path on teardown."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    lab = LabPage(page, jupyter_lab)
    try:
        yield lab
    finally:
        try:
            lab.screenshot(tmp_path / "final.png")
        finally:
            context.close()
            jupyter_lab.shutdown_kernels()
