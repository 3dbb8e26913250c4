"""The stack under load: a database of its own, a private Redis, and the repository's Procfile under honcho.

Nothing here touches the machine's shared PostgreSQL beyond creating and dropping ``plaudit_load_<pid>``, nor
its Redis at all: the queue lives in a ``redis-server`` started for the run and stopped after it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def create_database(name: str) -> str:
    """Create the run's own database on the shared server; return its URL."""
    if not name.startswith("plaudit_load_"):
        raise ValueError(f"the load test creates and drops only plaudit_load_* databases, not {name!r}")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    if not name.startswith("plaudit_load_"):
        raise ValueError(f"the load test drops only plaudit_load_* databases, not {name!r}")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def start_redis(port: int) -> subprocess.Popen:
    """A private redis-server without persistence, so the run never flushes anyone's queue."""
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("the load test needs redis-server (apt-get install -y redis-server)")
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--daemonize", "no"], stdout=subprocess.DEVNULL)
    wait_until(lambda: _connects(port), 10, "the private Redis")
    return process


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stack_environment(database_url: str, redis_url: str, instance: Path) -> dict:
    """The environment every process of the stack reads its settings from (docs/deploy.md, Settings)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PLAUDIT_")}
    bin_dir = str(Path(sys.executable).parent)  # gunicorn, plaudit and honcho of this virtual environment
    environment.update({
        "PATH": bin_dir + os.pathsep + environment.get("PATH", ""),
        "PLAUDIT_DATABASE_URL": database_url, "PLAUDIT_REDIS_URL": redis_url,
        "PLAUDIT_SECRET_KEY": "plaudit-load-test-secret-key", "PLAUDIT_RESPONDENT_SALT": "plaudit-load-test-salt",
        "PLAUDIT_INSTANCE_PATH": str(instance), "PLAUDIT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    return environment


def plaudit(environment: dict, *args: str) -> str:
    """Run a ``plaudit`` command in the stack's environment; return its standard output."""
    done = subprocess.run([str(Path(sys.executable).parent / "plaudit"), *args], check=False, env=environment,
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"plaudit {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def start_procfile(environment: dict, port: int, web_processes: int, workers: int, log: Path) -> subprocess.Popen:
    """``honcho start`` on the repository's Procfile, exactly as docs/deploy.md runs it."""
    honcho = shutil.which("honcho", path=environment["PATH"])
    if honcho is None:
        raise SystemExit("the load test runs the Procfile with honcho: pip install -e '.[deploy]'")
    environment = {**environment, "WEB_CONCURRENCY": str(web_processes), "PLAUDIT_BIND": "127.0.0.1"}
    process = subprocess.Popen([honcho, "-f", str(PROCFILE), "-d", str(ROOT), "start", "-p", str(port),
                                "-c", f"web=1,worker={workers},cron=1"], env=environment, cwd=ROOT,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_until(lambda: process.poll() is None and _healthy(port), 60, "the web processes (GET /healthz)",
               log=log)
    return process


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return b'"ok"' in response.read()
    except OSError:
        return False


def stop(process: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM a process we started (honcho passes it on to the stack), then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(check, seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    tail = "\n" + "\n".join(log.read_text().splitlines()[-30:]) if log and log.exists() else ""
    raise SystemExit(f"{what} did not come up within {seconds:.0f} s{tail}")
