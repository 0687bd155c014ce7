"""`sessionbot actions` as a real process for the tests and the bench: on a loopback socket
bound and listening here, handed over (`--fd`), so no other test process can take the port
between choosing it and serving on it; stopped by SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class ActionsProcess:
    url: str
    proc: subprocess.Popen
    log: Path


def start(workdir: Path, env: dict[str, str], log: Path) -> ActionsProcess:
    """Started, not yet answering: see `wait_until_healthy`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sessionbot.cli", "actions", "--fd", str(listener.fileno())],
                pass_fds=[listener.fileno()],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    finally:
        listener.close()  # the process has its own copy
    return ActionsProcess(f"http://127.0.0.1:{port}", proc, log)


def wait_until_healthy(server: ActionsProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"sessionbot actions exited with {server.proc.returncode}:\n{tail(server.log)}"
            )
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"sessionbot actions did not start in {timeout:.0f} s:\n{tail(server.log)}")


def stop(server: ActionsProcess, timeout: float = 20) -> int:
    """SIGTERM, then SIGKILL if it has not ended in `timeout`; the exit status."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    return server.proc.returncode


@contextmanager
def actions_process(workdir: Path, env: dict[str, str], log: Path) -> Iterator[ActionsProcess]:
    server = start(workdir, env, log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop(server)


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
