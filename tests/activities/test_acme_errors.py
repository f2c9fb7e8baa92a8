"""ACME errors as the workflow sees them: what retries, after how long, and what says why."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from acme import messages
from temporalio.exceptions import ApplicationError

from activities.acme import _translated
from activities.acme_account import AcmeNetwork


def _response(status: int, problem: dict[str, str], headers: dict[str, str] | None = None
              ) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(problem).encode()  # noqa: SLF001 - a transport double
    r.headers.update({"Content-Type": "application/problem+json", **(headers or {})})
    return r


def _raised(status: int, code: str, headers: dict[str, str] | None = None) -> ApplicationError:
    """What one CA answer becomes after our network layer and our translation."""
    problem = {"type": f"urn:ietf:params:acme:error:{code}", "detail": f"the CA says {code}"}
    with pytest.raises(ApplicationError) as caught, _translated("create the order"):
        AcmeNetwork._check_response(_response(status, problem, headers))  # noqa: SLF001
    return caught.value


@pytest.mark.parametrize(("code", "why"), [
    ("rejectedIdentifier", "refuses to issue for this name"),
    ("caa", "CAA record"),
    ("unauthorized", "could not confirm control"),
])
def test_refusals_are_permanent_and_say_why(code: str, why: str) -> None:
    err = _raised(403, code)
    assert err.non_retryable and err.type == "PermanentError"
    assert why in err.message and f"the CA says {code}" in err.message


def test_bad_nonce_retries() -> None:
    err = _raised(400, "badNonce")
    assert not err.non_retryable and "badNonce" in err.message


def test_rate_limit_retries_after_the_servers_delay() -> None:
    err = _raised(429, "rateLimited", {"Retry-After": "120"})
    assert not err.non_retryable and err.next_retry_delay == timedelta(seconds=120)
    assert "rate-limits" in err.message


def test_server_errors_retry() -> None:
    err = _raised(503, "serverInternal")
    assert not err.non_retryable
    with pytest.raises(ApplicationError) as caught, _translated("fetch the directory"):
        raise requests.ConnectionError("connection refused")
    assert not caught.value.non_retryable and "fetch the directory" in caught.value.message


def test_a_problem_without_retry_after_keeps_none() -> None:
    with pytest.raises(messages.Error) as caught:
        AcmeNetwork._check_response(_response(429, {"type": "urn:ietf:params:acme:error:rateLimited"}))  # noqa: SLF001
    assert caught.value.retry_after is None  # type: ignore[attr-defined]
