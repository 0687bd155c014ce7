"""A real Rasa Open Source for the tests and the bench: found, installed once, trained once.

Rasa 3.6 runs on Python 3.8 to 3.10 only, so it lives in a venv of its own outside the
repository (default ~/.cache/sessionbot/rasa-3.6.21, or $SESSIONBOT_RASA_VENV), made
with the first such Python found on PATH, then among pyenv's versions. A trained model is
kept beside it, named by a hash of everything it is trained from, so it is trained again
only when the assistant (dialogue/rasa, dialogue/domain.yml) changes.

`python tests/rasa_kit.py` prepares both (what `.ci/run` calls); it is idempotent.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import actions_process
import httpx

RASA_VERSION = "3.6.21"
ROOT = Path(__file__).resolve().parent.parent
ASSISTANT = ROOT / "dialogue" / "rasa"
DOMAIN = ROOT / "dialogue" / "domain.yml"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sessionbot"


class Unavailable(Exception):
    """No Rasa here, and why (the tests skip with this reason)."""


def venv_dir() -> Path:
    return Path(os.environ.get("SESSIONBOT_RASA_VENV") or CACHE / f"rasa-{RASA_VERSION}")


def rasa_bin() -> Path:
    return venv_dir() / "bin" / "rasa"


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def find_python() -> str:
    """A Python 3.8-3.10: PATH first, then pyenv's versions."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (10, 9, 8)]
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        for minor in (10, 9, 8):
            candidates += sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python"), reverse=True)
    for python in filter(None, candidates):
        version = _version_of(python)
        if version is not None and (3, 8) <= version <= (3, 10):
            return python
    raise Unavailable("no Python 3.8-3.10 on PATH or among pyenv's versions (Rasa 3.6 needs one)")


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One process at a time (two test workers may both want the venv or the model)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _works() -> bool:
    if not rasa_bin().exists():
        return False
    out = subprocess.run(
        [str(venv_dir() / "bin" / "python"), "-c", "import rasa; print(rasa.__version__)"],
        capture_output=True,
        text=True,
    )
    return out.returncode == 0 and out.stdout.strip() == RASA_VERSION


def ensure_rasa() -> Path:
    """The `rasa` command of the cached venv, made (about 2 minutes, 2.7 GB) if missing."""
    with _locked("rasa-venv"):
        if _works():
            return rasa_bin()
        python = find_python()
        target = venv_dir()
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        steps = [
            [python, "-m", "venv", str(target)],
            [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
            [str(target / "bin" / "python"), "-m", "pip", "install", "-q", f"rasa=={RASA_VERSION}"],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise Unavailable(f"could not install rasa=={RASA_VERSION}: {last}")
        if not _works():
            raise Unavailable(f"rasa=={RASA_VERSION} installed but does not import")
        return rasa_bin()


def _inputs() -> list[Path]:
    return [ASSISTANT / "config.yml", DOMAIN, *sorted((ASSISTANT / "data").glob("*.yml"))]


def model_key() -> str:
    digest = hashlib.sha256(RASA_VERSION.encode())
    for path in _inputs():
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def ensure_model() -> Path:
    """The assistant trained from dialogue/rasa and dialogue/domain.yml (cached by hash)."""
    rasa = ensure_rasa()
    models = CACHE / "rasa-models"
    key = model_key()
    model = models / f"{key}.tar.gz"
    with _locked("rasa-model"):
        if model.exists():
            return model
        models.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        done = subprocess.run(
            [
                str(rasa),
                "train",
                "--config",
                str(ASSISTANT / "config.yml"),
                "--domain",
                str(DOMAIN),
                "--data",
                str(ASSISTANT / "data"),
                "--out",
                str(models),
                "--fixed-model-name",
                key,
            ],  # fmt: skip
            cwd=models,
            capture_output=True,
            text=True,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        )
        if done.returncode != 0 or not model.exists():
            tail = "\n".join(done.stdout.splitlines()[-20:] + done.stderr.splitlines()[-20:])
            raise RuntimeError(f"rasa train failed:\n{tail}")
        print(f"trained the Rasa assistant in {time.monotonic() - started:.0f} s: {model}")
        # Keep the few newest models (branches switch back and forth), not every one.
        for old in sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[:-4]:
            old.unlink(missing_ok=True)
        return model


RASA_ATTEMPTS = 4  # ports tried before giving up on `rasa run`


def _unused_port() -> int:
    """A port nobody holds now. Only for `rasa run`, whose CLI takes no socket: a port taken
    before Rasa binds it (after loading the model, 10-20 s later) is caught by
    `start_rasa`, never missed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class RasaServer:
    url: str
    token: str  # its --auth-token: the HTTP API (/status, /model/parse) wants ?token=
    proc: subprocess.Popen
    log: Path


def start_rasa(
    model: Path,
    endpoints: Path,
    workdir: Path,
    *,
    ports: Callable[[], int] = _unused_port,
    timeout: float = 180,
) -> RasaServer:
    """`rasa run --enable-api` on a loopback port, accepted only once it is known to be ours.

    Each launch has an auth token of its own, and the server is ours only when `/status`
    answers 200 to that token; any other answer there (another test process's Rasa says
    401) or our Rasa ending with "address already in use" means the port was taken in
    between: that launch is stopped and another port tried."""
    tried: list[str] = []
    for attempt in range(1, RASA_ATTEMPTS + 1):
        # Hex: a URL-safe token may start with "-", which Rasa's CLI reads as an option.
        port, token = ports(), secrets.token_hex(16)
        log = workdir / ("rasa.log" if attempt == 1 else f"rasa-{attempt}.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [
                    str(rasa_bin()),
                    "run",
                    "--enable-api",
                    "-m",
                    str(model),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(ASSISTANT / "credentials.yml"),
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "--auth-token",
                    token,
                ],  # fmt: skip
                cwd=workdir,
                env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = RasaServer(f"http://127.0.0.1:{port}", token, proc, log)
        try:
            taken = _port_taken(server, timeout)
        except BaseException:
            _stop(proc)
            raise
        if taken is None:
            return server
        _stop(proc)
        tried.append(f"port {port}: {taken}")
    raise RuntimeError(
        f"rasa run found no port of its own in {RASA_ATTEMPTS} tries ("
        + "; ".join(tried)
        + f"); logs in {workdir}"
    )


def _port_taken(server: RasaServer, timeout: float) -> str | None:
    """None once `server` answers as ours; why not, when its port was taken first. Any
    other failure (Rasa ends for another reason, or never answers) raises."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            output = server.log.read_text(errors="replace")
            if "address already in use" in output:
                return "address already in use"
            tail = "\n".join(output.splitlines()[-20:])
            raise RuntimeError(f"rasa run exited with {server.proc.returncode}:\n{tail}")
        try:
            answer = httpx.get(f"{server.url}/status", params={"token": server.token}, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.3)
            continue
        if answer.status_code == 200 and "model_file" in answer.text:
            return None
        return f"another server answers there ({answer.status_code})"
    raise RuntimeError(f"rasa run did not start in {timeout:.0f} s; see {server.log}")


@dataclass
class Stack:
    """A running Rasa server (REST channel) and `sessionbot actions` behind it."""

    rasa_url: str
    rasa_token: str  # Rasa's HTTP API wants ?token= (the REST channel does not)
    actions_url: str
    env: dict[str, str]
    rasa_log: Path
    actions_log: Path

    def say(self, sender: str, text: str) -> list[dict]:
        """One message over Rasa's REST channel; every answer must be a 200."""
        answer = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=120,
        )
        answer.raise_for_status()
        return list(answer.json())


@contextmanager
def running_stack(workdir: Path, env: dict[str, str]) -> Iterator[Stack]:
    """`sessionbot actions` on a socket bound here and handed over, and `rasa run
    --enable-api` on a loopback port proven its own (`start_rasa`).

    The two share nothing but HTTP; the action server writes to the store that `env`
    names (SESSIONBOT_DATA_DIR / SESSIONBOT_DATABASE_URL).
    """
    model = ensure_model()
    workdir.mkdir(parents=True, exist_ok=True)
    actions = actions_process.start(workdir, env, workdir / "actions.log")
    rasa: RasaServer | None = None
    try:
        endpoints = workdir / "endpoints.yml"
        # As dialogue/rasa/endpoints.yml: Rasa sends the token as `?token=`.
        endpoints.write_text(
            f'action_endpoint:\n  url: "{actions.url}/webhook"\n  token: "{actions.token}"\n'
            "  enable_selective_domain: true\n"
        )
        rasa = start_rasa(model, endpoints, workdir)
        actions_process.wait_until_healthy(actions)
        yield Stack(rasa.url, rasa.token, actions.url, env, rasa.log, actions.log)
    finally:
        if rasa is not None:
            _stop(rasa.proc)
        actions_process.stop(actions)


if __name__ == "__main__":
    try:
        print(f"rasa: {ensure_rasa()}")
        print(f"model: {ensure_model()}")
    except Unavailable as exc:
        print(f"Rasa is not available here: {exc}")
        sys.exit(0)
