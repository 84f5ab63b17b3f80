"""Processes the chaos run owns and breaks: a PostgreSQL cluster and a Redis server of its own
(so restarting them disturbs nothing else on the machine), and Mate's web, worker and beat.

Every process runs in its own session and logs to a file under the run's folder; ``kill`` sends
a signal to the whole process group, as an out-of-memory killer or a crashed host would.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)


class Proc:
    """One background process; ``start`` again after ``kill`` runs a fresh one."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path, user=None):
        self.name, self.args, self.env, self.log, self.user = name, args, env, log, user
        self.popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=self.user,
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL, wait: float = 15) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        # Children that left the group (none should) would keep the port or the job; be sure.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian's layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    server = shutil.which("postgres")
    return Path(server).parent if server else None


class Postgres:
    """A throw-away cluster on ``port``: trust auth, superuser ``root``, database ``mate``,
    fsync off (its data dies with the run anyway)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.bin = postgres_bin()
        self.home, self.port = folder / "postgres", port
        self.data, self.sockets = self.home / "data", self.home / "sockets"
        self.log = self.home / "postgres.log"
        # The server refuses to run as root; Debian's postgres account owns the cluster then.
        self.user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://root@127.0.0.1:{self.port}/mate"

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=120,
        )

    def init(self) -> Postgres:
        for folder in (self.home, self.sockets):
            folder.mkdir(parents=True, mode=0o700)
            if self.user:
                entry = pwd.getpwnam(self.user)
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "root", "-A", "trust", "-E", "UTF8")
        self.start()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE mate")
        return self

    def dsn(self, dbname: str = "mate") -> str:
        return f"host=127.0.0.1 port={self.port} user=root dbname={dbname} connect_timeout=2"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session at once (what a restart by an operator does)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def up(self) -> bool:
        try:
            with psycopg.connect(self.dsn(), autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")


class Redis:
    """A Redis server on ``port`` that keeps nothing on disk: a restart loses every key,
    including the broker's queues."""

    def __init__(self, folder: Path, port: int) -> None:
        self.port, self.folder = port, folder
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        args += ["no", "--dir", str(folder)]
        self.proc = Proc("redis", args, dict(os.environ), folder / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc.start()
        wait_until(self.up, 20, f"redis on port {self.port}")

    def stop(self) -> None:
        self.proc.kill(signal.SIGKILL)

    def up(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def close(self) -> None:
        self.stop()


def mate_process(name: str, env: dict[str, str], log_dir: Path, bind: str = "") -> Proc:
    """``web`` (gunicorn as in the Procfile), ``worker`` or ``beat``."""
    commands = {
        "web": [
            str(VENV_BIN / "gunicorn"),
            "mate.wsgi",
            "--bind",
            bind,
            "--workers",
            "2",
            "--threads",
            "4",
            "--graceful-timeout",
            "5",
        ],
        "worker": [
            str(VENV_BIN / "celery"),
            "-A",
            "mate",
            "worker",
            "--queues",
            "default,jobs",
            "--concurrency",
            "4",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        "beat": [
            str(VENV_BIN / "celery"),
            "-A",
            "mate",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(log_dir / "celerybeat-schedule"),
        ],
    }
    return Proc(name, commands[name], env, log_dir / f"{name}.log")
