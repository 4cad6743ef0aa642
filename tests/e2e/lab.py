"""A JupyterLab server and a headless Chromium for real-browser tests.

The server runs on 127.0.0.1 on a free port with a random token, temporary settings and
workspace folders (no news pop-up, no update checks), and a temporary root folder holding copies
of the notebooks, so that running them never touches the committed files. Every process started
here (server, kernels, browser) is ended at teardown, even when a test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    proc: subprocess.Popen
    log_path: Path

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
            return json.loads(text) if text else None

    def lab_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def stop(self) -> None:
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        try:
            for kernel in self.api("/api/kernels") or []:
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except Exception:  # noqa: BLE001 - the server may already be gone
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(children, timeout=5)


def start_lab(workdir: Path, notebooks: list[Path], timeout: float = 60, attempts: int = 3) -> LabServer:
    """Start JupyterLab with copies of ``notebooks`` in ``workdir/root``.

    The free port is chosen before the server binds it; if another process takes it in between,
    the start is retried on a new port.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_lab_once(workdir, notebooks, timeout)
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _start_lab_once(workdir: Path, notebooks: list[Path], timeout: float) -> LabServer:
    root = workdir / "root"
    root.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        shutil.copy(nb, root / nb.name)
    settings = workdir / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    (settings / "@jupyterlab" / "docmanager-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autosave": False})
    )
    # render every cell (JupyterLab 4 virtualises cells out of view, hiding their widgets)
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    (workdir / "workspaces").mkdir(exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
        PYTHONWARNINGS="default",
    )
    log_path = workdir / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
        "--expose-app-in-browser", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.port_retries=0",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, proc, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            server.api("/api/status")
            return server
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{log_path.read_text()[-3000:]}")


# ---- driving a notebook in the page ---------------------------------------------------------------

_KERNEL_STATUS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.sessionContext.session || !w.sessionContext.session.kernel) return null;
  return w.sessionContext.session.kernel.status;
}"""

_CELL_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    count: c.model.executionCount,
    outputs: c.model.outputs.toJSON(),
  }));
}"""


def open_notebook(page, server: LabServer, name: str, timeout_ms: int = 60_000) -> None:
    """Open ``name`` in JupyterLab and wait for its kernel to be idle."""
    page.goto(server.lab_url(name))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.context && "
                           "window.jupyterapp.shell.currentWidget.context.isReady", timeout=timeout_ms)
    page.wait_for_function(f"() => ({_KERNEL_STATUS})() === 'idle'", timeout=timeout_ms)


def run_all(page, timeout_s: float = 120) -> list[dict]:
    """Run every cell and wait until the kernel has settled; return each code cell's state."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + timeout_s
    seen_busy, idle_since = False, None
    while time.monotonic() < deadline:
        status = page.evaluate(_KERNEL_STATUS)
        cells = page.evaluate(_CELL_STATE)
        if status == "busy":
            seen_busy, idle_since = True, None
        elif status == "idle":
            idle_since = idle_since or time.monotonic()
            done = all(c["count"] is not None for c in cells)
            errored = any(o.get("output_type") == "error" for c in cells for o in c["outputs"])
            if (seen_busy or done) and (done or errored) and time.monotonic() - idle_since > 1.0:
                return cells
        time.sleep(0.25)
    raise TimeoutError(f"notebook did not finish within {timeout_s} s")


def problems(cells: list[dict]) -> list[str]:
    """Errors and warnings that a person would see in the outputs."""
    found = []
    for i, cell in enumerate(cells):
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                found.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                if "Warning" in text or "Error" in text or "Traceback" in text:
                    found.append(f"cell {i} stderr: {text[:300]}")
        if cell["count"] is None and not found:
            found.append(f"cell {i} did not run")
    return found


def settle(page, quiet_s: float = 1.0, timeout_s: float = 60) -> None:
    """Wait until the kernel has been idle for ``quiet_s`` (widget callbacks have all run)."""
    deadline = time.monotonic() + timeout_s
    idle_since = None
    while time.monotonic() < deadline:
        if page.evaluate(_KERNEL_STATUS) == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= quiet_s:
                page.wait_for_timeout(200)  # let the last comm message render
                return
        else:
            idle_since = None
        time.sleep(0.1)
    raise TimeoutError(f"kernel still busy after {timeout_s} s")
