"""Schemathesis over the API's OpenAPI document, with a real partner key: generated valid and
invalid requests to every operation, and not one answer may be a 5xx."""

from __future__ import annotations

from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.portal import PortalServer
from tests.starter.tenants import make_tenant

EXAMPLES = 30


def test_no_request_to_the_api_gets_a_5xx(portal: PortalServer, sessions: sessionmaker[Session]) -> None:
    t = make_tenant(sessions, "Fuzz", with_cert=True)
    make_tenant(sessions, "Other")
    doc = httpx.get(f"{portal.base_url}/api/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for op in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                resp = case.call(base_url=portal.base_url, headers=t.auth, timeout=30)
                statuses[resp.status_code] += 1
                if resp.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r} "
                                    f"-> {resp.status_code} {resp.text[:200]}")
            run()
    where = sorted({f.split(" {")[0] for f in failures})
    assert failures == [], "\n".join(where + failures[:10])
    assert sum(n for s, n in statuses.items() if s < 300) > 50, statuses  # it did reach the routes
