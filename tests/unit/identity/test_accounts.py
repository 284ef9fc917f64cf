"""Finding an account by email: only through the blind index, and only accounts.

A data subject a shop keeps in the vault without an account shares the
vault's email index with the accounts; being found there must not make it
an account that can log in or be managed as staff.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from privacy_service.identity.accounts import find_user_by_email, register_user
from privacy_service.identity.credentials import Credentials
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work


def test_a_data_subject_without_an_account_is_not_found_as_an_account(
    session: Session, credentials: Credentials, work: Work
) -> None:
    vault.create_subject(
        work, blind_index=credentials.emails, profile=ProfileFields(email="subject@example.net")
    )

    assert vault.find_by_email(session=session, blind_index=credentials.emails, email="subject@example.net")
    assert find_user_by_email(session=session, emails=credentials.emails, email="subject@example.net") is None


def test_an_account_is_found_by_its_email_whatever_its_case(
    session: Session, credentials: Credentials, work: Work
) -> None:
    user = register_user(
        work, emails=credentials.emails, passwords=credentials.passwords,
        email="customer@example.net", password="Tandem-Lighthouse-42",
    )  # fmt: skip

    found = find_user_by_email(session=session, emails=credentials.emails, email="Customer@Example.NET")

    assert found is not None
    assert found.id == user.id
