"""The `edgeward` command as a user runs it: plans, db upgrade, seed-demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from schema.db import make_engine, make_session_factory
from schema.models import ApiKey, Customer, License, PartnerUser
from schema.plans import PLANS
from schema.secrets import api_key_matches, verify_password

EDGEWARD = Path(sys.executable).parent / "edgeward"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDGEWARD), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)


def test_plans_json_lists_every_plan_with_its_upgrades() -> None:
    out = run("plans", "--json")
    assert out.returncode == 0, out.stderr
    data = {p["code"]: p for p in json.loads(out.stdout)}
    assert set(data) == set(PLANS)
    assert data["waf_starter"]["name"] == "WAF Starter"
    assert data["waf_starter"]["eligible_upgrades"] == ["pro", "premium"]
    assert data["premium"]["eligible_upgrades"] == []
    assert data["pro_paid_trial"]["converts_to"] == "pro"
    assert data["pro"]["term"]["months"] == 12 and data["pro_trial_60"]["term"]["days"] == 60
    assert data["backup_large"]["features"]["backup_storage_gb"] > 0
    assert {p["kind"] for p in data.values()} == {"free", "paid", "trial", "paid_with_trial",
                                                   "backup"}


def test_plans_table_shows_display_names_and_upgrades() -> None:
    out = run("plans")
    assert out.returncode == 0
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("waf_starter "))
    assert "WAF Starter" in line and line.rstrip().endswith("Pro, Premium")


def test_db_upgrade_then_seed_demo_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {"EDGEWARD_DATABASE_URL": url}
    assert run("db", "upgrade", env=env).returncode == 0
    first = run("seed-demo", env=env)
    assert first.returncode == 0, first.stderr
    second = run("seed-demo", env=env)
    password = _value(second.stdout, "password:")
    api_key = _value(second.stdout, "API key:")
    sessions = make_session_factory(make_engine(url))
    with sessions() as s:
        user = s.scalars(select(PartnerUser)).one()
        assert verify_password(user.password_hash, password)
        assert not verify_password(user.password_hash, _value(first.stdout, "password:"))
        assert password not in user.password_hash
        live = s.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))).one()
        assert api_key_matches(api_key, live.key_hash) and api_key not in live.key_hash
        assert s.scalar(select(func.count()).select_from(Customer)) == 3
        plans_in_pool = set(s.scalars(select(License.plan_code).where(
            License.customer_id.is_(None))))
        assert plans_in_pool == set(PLANS)


def _value(stdout: str, label: str) -> str:
    line = next(ln for ln in stdout.splitlines() if label in ln)
    return line.split(label, 1)[1].split()[0]
