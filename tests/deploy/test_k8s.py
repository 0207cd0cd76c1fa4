"""deploy/k8s: the Deployment, ConfigMap, Secret, Service and PodDisruptionBudget agree with each other,
with the image (user, config path, port), the real CLI and the real settings loader."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from monitor.runtime import Daemon
from monitor.settings import ConfigError, Settings
from tests.deploy._files import (
    DEPLOY,
    K8S,
    SERVED_PATHS,
    dockerfile,
    image_env,
    last,
    parse_cli,
    settings_in_container,
    stages,
    yaml_docs,
)

DOCS: dict[str, dict[str, Any]] = {}
for _file in sorted(set(K8S.glob("*.yaml")) - {K8S / "kustomization.yaml"}):
    for _doc in yaml_docs(_file):
        DOCS[_doc["kind"]] = _doc
DEPLOYMENT = DOCS["Deployment"]
POD = DEPLOYMENT["spec"]["template"]
CONTAINER = POD["spec"]["containers"][0]
RUNTIME = stages(dockerfile())[-1]
IMAGE_ENV = image_env(RUNTIME)
_QUANTITY = {"m": 0.001, "": 1.0, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30}


def _quantity(value: str | int) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|)", str(value))
    assert match, f"unexpected quantity {value!r}"
    return float(match.group(1)) * _QUANTITY[match.group(2)]


def _container_env() -> dict[str, str]:
    """Image ENV, then every Secret loaded with envFrom, then the container's own env (k8s order)."""
    env = dict(IMAGE_ENV)
    for source in CONTAINER.get("envFrom", []):
        secret = DOCS["Secret"]
        assert source["secretRef"]["name"] == secret["metadata"]["name"]
        env.update(secret["stringData"])
    env.update({e["name"]: e["value"] for e in CONTAINER.get("env", [])})
    return env


def _config_path() -> str:
    """Where the ConfigMap's file appears in the container."""
    cm = DOCS["ConfigMap"]
    volumes = {v["name"]: v for v in POD["spec"]["volumes"]}
    for mount in CONTAINER["volumeMounts"]:
        source = volumes[mount["name"]].get("configMap")
        if source is not None and source["name"] == cm["metadata"]["name"]:
            assert mount.get("readOnly") is True
            (item,) = source["items"]
            assert item["key"] in cm["data"]
            return f"{mount['mountPath']}/{item['path']}"
    raise AssertionError("the ConfigMap is not mounted")


def _settings(tmp_path: Path) -> Settings:
    (data,) = DOCS["ConfigMap"]["data"].values()
    config = tmp_path / "monitor.yaml"
    config.write_text(data, encoding="utf-8")
    return settings_in_container(config, _container_env())


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml_docs(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present, f"listed {sorted(listed)}, present {sorted(present)}"
    assert {"Deployment", "ConfigMap", "Secret", "Service"} <= set(DOCS)
    assert [i["name"] for i in kustomization["images"]] == [CONTAINER["image"]]


def test_deployment_runs_replicas_of_the_same_command_as_compose() -> None:
    assert DEPLOYMENT["spec"]["replicas"] >= 2
    labels = POD["metadata"]["labels"]
    assert DEPLOYMENT["spec"]["selector"]["matchLabels"].items() <= labels.items()
    name, params = parse_cli(CONTAINER["args"])
    assert (name, params["role"], params["once"]) == ("run", "all", False)
    compose = yaml_docs(DEPLOY / "compose.yaml")[0]["services"]["monitor"]
    assert CONTAINER["args"] == compose["command"]
    assert "command" not in CONTAINER, "keep the image's ENTRYPOINT (tini) as PID 1"


def test_probes_use_served_paths_on_the_configured_port(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ports = {p["name"]: p["containerPort"] for p in CONTAINER["ports"]}
    assert ports["http"] == settings.http_port == int(IMAGE_ENV["MONITOR_HTTP_PORT"])
    assert settings.http_host == "0.0.0.0", "the kubelet probes the pod's IP, not its loopback"
    probes = {k: CONTAINER[k]["httpGet"] for k in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for kind, probe in probes.items():
        assert probe["path"] in SERVED_PATHS, f"{kind}: {probe['path']} is not served"
        assert probe["port"] in ("http", settings.http_port), kind


def test_sigterm_grace_resources_and_security() -> None:
    grace = inspect.signature(Daemon).parameters["grace_s"].default
    assert POD["spec"]["terminationGracePeriodSeconds"] > grace
    resources = CONTAINER["resources"]
    for what in ("cpu", "memory"):
        assert _quantity(resources["requests"][what]) <= _quantity(resources["limits"][what]), what
    uid, _, gid = last(RUNTIME, "USER").args.partition(":")
    security = POD["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    assert CONTAINER["securityContext"]["allowPrivilegeEscalation"] is False
    if CONTAINER["securityContext"].get("readOnlyRootFilesystem"):
        mounted = {m["mountPath"] for m in CONTAINER["volumeMounts"]}
        assert "/tmp" in mounted, "the extraction pool's fork server needs a writable /tmp"


def test_configmap_is_the_file_the_image_reads_and_loads(tmp_path: Path) -> None:
    assert _config_path() == IMAGE_ENV["MONITOR_CONFIG"] == _container_env()["MONITOR_CONFIG"]
    settings = _settings(tmp_path)
    url = make_url(settings.database_url)
    assert url.get_backend_name() == "postgresql", "replicas need a shared PostgreSQL"
    assert url.password is None, "the password comes from the Secret as PGPASSWORD"
    assert settings.channels, settings


def test_secret_is_an_example_that_covers_every_referenced_variable(tmp_path: Path) -> None:
    secret = DOCS["Secret"]["stringData"]
    assert all("REPLACE-ME" in value for value in secret.values()), "placeholders must be marked"
    assert "PGPASSWORD" in secret
    (data,) = DOCS["ConfigMap"]["data"].values()
    referenced = set(re.findall(r"_env:\s*([A-Z_][A-Z0-9_]*)", data))
    assert referenced, "the example config shows how channels take secrets from the environment"
    assert referenced <= set(secret), f"not in the Secret: {sorted(referenced - set(secret))}"
    # And the loader really resolves them from the environment the Secret provides.
    for name in referenced:
        env = {k: v for k, v in _container_env().items() if k != name}
        config = tmp_path / "monitor.yaml"
        config.write_text(data, encoding="utf-8")
        with pytest.raises(ConfigError, match=f"environment variable '{name}'"):
            settings_in_container(config, env)


def test_metrics_service_and_scrape_annotations(tmp_path: Path) -> None:
    port = _settings(tmp_path).http_port
    service = DOCS["Service"]
    assert service["spec"]["selector"].items() <= POD["metadata"]["labels"].items()
    (svc_port,) = service["spec"]["ports"]
    assert (svc_port["port"], svc_port["targetPort"]) == (port, "http")
    for notes in (service["metadata"]["annotations"], POD["metadata"]["annotations"]):
        assert notes["prometheus.io/scrape"] == "true"
        assert notes["prometheus.io/port"] == str(port)
        assert notes["prometheus.io/path"] == "/metrics" and "/metrics" in SERVED_PATHS
    pdb = DOCS["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= POD["metadata"]["labels"].items()
    assert pdb["minAvailable"] < DEPLOYMENT["spec"]["replicas"], "a drain must be able to proceed"


def test_kustomize_renders_into_one_namespace() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomize rendering is not checked")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert {d["kind"] for d in rendered} == set(DOCS)
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "monitor", doc["kind"]
    (deployment,) = [d for d in rendered if d["kind"] == "Deployment"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert ":" in image and image != CONTAINER["image"], "kustomize sets the image name and tag"
