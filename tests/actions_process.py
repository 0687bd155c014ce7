"""`sessionbot actions` as a real process for the tests and the bench: on a loopback socket
bound and listening here, handed over (`--fd`), so no other test process can take the port
between choosing it and serving on it; stopped by SIGTERM.

It is started with a token of its own (SESSIONBOT_ACTIONS_TOKEN, unless `env` names one),
as Rasa's endpoints.yml carries it: `client()` sends it, as `?token=`. `install_team`
makes a team one of the practice's workspaces (an OAuth install in the store), so that
its senders may use the actions."""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:  # the store is only handed through here
    from store.db import Store

# The fake Slack app whose installs name the practice's workspaces in the tests.
CLIENT_ENV = {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "fake-client-secret"}


@dataclass
class ActionsProcess:
    url: str
    proc: subprocess.Popen
    log: Path
    token: str | None = None

    def client(self, *, timeout: float = 5.0) -> httpx.Client:
        """An HTTP client of this server that sends its token, as Rasa does (5 s: httpx's
        own default timeout)."""
        params = {"token": self.token} if self.token else {}
        return httpx.Client(base_url=self.url, params=params, timeout=timeout)


def install_team(store: Store, team: str) -> None:
    """An OAuth install of the fake app (CLIENT_ENV) into `team`, kept in `store`."""
    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    installs = SQLAlchemyInstallationStore(
        client_id=CLIENT_ENV["SLACK_CLIENT_ID"], engine=store.engine
    )
    installs.save(
        Installation(
            app_id="A_TEST",
            team_id=team,
            user_id="U_INSTALLER",
            bot_token="xoxb-fake-test-token",
            bot_id="B_TEST",
            bot_user_id="U_BOT",
        )
    )


def start(
    workdir: Path, env: dict[str, str], log: Path, *, host: str = "127.0.0.1"
) -> ActionsProcess:
    """Started, not yet answering: see `wait_until_healthy`."""
    env = dict(env)
    env.setdefault("SESSIONBOT_ACTIONS_TOKEN", secrets.token_urlsafe(24))
    listener = socket.socket()
    listener.bind((host, 0))
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
    token = env["SESSIONBOT_ACTIONS_TOKEN"] or None
    return ActionsProcess(f"http://127.0.0.1:{port}", proc, log, token)


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
def actions_process(
    workdir: Path, env: dict[str, str], log: Path, *, host: str = "127.0.0.1"
) -> Iterator[ActionsProcess]:
    server = start(workdir, env, log, host=host)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop(server)


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
