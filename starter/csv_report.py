"""The CSV report of licenses and websites: one customer's, or all of a partner's customers'.

Columns: the licenses table's (less Actions) plus the customer's e-mail and the domain's ASCII
form beside the Unicode site name. It is streamed in constant memory: the rows come from a
server-side cursor in batches and leave as ~256 KB chunks. Dates are ISO 8601 in UTC. A cell that
a spreadsheet would run as a formula (beginning with = + - @ tab or CR) gets a leading apostrophe.
The file is UTF-8 with a byte-order mark, so spreadsheet programs read IDN domains correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from schema import plans
from schema.models import Customer, License, Website

HEADER = ("Customer Email", "Type", "Site Name", "Domain (ASCII)", "Site Provisioning",
          "Order Date", "Expiration Date", "Auto Renewal", "Status")
BOM = "\ufeff"
BATCH_ROWS = 5000
CHUNK_BYTES = 256 * 1024
_FORMULA_START = frozenset("=+-@\t\r")
_PLAN_NAMES = {code: p.name for code, p in plans.PLANS.items()}


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates (OWASP 'CSV injection')."""
    return "'" + cell if cell and cell[0] in _FORMULA_START else cell


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def report_rows(session: Session, partner_id: int, customer_id: int | None,
                now: datetime) -> Iterator[tuple[str, ...]]:
    """The report's rows, read through a server-side cursor ``BATCH_ROWS`` at a time."""
    stmt = (select(Customer.email, License.id, License.plan_code, License.status,
                   License.ordered_at, License.expires_at, License.auto_renew,
                   Website.domain_unicode, Website.domain_ascii, Website.step,
                   Website.security_license_id, Website.backup_license_id, Website.removed_at)
            .select_from(License)
            .join(Customer, Customer.id == License.customer_id)
            .outerjoin(Website, and_(Website.id == License.website_id,
                                     Website.partner_id == License.partner_id))
            .where(License.partner_id == partner_id))
    if customer_id is not None:
        stmt = stmt.where(License.customer_id == customer_id)
    stmt = stmt.order_by(License.customer_id, License.id).execution_options(
        stream_results=True, yield_per=BATCH_ROWS)
    status_shown = plans.status_shown
    for (email, lic_id, code, status, ordered, expires, auto, uni, asc, step, sec_id, bak_id,
         removed) in session.execute(stmt).tuples():
        current = uni is not None and removed is None and lic_id in (sec_id, bak_id)
        yield (neutralise(email), _PLAN_NAMES.get(code, code), neutralise(uni or ""),
               neutralise(asc or ""), neutralise(step) if current and step else "", iso(ordered),
               iso(expires), "On" if auto else "Off", status_shown(status, expires, now))


def stream_csv(sessions: sessionmaker[Session], partner_id: int, customer_id: int | None,
               now: datetime) -> Iterator[bytes]:
    """The whole file as byte chunks; the session lives as long as the stream."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write(BOM)
    writer.writerow(HEADER)
    with sessions() as session:
        rows = report_rows(session, partner_id, customer_id, now)
        while True:
            batch = [row for _, row in zip(range(BATCH_ROWS), rows, strict=False)]
            if batch:
                writer.writerows(batch)
            if buf.tell() >= CHUNK_BYTES or (not batch and buf.tell()):
                yield buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
            if not batch:
                return


def filename(customer_id: int | None, now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%d")
    who = f"customer-{customer_id}" if customer_id is not None else "all-customers"
    return f"licenses-{who}-{stamp}.csv"
