"""The Caddy JSON for one site on an edge: its route, its plan's WAF rules, its certificate entry.

Pure functions, no I/O: ``activities/edge.py`` sends what they build through the admin API.
A site's route matches the domain (and ``www.``), runs the plan's request-blocking rules first
(Caddy ``expression`` matchers answering 403), then proxies to the origin. The rules are
deliberately small and explainable; they are what a visitor on a WAF plan notices.
"""

from __future__ import annotations

from typing import Any

from schema.plans import plan

ROUTE_PREFIX = "site-"
CERT_PREFIX = "cert-"

# Each rule: (name, CEL expression over Caddy placeholders). Matched case-insensitively.
_SQLI = (r"(?i)(union(\s|%20|\+|/\*.*\*/)+(all(\s|%20|\+)+)?select|%27|'|--(\s|%20|\+|$)"
         r"|;(\s|%20)*drop(\s|%20|\+)+table|\bor(\s|%20|\+)+1(\s|%20|\+)*=(\s|%20|\+)*1)")
_TRAVERSAL = r"(?i)(\.\./|\.\.\\|%2e%2e|%252e%252e|\.\.%2f|%2e\.|\.%2e)"
_XSS = r"(?i)(<script|%3cscript|javascript:|onerror(\s|%20)*=|onload(\s|%20)*=)"
_SENSITIVE = r"(?i)(/\.env$|/\.git/|/etc/passwd|wp-config\.php|/\.htaccess)"

# What each rule looks at, and the pattern that blocks the request.
RULES: dict[str, tuple[str, str]] = {
    "sql-injection": ("{http.request.uri.query}", _SQLI),
    "path-traversal": ("{http.request.orig_uri}", _TRAVERSAL),
    "cross-site-scripting": ("{http.request.orig_uri}", _XSS),
    "sensitive-file": ("{http.request.uri.path}", _SENSITIVE),
}
# The plan feature ``waf_rules`` -> the rules it turns on.
WAF_RULE_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "basic": ("sql-injection", "path-traversal"),
    "full": ("sql-injection", "path-traversal", "cross-site-scripting", "sensitive-file"),
}


def _cel_string(pattern: str) -> str:
    """A CEL string literal for ``pattern`` (double-quoted, backslashes escaped)."""
    return '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'


def waf_routes(waf_rules: str) -> list[dict[str, Any]]:
    """The blocking routes of a WAF rule set: each answers 403 and names the rule."""
    routes = []
    for name in WAF_RULE_SETS[waf_rules]:
        field, pattern = RULES[name]
        routes.append({
            "match": [{"expression": f"{field}.matches({_cel_string(pattern)})"}],
            "handle": [{"handler": "static_response", "status_code": 403,
                        "headers": {"X-Edgeward-Blocked": [name]},
                        "body": f"Blocked by the Edgeward WAF ({name}).\n"}],
            "terminal": True,
        })
    return routes


def hosts(domain: str, include_www: bool) -> list[str]:
    return [domain, f"www.{domain}"] if include_www else [domain]


def route_id(domain: str) -> str:
    return f"{ROUTE_PREFIX}{domain}"


def cert_id(domain: str) -> str:
    return f"{CERT_PREFIX}{domain}"


def site_route(domain: str, plan_code: str, origins: list[str], include_www: bool,
               edge_name: str) -> dict[str, Any]:
    """The route of one site: host match, the plan's WAF rules, then the reverse proxy."""
    features = plan(plan_code).features
    proxy = {
        "handle": [
            {"handler": "headers", "response": {"set": {
                "X-Edgeward-Edge": [edge_name], "X-Edgeward-Plan": [plan_code]}}},
            {"handler": "reverse_proxy", "upstreams": [{"dial": o} for o in origins],
             # The first origin that answers (IPv4 first); a dead one is skipped for 30 s.
             "load_balancing": {"selection_policy": {"policy": "first"},
                                "try_duration": "5s", "try_interval": "250ms"},
             "health_checks": {"passive": {"fail_duration": "30s"}}},
        ],
    }
    return {
        "@id": route_id(domain),
        "match": [{"host": hosts(domain, include_www)}],
        "handle": [{"handler": "subroute", "routes": [*waf_routes(features.waf_rules), proxy]}],
        "terminal": True,
    }


def certificate_entry(domain: str, fullchain_pem: str, key_pem: str) -> dict[str, Any]:
    return {"@id": cert_id(domain), "certificate": fullchain_pem, "key": key_pem, "tags": [domain]}
