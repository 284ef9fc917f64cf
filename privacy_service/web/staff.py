"""Who the console admits, and which of its pages each staff role may open.

The console admits staff signed in with their second factor, and no one else.
Compliance officers review requests and the trail; admins manage who and what
may reach the service (shop clients, staff accounts, downstream systems).
Neither role implies the other, as in the API: an admin is no auditor. Both
see the downstream systems' deliveries, which are operations, not anyone's data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Form
from pydantic import ValidationError

from privacy_service.core.errors import DomainError
from privacy_service.identity.accounts import roles_of
from privacy_service.identity.errors import Forbidden, StaffOnly
from privacy_service.identity.models import User
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import AuthMethod, Role
from privacy_service.web.visitors import CONSOLE, Visitor, form_poster_in, visitor_in
from privacy_service.work import Work

PageVisitor = Annotated[Visitor, Depends(visitor_in(CONSOLE))]
FormVisitor = Annotated[Visitor, Depends(form_poster_in(CONSOLE))]


def admit_staff(work: Work, user_id: str, amr: tuple[AuthMethod, ...]) -> None:
    """Who the console admits: staff, signed in with their second factor."""
    if AuthMethod.OTP not in amr or not roles_of(work.session.get_one(User, user_id)):
        raise StaffOnly()


def as_officer(visitor: Visitor) -> Principal:
    """The signed-in compliance officer; ``Forbidden`` for anyone else."""
    return _with_role(visitor, Role.COMPLIANCE_OFFICER, "This page is for compliance officers.")


def as_admin(visitor: Visitor) -> Principal:
    """The signed-in admin; ``Forbidden`` for anyone else."""
    return _with_role(visitor, Role.ADMIN, "This page is for admins.")


def as_staff(visitor: Visitor) -> Principal:
    """Whoever the console admitted (every session it holds is staff with a second factor)."""
    principal = visitor.signed_in
    if not principal.roles:
        raise StaffOnly()
    return principal


def _with_role(visitor: Visitor, role: Role, refusal: str) -> Principal:
    principal = visitor.signed_in
    if role not in principal.roles:
        raise Forbidden(refusal)
    return principal


#: The fresh second-factor code a form that changes access carries (``Visitor.confirm_second_factor``).
SecondFactorCode = Annotated[str, Form(max_length=64)]


@dataclass(frozen=True)
class Refusal:
    """Why a console form was refused, for the page that shows the form again: a code its template
    explains (``console/labels.html``), the status to answer with, the fields at fault, and what the
    form sent, to fill it in again (never a secret, a password or a code)."""

    code: str
    status: int
    fields: tuple[str, ...] = ()
    sent: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, error: DomainError, *, sent: Mapping[str, object] | None = None) -> Refusal:
        return cls(code=error.code, status=error.status, sent=sent or {})

    @classmethod
    def of_invalid(
        cls, error: ValidationError, *, code: str, form: Sequence[str], sent: Mapping[str, object]
    ) -> Refusal:
        """The fields ``error`` names, in the order the form shows them (``form``); never their values."""
        named = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        return cls(code=code, status=422, fields=tuple(name for name in form if name in named), sent=sent)
