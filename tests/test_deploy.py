"""The deployment files: the image, compose for one host, Kubernetes for many.

No container engine or cluster runs here, so each file is checked the way its engine would
read it: the Kubernetes manifests against the API's own schemas (`kubernetes-validate`,
strict: an unknown field is an error), compose by `docker-compose config` where it is
installed (`.ci/run` installs Debian's), the Dockerfile by reading its instructions, and the
image's own command line is run on this machine as the image runs it: its user, its data
folder, its environment, nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx
import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yml"
K8S = ROOT / "deploy" / "k8s"
APP_UID = 10001


def settings_names() -> set[str]:
    """Every environment variable the settings read (the README documents each)."""
    source = (ROOT / "ground" / "settings.py").read_text()
    names = set(re.findall(r'"((?:SESSIONBOT|SLACK|TWILIO|STRIPE)_[A-Z_]+)"', source))
    return names - {"SESSIONBOT_DATA_DIR"}  # the image sets it (/data, its volume)


def secret_names() -> set[str]:
    """The settings that hold secrets: they may come only from a Secret / the .env."""
    return {
        n
        for n in settings_names()
        if re.search(r"(TOKEN|SECRET|KEY|PASSWORD|DATABASE_URL|SMTP_URL)$", n)
        and not n.endswith("_API_URL")
    }


def manifests() -> list[tuple[Path, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [x.strip() for x in text.splitlines() if x.strip() and not x.lstrip().startswith("#")]
    return [(x.split(None, 1)[0].upper(), x.split(None, 1)[1]) for x in lines]


# Kubernetes --------------------------------------------------------------------------


@pytest.mark.parametrize("path,doc", manifests(), ids=lambda x: getattr(x, "name", ""))
def test_every_manifest_is_valid_for_the_kubernetes_api(path, doc):
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_the_validator_catches_a_wrong_manifest():
    """So that a green run above means something: a typo'd field fails strict validation."""
    _, doc = next((p, d) for p, d in manifests() if d["kind"] == "Deployment")
    wrong = json.loads(json.dumps(doc))
    wrong["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_lists_files_that_exist():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert {"web.yaml", "worker.yaml", "migrate.yaml", "config.yaml"} <= set(
        kustomization["resources"]
    )
    for name in kustomization["resources"]:
        assert (K8S / name).is_file(), name


def pod_specs() -> list[tuple[str, dict]]:
    specs = []
    for _, doc in manifests():
        if doc["kind"] in ("Deployment", "Job"):
            specs.append((doc["metadata"]["name"], doc["spec"]["template"]["spec"]))
    return specs


def test_web_worker_migration_and_actions_are_all_there():
    names = {name for name, _ in pod_specs()}
    assert names == {
        "sessionbot-web",
        "sessionbot-worker",
        "sessionbot-migrate",
        "sessionbot-actions",
    }
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in manifests()}
    assert ("HorizontalPodAutoscaler", "sessionbot-web") in kinds
    assert ("PodDisruptionBudget", "sessionbot-web") in kinds
    assert ("PodDisruptionBudget", "sessionbot-worker") in kinds
    assert ("NetworkPolicy", "sessionbot-actions") in kinds


@pytest.mark.parametrize("name,spec", pod_specs(), ids=lambda x: x if isinstance(x, str) else "")
def test_pods_run_unprivileged_with_resources_and_secrets_from_a_secret(name, spec):
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == APP_UID
    assert spec.get("automountServiceAccountToken") is False
    for container in spec["containers"]:
        assert container["resources"]["requests"]["memory"]
        assert container["resources"]["limits"]["memory"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        refs = {next(iter(x.values()))["name"] for x in container["envFrom"]}
        assert refs == {"sessionbot", "sessionbot-config"}
        literal = {e["name"] for e in container.get("env", []) if "value" in e}
        assert not literal & secret_names(), "a secret written into a manifest"


def test_the_web_pods_are_probed_on_healthz():
    spec = dict(pod_specs())["sessionbot-web"]
    web = spec["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert web[probe]["httpGet"]["path"] == "/healthz"


def test_the_config_map_holds_no_secret_and_the_example_secret_no_real_value():
    kinds = ("ConfigMap", "Secret")
    docs = {d["metadata"]["name"]: d for _, d in manifests() if d["kind"] in kinds}
    assert not set(docs["sessionbot-config"]["data"]) & secret_names()
    example = docs["sessionbot"]["stringData"]
    assert secret_names() <= set(example), secret_names() - set(example)
    for key, value in example.items():
        assert value == "" or "change-me" in value or "make-one" in value, key


# Compose ----------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_passes_every_documented_setting():
    environment = compose()["x-app"]["environment"]
    missing = settings_names() - set(environment)
    assert not missing, f"compose does not pass {sorted(missing)}"
    for name in secret_names():
        assert str(environment[name]).startswith("${"), f"{name} is written into compose"


def test_compose_runs_migrations_once_then_two_webs_and_two_workers_behind_a_proxy():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["sessionbot", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    app = compose()["x-app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "ports" not in services["web"], "the webs are reached through the proxy only"
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert any(v.startswith("pgdata:") for v in services["db"]["volumes"])
    # The proxy's fixed address is the one whose X-Forwarded-For is believed.
    proxy_ip = services["proxy"]["networks"]["app"]["ipv4_address"]
    assert proxy_ip in app["environment"]["SESSIONBOT_TRUSTED_PROXIES"]


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose is not installed")
def test_compose_is_valid_for_compose_itself(tmp_path):
    env = {"PATH": os.environ["PATH"], "SESSIONBOT_ENCRYPTION_KEY": "fake-key-for-config-check"}
    ok = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    # Without a key, compose refuses before starting anything, naming what to set.
    no_key = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert no_key.returncode != 0
    assert "SESSIONBOT_ENCRYPTION_KEY" in no_key.stderr


# The image --------------------------------------------------------------------------


def test_the_image_is_multi_stage_non_root_with_a_volume_and_a_healthcheck():
    ins = instructions()
    assert sum(1 for i, _ in ins if i == "FROM") >= 2
    run_stage = ins[max(n for n, (i, _) in enumerate(ins) if i == "FROM") :]
    kinds = [i for i, _ in run_stage]
    assert "COPY" not in kinds, "the run stage takes only the built wheels"
    user = next(a for i, a in run_stage if i == "USER")
    assert not user.startswith(("root", "0")), user
    assert json.loads(next(a for i, a in run_stage if i == "VOLUME")) == ["/data"]
    assert "SESSIONBOT_DATA_DIR=/data" in next(a for i, a in run_stage if i == "ENV")
    made = next(a for i, a in run_stage if i == "RUN")
    assert f"install -d -o {APP_UID} -g {APP_UID} -m 0700 /data" in made
    assert "healthz" in next(a for i, a in run_stage if i == "HEALTHCHECK")
    assert "--constraint docker/constraints.txt" in " ".join(a for _, a in ins)


def test_dockerignore_keeps_venvs_git_and_secrets_out_of_the_build_context():
    rules = (ROOT / ".dockerignore").read_text().splitlines()
    assert rules[rules.index("**")] == "**", "everything is out unless let in"
    let_in = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert ".venv" not in let_in and ".git" not in let_in and ".env" not in let_in
    copied = {a.split()[0] for i, a in instructions() if i == "COPY"}
    assert copied <= let_in | {"pyproject.toml", "README.md"}, copied - let_in


def test_the_image_builds_every_package_the_project_installs():
    """A package added to pyproject (scheduling/ was once forgotten) is in the image."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {p.rstrip("*") for p in include["packages"]["find"]["include"]}
    copied = {a.split()[0] for i, a in instructions() if i == "COPY"}
    let_in = {
        r[1:].rstrip("/")
        for r in (ROOT / ".dockerignore").read_text().splitlines()
        if r.startswith("!")
    }
    assert packages <= copied, packages - copied
    assert packages <= let_in, packages - let_in


def test_the_image_pins_every_dependency_at_a_version_pyproject_allows():
    pins = {}
    for line in (ROOT / "docker" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = Version(version)
    project = (ROOT / "pyproject.toml").read_text()
    block = project.split("dependencies = [", 1)[1].split("]\n", 1)[0]
    for raw in re.findall(r'"([^"]+)"', block):
        req = Requirement(raw)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in docker/constraints.txt"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} vs {req.specifier}"


def image_command() -> list[str]:
    return json.loads(next(a for i, a in reversed(instructions()) if i == "CMD"))


def healthcheck_command() -> list[str]:
    args = next(a for i, a in instructions() if i == "HEALTHCHECK")
    return json.loads(args.split("CMD", 1)[1])


def test_the_image_command_starts_with_nothing_but_its_data_volume(tmp_path: Path) -> None:
    """The image's CMD, as the image runs it: its user, an empty /data it owns, and no
    settings at all (no key, no database): the embedded default on the volume, healthy."""
    command = image_command()
    assert command[:2] == ["sessionbot", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    # A folder the app user can reach (pytest's own are the invoking user's alone).
    base = Path(tempfile.mkdtemp(prefix="sessionbot-image-"))
    data = base / "data"
    data.mkdir(mode=0o700)
    as_user: list[str] = []
    if os.geteuid() == 0 and shutil.which("setpriv"):
        os.chown(data, APP_UID, APP_UID)
        base.chmod(0o755)
        as_user = ["setpriv", f"--reuid={APP_UID}", f"--regid={APP_UID}", "--clear-groups"]
        # As that user only where it can start this interpreter again (the turn processes
        # do): a venv whose Python lives under /root cannot, in the image it can.
        again = "import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-c', '']))"
        if subprocess.run([*as_user, sys.executable, "-c", again], cwd=base).returncode != 0:
            as_user = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    # The image's environment, nothing of this machine's (PATH and HOME only to find Python).
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(data),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SESSIONBOT_DATA_DIR": str(data),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    # `--port 8000` becomes the socket handed over (the image's port may be taken here).
    at = command.index("--port")
    args = command[1:at] + ["--fd", str(listener.fileno())] + command[at + 2 :]
    args.remove("--host")
    args.remove("0.0.0.0")
    log = tmp_path / "image.log"
    proc = subprocess.Popen(
        [*as_user, sys.executable, "-m", "sessionbot.cli", *args],
        pass_fds=[listener.fileno()],
        env=env,
        cwd=data,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    listener.close()
    try:
        check = [
            sys.executable if x == "python" else x.replace(":8000/", f":{port}/")
            for x in healthcheck_command()
        ]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run([*as_user, *check], env=env, capture_output=True).returncode == 0:
                break
            assert proc.poll() is None, log.read_text()
            time.sleep(0.3)
        else:
            pytest.fail("the image's HEALTHCHECK never passed:\n" + log.read_text())
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        key_files = [p for p in data.rglob("*") if p.is_file() and "key" in p.name]
        assert key_files, sorted(p.name for p in data.rglob("*"))
        for key in key_files:
            assert key.stat().st_mode & 0o077 == 0, oct(key.stat().st_mode)
            if as_user:
                assert key.stat().st_uid == APP_UID
        assert any(p.suffix == ".db" for p in data.rglob("*")), "no embedded store on the volume"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)
    assert "Traceback" not in log.read_text(), log.read_text()
