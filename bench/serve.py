"""What bench/walls.py and bench/soak.py share: a gunicorn-served wall, a kiosk login, Chromium, CPU.

The server is the production one (``gunicorn -c python:dashboard.gunicorn_conf dashboard.wsgi:server``)
with authentication on: every viewer starts its session through a ``wall`` user's kiosk link.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
BIN = PY.parent


def run_cli(code_dir: Path, env: dict, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run([str(PY), "-m", "dashboard.cli", *args], cwd=code_dir, env=env, input=stdin,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"gridwall {' '.join(args)} failed: {out.stderr.strip()[-500:]}")
    return out.stdout.strip()


def kiosk_token(code_dir: Path, env: dict, name: str, region: str) -> str:
    """A ``wall`` user (created when missing) and a fresh kiosk token for it."""
    try:
        run_cli(code_dir, env, "user", "add", name, "--role", "wall", "--region", region)
    except RuntimeError as exc:
        if "exist" not in str(exc):
            raise
    return run_cli(code_dir, env, "token", "create", name).splitlines()[-1].strip()


class Server:
    """gunicorn running the wall from ``code_dir`` with ``env``; stopped with ``stop()``."""

    def __init__(self, code_dir: Path, env: dict, port: int, log_path: Path, startup_timeout: float = 60):
        if not port_free(port):
            raise RuntimeError(f"port {port} is taken by another program; pick another with --port")
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "python:dashboard.gunicorn_conf", "dashboard.wsgi:server"],
            cwd=code_dir, env={**env, "GRIDWALL_BIND": f"127.0.0.1:{port}"},
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + startup_timeout
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn did not come up on {self.url}; see {log_path}")

    def processes(self) -> list[psutil.Process]:
        try:
            master = psutil.Process(self.proc.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        workers = self.processes()[1:]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=45)  # gunicorn's graceful timeout is 30 s
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for w in workers:  # never leave a worker behind its master
            try:
                w.kill()
            except psutil.NoSuchProcess:
                pass
        self.log.close()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds: TIME_WAIT is no owner
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name", "username"]) if p.info["username"] == "postgres"]


def redis_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("redis")]


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def chromium(width: int = 1920, height: int = 1080):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = os.environ.get("GRIDWALL_TEST_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--window-size={width},{height}",
                # A wall is never a background tab: keep its timers at full rate.
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for_wall(driver, timeout: float = 60) -> None:
    """Until the wall shows figures (#kpi-open holds digits)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = driver.execute_script("var e = document.getElementById('kpi-open'); return e ? e.textContent : ''")
        if text and text.strip().replace(",", "").isdigit():
            return
        time.sleep(0.5)
    raise RuntimeError("the wall did not show its figures")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
