"""The Makefile's promises (issue 13, items 7 and 9): servers on loopback with a token, and ``make execute`` all or none.

The recipes run for real, against a stand-in ``.venv``: its ``jupyter`` and ``voila`` print the arguments
they were given instead of starting a server, and its ``python`` is this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

#: Prints its arguments as one JSON line, in place of jupyter or voila.
_ECHO = f"""#!/bin/sh
exec {sys.executable} -c 'import json, sys; print("ARGV " + json.dumps(sys.argv[1:]))' "$@"
"""


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    """A ``.venv`` whose install stamp is up to date, so ``make`` goes straight to the recipe."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("jupyter", "voila"):
        (venv / "bin" / name).write_text(_ECHO)
    (venv / "bin" / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    for script in (venv / "bin").iterdir():
        script.chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml
    return venv


def _make(target: str, venv: Path, *assignments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("LAB_", "APP_", "MAKE"))}
    environment.update(env or {})
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), target, f"VENV={venv}", *assignments],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )


def _server_argv(completed: subprocess.CompletedProcess) -> list[str]:
    assert completed.returncode == 0, completed.stderr
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("ARGV ")]
    return json.loads(line[len("ARGV "):])


def _option(argv: list[str], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in argv if arg.startswith(name + "=")]
    return value


# --------------------------------------------------------------------------- #
# 7. servers                                                                  #
# --------------------------------------------------------------------------- #
# what a tcsh login (HOST is the machine's name) or a PaaS shell (PORT) may put in the environment
STRAY = {"HOST": "build-box.example.org", "PORT": "80", "TOKEN": "", "IP": "0.0.0.0"}


@pytest.mark.parametrize(
    "target, ip_option, token_option, url",
    [
        ("lab", "--ip", "--IdentityProvider.token", r"^JupyterLab: http://127\.0\.0\.1:8888/lab\?token=([0-9a-f]{48})$"),
        ("app", "--Voila.ip", "--token", r"^Explorer app: http://127\.0\.0\.1:8866/\?token=([0-9a-f]{48})$"),
    ],
)
def test_servers_bind_loopback_with_a_fresh_token_whatever_the_environment(fake_venv, target, ip_option, token_option, url):
    first, second = (_make(target, fake_venv, env=STRAY) for _ in range(2))
    tokens = []
    for completed in (first, second):
        argv = _server_argv(completed)
        assert _option(argv, ip_option) == "127.0.0.1"
        assert _option(argv, "--port") == ("8888" if target == "lab" else "8866")
        token = _option(argv, token_option)
        printed = [m.group(1) for line in completed.stdout.splitlines() if (m := re.match(url, line))]
        assert printed == [token], completed.stdout  # the printed URL carries the server's token
        tokens.append(token)
    assert tokens[0] != tokens[1]  # generated afresh on every start


@pytest.mark.parametrize("target, prefix, ip_option, token_option", [
    ("lab", "LAB", "--ip", "--IdentityProvider.token"),
    ("app", "APP", "--Voila.ip", "--token"),
])
def test_servers_take_an_address_port_and_token_by_name(fake_venv, target, prefix, ip_option, token_option):
    argv = _server_argv(_make(target, fake_venv, f"{prefix}_HOST=0.0.0.0", f"{prefix}_PORT=9999", f"{prefix}_TOKEN=s3cret"))
    assert (_option(argv, ip_option), _option(argv, "--port"), _option(argv, token_option)) == ("0.0.0.0", "9999", "s3cret")
    # an empty token would switch authentication off: it means "make one" instead
    token = _option(_server_argv(_make(target, fake_venv, f"{prefix}_TOKEN=")), token_option)
    assert re.fullmatch(r"[0-9a-f]{48}", token)


# --------------------------------------------------------------------------- #
# 9. make execute: all notebooks or none                                      #
# --------------------------------------------------------------------------- #
def _notebook(path: Path, source: str) -> None:
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "cell", "metadata": {}, "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }, indent=1) + "\n")


def test_execute_replaces_the_notebooks_only_when_all_succeeded(fake_venv, tmp_path):
    """Starts three small kernels: two in the run that fails, one in the run that succeeds."""
    first, broken, last = tmp_path / "a.ipynb", tmp_path / "b.ipynb", tmp_path / "c.ipynb"
    _notebook(first, "print(6 * 7)")
    _notebook(broken, "raise RuntimeError('this notebook is broken')")
    _notebook(last, "print('last')")
    before = {path: path.read_bytes() for path in (first, broken, last)}

    failed = _make("execute", fake_venv, f"NOTEBOOKS={first} {broken} {last}")
    assert failed.returncode != 0
    assert f"execute_notebooks: {broken} failed" in failed.stderr and "no notebook was changed" in failed.stderr
    # the first notebook ran, but it is not replaced while another one fails; the last never ran
    assert {path: path.read_bytes() for path in before} == before

    succeeded = _make("execute", fake_venv, f"NOTEBOOKS={last}")
    assert succeeded.returncode == 0, succeeded.stderr
    (cell,) = json.loads(last.read_text())["cells"]
    assert cell["execution_count"] == 1 and "".join(cell["outputs"][0]["text"]) == "last\n"
    assert "execution" not in cell["metadata"]  # no timings stored, as before
    assert first.read_bytes() == before[first] and broken.read_bytes() == before[broken]


def test_execute_lists_every_notebook_in_order():
    completed = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "-n", "execute", "STAMP="], capture_output=True, text=True, check=True
    )
    (line,) = [line for line in completed.stdout.splitlines() if "execute_notebooks.py" in line]
    listed = line.split("execute_notebooks.py", 1)[1].split()
    expected = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))] + ["app/explorer.ipynb"]
    assert listed == expected
