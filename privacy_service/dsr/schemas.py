"""What the DSR endpoints take and answer (API.md "Data subject requests" and "Downstream systems")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from privacy_service.dsr.states import NoticeKind, RejectionReason, RequestStatus, TaskStatus
from privacy_service.policy import RequestType, SystemRequestType

SYSTEM_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
SystemName = Annotated[str, StringConstraints(pattern=SYSTEM_NAME_PATTERN)]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class RequestFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: RequestType
    subject_id: str | None = Field(default=None, min_length=1, max_length=64)


class RequestReceipt(BaseModel):
    id: str
    type: RequestType
    status: RequestStatus
    due_at: datetime


class RetainedItem(BaseModel):
    """What a system keeps under a legal obligation, as it said."""

    category: str
    reason: str
    until: str | None = None


class TaskView(BaseModel):
    id: str
    system: str
    status: TaskStatus
    attempts: int
    last_error: str | None = None
    completed_at: datetime | None = None
    retained: list[RetainedItem] = Field(default_factory=list)


class RejectionView(BaseModel):
    reason: RejectionReason
    detail: str | None = None
    at: datetime


class ExtensionView(BaseModel):
    at: datetime
    reason: str | None = None  # None once the subject's key is gone


class NoticeView(BaseModel):
    """A notice to the subject; ``delivered`` once every notice system (the shop's mailer) has taken it."""

    kind: NoticeKind
    at: datetime
    delivered: bool


class ExportLink(BaseModel):
    url: str
    expires_at: datetime


class RequestView(BaseModel):
    id: str
    type: RequestType
    status: RequestStatus
    subject_id: str
    jurisdiction: str
    received_at: datetime
    due_at: datetime
    extended: bool
    overdue: bool
    completed_at: datetime | None = None
    tasks: list[TaskView]
    notices: list[NoticeView] = Field(default_factory=list)
    extension: ExtensionView | None = None
    rejection: RejectionView | None = None
    export: ExportLink | None = None


class RequestPage(BaseModel):
    items: list[RequestView]
    next_cursor: str | None = None


#: The years ``GET /v1/dsr/stats`` answers for: none before the service, none past what dates can hold.
FIRST_STATS_YEAR = 2000
LAST_STATS_YEAR = 9999


class RequestFigures(BaseModel):
    """Requests of one type received in a year, by how each stands now (CCPA regulations §7102(a)).

    ``received`` is the sum of the others; ``open`` counts those not ended yet.
    ``median_days``: from receipt to the answer of those that ended, null when none has.
    """

    received: int
    completed: int
    partially_completed: int
    rejected: int
    failed: int
    open: int
    median_days: float | None = Field(description="days, one decimal")


class JurisdictionFigures(BaseModel):
    access: RequestFigures
    erasure: RequestFigures


class YearFigures(BaseModel):
    """A calendar year's requests (by ``received_at``, UTC): per type, and per type in each jurisdiction."""

    year: int
    access: RequestFigures
    erasure: RequestFigures
    by_jurisdiction: dict[str, JurisdictionFigures] = Field(
        description="every jurisdiction of the policies, and any other a request of the year was filed under"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: RejectionReason
    detail: str | None = Field(default=None, max_length=2000)


class Extension(BaseModel):
    """An officer's extension of the deadline: the reason is told to the subject."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class SystemRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: SystemName
    url: AnyHttpUrl
    secret: SecretStr = Field(
        min_length=10, max_length=200, description="A Standard Webhooks secret, whsec_..."
    )
    request_types: list[SystemRequestType] = Field(min_length=1)
    categories: list[Category] = Field(default_factory=list, max_length=100)
    timeout_seconds: float | None = Field(default=None, gt=0, le=300)


class SystemView(BaseModel):
    name: str
    url: str
    request_types: list[SystemRequestType]
    categories: list[str]
    timeout_seconds: float
    source: str


class SystemPage(BaseModel):
    items: list[SystemView]
    next_cursor: str | None = None


class CallbackAnswer(BaseModel):
    task_id: str
    status: TaskStatus


JsonObject = dict[str, Any]
