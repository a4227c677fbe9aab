"""Start and stop the servers the browser tests talk to: JupyterLab and Voilà, each on 127.0.0.1 with a token.

Every server runs in its own process group with its own Jupyter directories under a temporary folder, so a
developer's settings, workspaces and kernels never leak in, and :meth:`Server.stop` can always end it.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: Where the browser tests leave what they saw (git-ignored): screenshots and the servers' logs.
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOGS = ROOT / "test-artifacts" / "logs"

#: JupyterLab user settings for the tests: no news or update pop-up, every cell kept in the page (no
#: virtualised notebook), and no autosave, so running a notebook in the browser never rewrites it.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _isolated_env(home: Path) -> dict[str, str]:
    """The current environment with every Jupyter and IPython directory moved under ``home``."""
    env = dict(os.environ)
    for name, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiet the debugger's frozen-modules note in the log
    return env


def copy_content(home: Path, *folders: str) -> Path:
    """Copy ``folders`` of the repository (e.g. ``notebooks``) to ``home/root``: the servers work on copies."""
    root = home / "root"
    for folder in folders:
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


@dataclass
class Server:
    """A running server: its process (leader of its own process group), base URL, token and log file."""

    name: str
    process: subprocess.Popen
    url: str
    token: str
    log: Path

    def log_text(self) -> str:
        """Everything the server and its kernels have written so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_until_listening(self, timeout: float = 90.0) -> None:
        """Block until the server accepts connections; raise with its log if it exits or times out."""
        host, port = self.url.split("//")[1].split("/")[0].split(":")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            try:
                with socket.create_connection((host, int(port)), timeout=1):
                    return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not listen on {self.url} within {timeout:.0f} s:\n{self.log_text()[-4000:]}")

    def stop(self, grace: float = 20.0) -> None:
        """Ask the server's process group to stop (SIGTERM: the server shuts its kernels down first); kill the group
        if it is still there after ``grace`` seconds (kernels run in their own sessions and exit with their parent)."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _die_with_parent() -> None:
    """Run in the server's process before ``exec``: on Linux, ask for SIGTERM when the test process dies, so a
    killed test run leaves no server behind (a normal run stops it in its fixture)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _launch(name: str, argv: list[str], env: dict[str, str], cwd: Path, url: str, token: str, log: Path) -> Server:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which stop() signals as a whole
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    server = Server(name, process, url, token, log)
    try:
        server.wait_until_listening()
    except BaseException:
        server.stop()
        raise
    return server


def start_lab(home: Path, root: Path, log: Path) -> Server:
    """``jupyter lab`` on ``root`` with the test settings, ``window.jupyterapp`` exposed to the page."""
    env = _isolated_env(home)
    for plugin, values in LAB_SETTINGS.items():
        path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        str(BIN / "jupyter"), "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={env['JUPYTERLAB_SETTINGS_DIR']}",
        f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI and containers run as root
        argv.append("--allow-root")
    return _launch("jupyter lab", argv, env, root, f"http://127.0.0.1:{port}", token, log)


def start_voila(home: Path, notebook: Path, log: Path) -> Server:
    """``voila notebook`` (what ``make app`` runs), with tracebacks shown so that a test can see them."""
    env = _isolated_env(home)
    port, token = free_port(), secrets.token_hex(16)
    argv = [
        str(BIN / "voila"), str(notebook),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--token={token}",
        "--show_tracebacks=True",
    ]  # fmt: skip
    return _launch("voila", argv, env, notebook.parent, f"http://127.0.0.1:{port}", token, log)
