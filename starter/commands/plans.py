"""``edgeward plans``: the plan catalogue as a table or as JSON."""

from __future__ import annotations

import argparse
import json

from schema.plans import PLANS, catalogue_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plans", help="print the plan catalogue")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(catalogue_json(), indent=2))
        return 0
    rows = [("Code", "Plan", "Kind", "Term", "WAF", "Scan", "Backup", "Eligible upgrades")]
    for p in PLANS.values():
        f = p.features
        upgrades = ", ".join(PLANS[c].name for c in p.upgrades)
        if p.converts_to:
            upgrades = f"(converts to {PLANS[p.converts_to].name} after {p.trial.days} days)"
        rows.append((p.code, p.name, p.kind.value, p.term.describe(), f.waf_rules,
                     f"{f.malware_scan_hours} h" if f.malware_scan_hours else "-",
                     f"{f.backup_storage_gb} GB" if f.backup_storage_gb else "-",
                     upgrades or "none"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    return 0
