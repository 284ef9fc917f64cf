"""Liveness and readiness probes; neither needs a token nor touches personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from privacy_service.core import db
from privacy_service.core.errors import Unavailable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class DatabaseUnreachable(Unavailable):
    code = "not_ready"
    title = "Not ready"


@router.get("/healthz", response_model=Health, summary="The process is running")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="The database answers",
    responses={503: {"description": "The database does not answer"}},
)
def readyz(request: Request) -> Health:
    try:
        db.ping(request.app.state.sessions)
    except SQLAlchemyError:
        raise DatabaseUnreachable("The database does not answer.", retry_after=5) from None
    return Health(status="ready")
