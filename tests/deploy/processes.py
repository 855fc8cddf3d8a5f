"""dondoc as separate processes, the way a container or an operator starts them.

`Dondoc` starts `dondoc ARGS...` (the installed console script, as the image's ENTRYPOINT does)
with settings in the environment, waits for it to answer over HTTP, and stops it with SIGTERM,
which is what `docker stop` sends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).parents[2]


def dondoc_command() -> list[str]:
    """The `dondoc` console script of this interpreter's environment (`python -m service` if the
    project is not installed there)."""
    script = Path(sys.executable).with_name("dondoc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "service"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The process environment: this one's, without DONDOC_* leaking in, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DONDOC_")}
    env.update(
        DONDOC_ENVIRONMENT="test",
        DONDOC_DATABASE_URL=database_url,
        DONDOC_DATA_DIR=str(data_dir),
        **settings,
    )
    return env


def run(
    *args: str, database_url: str, data_dir: Path, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*dondoc_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=data_dir,
        env=environment(database_url, data_dir, **settings),
    )


class Dondoc:
    """One long-running `dondoc` process; its output goes to a log file for assertions."""

    def __init__(
        self, *args: str, database_url: str, data_dir: Path, log: Path, **settings: str
    ) -> None:
        self.args = args
        self.log = log
        data_dir.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [*dondoc_command(), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                env=environment(database_url, data_dir, **settings),
                text=True,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until_answering(self, url: str, *, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"dondoc {' '.join(self.args)} exited:\n{self.output}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer in {timeout} s:\n{self.output}")
            time.sleep(0.2)

    def stop(self, *, timeout: float = 30) -> int:
        """SIGTERM, then wait; SIGKILL only if it does not stop. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def serve(
    *args: str,
    database_url: str,
    data_dir: Path,
    log: Path,
    port: int | None = None,
    **settings: str,
) -> tuple[Dondoc, str]:
    """`dondoc serve ARGS...` on loopback, answering /healthz: the process and its base URL."""
    port = port or free_port()
    server = Dondoc(
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
        database_url=database_url,
        data_dir=data_dir,
        log=log,
        **settings,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until_answering(f"{base}/healthz")
    except BaseException:
        server.stop()
        raise
    return server, base
