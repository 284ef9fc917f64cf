"""Other people's personal data: read by staff and authorised shop backends, written by shop backends."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field

from privacy_service.api.deps import CredentialsDep, WorkDep, client_with, staff_or_client_with
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Role, Scope
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import RECORD_CATEGORY_PATTERN, ProfileFields, RecordData

router = APIRouter(tags=["personal data"])

VaultReader = Annotated[
    Principal, Depends(staff_or_client_with(Scope.VAULT_READ, Role.ADMIN, Role.COMPLIANCE_OFFICER))
]
VaultWriter = Annotated[Principal, Depends(client_with(Scope.VAULT_WRITE))]
RecordReader = Annotated[Principal, Depends(client_with(Scope.VAULT_READ))]
SubjectId = Annotated[str, Path(min_length=1, max_length=64)]
Category = Annotated[str, Path(pattern=RECORD_CATEGORY_PATTERN)]


class SubjectSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=320)


class SubjectRef(BaseModel):
    id: str


class SubjectPage(BaseModel):
    items: list[SubjectRef]
    next_cursor: str | None = None


@router.get("/v1/subjects/{subject_id}/profile", response_model=ProfileFields, summary="A subject's profile")
def subject_profile(subject_id: SubjectId, reader: VaultReader, work: WorkDep) -> ProfileFields:
    return vault.read_profile_for(work, subject_id=subject_id, reader=reader.party)


@router.put(
    "/v1/subjects/{subject_id}/records/{category}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Store a record of personal data under a category",
)
def put_record(
    subject_id: SubjectId,
    category: Category,
    data: Annotated[RecordData, Body()],
    writer: VaultWriter,
    work: WorkDep,
) -> None:
    vault.put_record(work, subject_id=subject_id, category=category, data=data, writer=writer.party)


@router.get("/v1/subjects/{subject_id}/records/{category}", summary="Read a record back")
def get_record(
    subject_id: SubjectId, category: Category, reader: RecordReader, work: WorkDep
) -> dict[str, Any]:
    return vault.get_record_for(work, subject_id=subject_id, category=category, reader=reader.party)


@router.post("/v1/subjects/search", response_model=SubjectPage, summary="Find a subject by exact email")
def search(
    body: SubjectSearch, _reader: VaultReader, work: WorkDep, credentials: CredentialsDep
) -> SubjectPage:
    ids = vault.find_by_email(session=work.session, blind_index=credentials.emails, email=body.email)
    return SubjectPage(items=[SubjectRef(id=subject_id) for subject_id in ids])
