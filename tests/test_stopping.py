"""Stopping is quiet and complete: Ctrl-C (SIGINT to the whole process group, as a
terminal sends it) and SIGTERM (a supervisor's) end `serve` and `worker` with exit code 0,
no traceback, no leaked semaphore, no process left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    env.update(SESSIONBOT_DATA_DIR=str(tmp_path / "data"), SESSIONBOT_ENCRYPTION_KEY=TEST_KEY)
    return env


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _quiet(output: str) -> None:
    assert "Traceback" not in output, output
    assert "KeyboardInterrupt" not in output, output
    assert "leaked semaphore" not in output, output


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_serve_stops_quietly_with_exit_0_and_no_turn_process_left(tmp_path, how):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "serve", "--fd", str(listener.fileno())],
        pass_fds=[listener.fileno()],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: Ctrl-C reaches it and its children only
    )
    listener.close()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(log.read_text())
        workers = _children(proc.pid)
        assert workers, "serve runs its turns in processes of its own"
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.5)
    output = log.read_text()
    _quiet(output)
    name = "SIGINT" if how == "ctrl-c" else "SIGTERM"
    assert f"stopped on {name}" in output
    assert not [pid for pid in workers if _alive(pid)], "a turn process outlived serve"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_worker_stops_quietly_with_exit_0(tmp_path, how):
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "worker", "--poll", "0.2"],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "running; SIGTERM stops it" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.2)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    _quiet(log.read_text())
