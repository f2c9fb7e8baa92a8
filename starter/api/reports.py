"""/api/v1/report.csv and /api/v1/customers/{id}/report.csv: the streamed CSV report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from starter import csv_report, queries
from starter.api.deps import ApiCaller, Db, Now, ServicesDep
from starter.api.schemas import MAX_ID
from starter.services import Services

router = APIRouter(tags=["reports"])
CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the report, UTF-8 with a BOM"}}


def csv_response(services: Services, partner_id: int, customer_id: int | None,
                 now: Now) -> StreamingResponse:
    name = csv_report.filename(customer_id, now)
    return StreamingResponse(
        csv_report.stream_csv(services.sessions, partner_id, customer_id, now),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/report.csv", response_class=StreamingResponse, responses=CSV_DOC,
            summary="CSV report of the licenses and websites of all the partner's customers")
def partner_report(caller: ApiCaller, services: ServicesDep, now: Now) -> StreamingResponse:
    return csv_response(services, caller.partner_id, None, now)


@router.get("/customers/{customer_id}/report.csv", response_class=StreamingResponse,
            responses=CSV_DOC, summary="CSV report of one customer's licenses and websites")
def customer_report(customer_id: Annotated[int, Path(ge=1, le=MAX_ID)], caller: ApiCaller,
                    services: ServicesDep, session: Db, now: Now) -> StreamingResponse:
    queries.customer(session, caller.partner_id, customer_id)  # 404 before any byte is sent
    return csv_response(services, caller.partner_id, customer_id, now)
