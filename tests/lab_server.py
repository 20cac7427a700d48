"""A JupyterLab server for tests, on 127.0.0.1 with its own port, token and Jupyter settings."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SERVER_START = 90  # seconds: a cold start on a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float, log: Path, what: str) -> None:
    """Poll ``url`` until it answers 200; fail the test, showing ``log``, if ``process`` exits or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start in {seconds} s:\n{log.read_text()}")
        time.sleep(0.5)


@contextlib.contextmanager
def jupyterlab(args: list[str], *, cwd: Path, home: Path, extra_env: dict | None = None,
               launcher: list[str] | None = None):
    """Run ``python -m jupyter lab ...`` (``args`` start with "jupyter", "lab") and yield (url, token).

    ``launcher`` replaces ``python -m`` (e.g. ``[]`` when ``args`` start with a console script that
    passes its unknown options on to JupyterLab, as ``faces-at-scale`` does).
    Adds only what a test needs: no browser, a free port, a token, no news or update checks,
    and Jupyter's config, runtime, settings and workspace folders under ``home``."""
    port, token = free_port(), secrets.token_hex(16)
    launcher = [sys.executable, "-m"] if launcher is None else launcher
    command = [*launcher, *args, "--allow-root", "--ServerApp.open_browser=False",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               **(extra_env or {}))
    log = (home / "server.log").open("w")
    server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/status?token={token}", server, SERVER_START, home / "server.log", "JupyterLab")
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()
