"""Two transactions racing for one email address: the unique blind index decides, the loser hears EmailTaken.

Two transactions cannot race inside one rolled-back test transaction, so this
test commits for real on the suite's database and removes what it created.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select

from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import create_session_factory
from privacy_service.crypto import BlindIndex
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.service import Keyring
from privacy_service.vault import service
from privacy_service.vault.errors import EmailTaken
from privacy_service.vault.models import Subject
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work, Workplace
from tests.unit.vault.sample_profiles import ALICE


class CommittedSignups:
    """Creates subjects in units of work of their own, and erases them (keys included) at the end."""

    def __init__(
        self, *, engine: Engine, keyring: Keyring, blind_index: BlindIndex, clock: FrozenClock
    ) -> None:
        self.workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
        self.blind_index = blind_index
        self.created: list[str] = []

    def create_in(self, work: Work, profile: ProfileFields) -> None:
        subject = service.create_subject(work, blind_index=self.blind_index, profile=profile)
        self.created.append(subject.id)

    def create(self, profile: ProfileFields) -> None:
        with self.workplace.open() as work:
            self.create_in(work, profile)

    def remove_all(self) -> None:
        with self.workplace.open() as work:
            for subject_id in self.created:
                service.erase_subject(work, subject_id=subject_id)
            work.session.execute(delete(SubjectKey).where(SubjectKey.subject_id.in_(self.created)))


@pytest.fixture
def signups(
    engine: Engine, keyring: Keyring, blind_index: BlindIndex, clock: FrozenClock
) -> Iterator[CommittedSignups]:
    signups = CommittedSignups(engine=engine, keyring=keyring, blind_index=blind_index, clock=clock)
    yield signups
    signups.remove_all()


def test_of_two_concurrent_signups_with_one_email_exactly_one_wins(
    signups: CommittedSignups, blind_index: BlindIndex
) -> None:
    refusals: list[BaseException] = []

    def second_signup() -> None:
        try:
            signups.create(ProfileFields(email=" ALICE@example.com", given_name="Mallory"))
        except BaseException as error:  # handed over to the test's thread to assert on
            refusals.append(error)

    racer = threading.Thread(target=second_signup)
    with signups.workplace.open() as first:
        signups.create_in(first, ALICE)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()  # it waits for the first transaction, which holds the email index
    racer.join(timeout=30)

    assert not racer.is_alive()
    assert [type(error) for error in refusals] == [EmailTaken]
    with signups.workplace.open() as work:
        assert (
            service.find_by_email(session=work.session, blind_index=blind_index, email=ALICE.email)
            == signups.created
        )
        assert work.session.scalar(select(func.count()).select_from(Subject)) == 1
