"""Private Redis and PostgreSQL servers a fault test may stop and restart: never the machine's shared ones."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(ready, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:g} s")
        time.sleep(0.05)


class PrivateRedis:
    """A ``redis-server`` subprocess on a free port, without persistence: a restart comes back empty."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from redis import Redis
        from redis.exceptions import RedisError

        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers() -> bool:
            try:
                return Redis.from_url(self.url, socket_connect_timeout=1).ping()
            except RedisError:
                return False
        _wait_for(answers, "redis-server")

    def stop(self) -> None:
        """Stop the server as a crash would: what it held in memory is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temp dir, pg_ctl on a free port), trust authentication.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` account.
    """

    def __init__(self):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="plaudit-faults-pg-"))
        self.data = self.directory / "data"
        self._owner = "postgres" if os.geteuid() == 0 else None
        if self._owner:
            account = pwd.getpwnam(self._owner)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, argv: list[str]) -> None:
        binary = shutil.which(argv[0]) or argv[0]
        command = [binary, *argv[1:]]
        if self._owner:
            command = ["runuser", "-u", self._owner, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        self._run(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w",
                   "start"])

    def stop(self) -> None:
        """Stop at once, as a restart by an operator does: open connections are cut."""
        self._run(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.directory, ignore_errors=True)
