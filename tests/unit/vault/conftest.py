"""Fixtures of the vault's tests: the email blind index, and subjects created through the service."""

from __future__ import annotations

from typing import Any

import pytest

from privacy_service.crypto import BlindIndex, LocalKeyFile
from privacy_service.vault import service
from privacy_service.vault.lookup import email_index
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work
from tests.unit.vault.sample_profiles import NewSubject


@pytest.fixture
def blind_index(key_file: LocalKeyFile) -> BlindIndex:
    return email_index(key_file)


@pytest.fixture
def new_subject(work: Work, blind_index: BlindIndex) -> NewSubject:
    """Create a subject through the service; with no profile, a unique throwaway address."""

    def create(profile: ProfileFields | None = None, **fields: Any) -> str:
        if profile is None:
            profile = ProfileFields(email=f"subject-{len(created)}@example.net", **fields)
        subject = service.create_subject(work, blind_index=blind_index, profile=profile)
        created.append(subject.id)
        return subject.id

    created: list[str] = []
    return create
