"""`sessionbot serve` as a real process for tests: started, healthy, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY
from log_scan import scan_later


@dataclass(frozen=True)
class Served:
    """A running `sessionbot serve`: a client on it, its output file, the process."""

    http: httpx.Client
    log: Path
    proc: subprocess.Popen[bytes]


@contextmanager
def serve_process(
    tmp_path: Path,
    *,
    log_name: str = "serve.log",
    healthy: bool = True,
    env: Mapping[str, str] | None = None,
    **more_env: str,
) -> Iterator[Served]:
    """Yields `http` (a client on the process), `log` (its output file) and `proc`, once
    /healthz answers (at once with `healthy=False`). The process's environment: `env` (a
    mapping, so that mypy need not fear a key named `healthy`) and the keyword arguments.

    A second process on the same `tmp_path` finds the first one's store."""
    # Bound here and handed over: no other test process can take the port in between.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    full.update(
        SESSIONBOT_DATA_DIR=str(tmp_path / "data"),
        SESSIONBOT_ENCRYPTION_KEY=TEST_KEY,
        SESSIONBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **{**(env or {}), **more_env},
    )
    log = tmp_path / log_name
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "serve", "--fd", str(listener.fileno())],
        pass_fds=[listener.fileno()],
        env=full,
        cwd=tmp_path,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    listener.close()  # the process has its own copy
    scan_later(log)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        for _ in range(300 if healthy else 0):
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            if healthy:
                pytest.fail("sessionbot serve did not start:\n" + log.read_text())
        yield Served(http=http, log=log, proc=proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        http.close()
