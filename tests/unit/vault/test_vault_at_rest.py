"""The issue's key promise: once profiles and records are written, the database holds none of their plaintext.

On SQLite the database files themselves are scanned byte for byte (the main
file and the write-ahead log, before and after a checkpoint). On any backend
the raw column values are read back with SQL, bypassing the ORM, and searched.
A positive control (the record category, stored in plaintext by design)
proves each scan would have found a plaintext value had one been there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import create_session_factory
from privacy_service.crypto import BlindIndex, LocalKeyFile
from privacy_service.keys.fields import ENCRYPTED
from privacy_service.keys.service import Keyring
from privacy_service.vault import service
from privacy_service.vault.lookup import email_index
from privacy_service.vault.models import PersonalRecord, Profile, Subject
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work, Workplace
from tests.conftest import make_settings
from tests.support.at_rest import migrated_sqlite_file, plaintexts_in, raw_table_bytes, read_sqlite_files

CATEGORY = "shipping_address"  # a label, not a value: the positive control of every scan

PROFILES = [
    ProfileFields(
        email="Margarethe.Vollmer@example-shop.de",
        given_name="Margarethe Zoë",
        family_name="Vollmer-Łukasiewicz",
        phone="+49 30 98765432",
        country="DE",
        locale="de-DE",
        extra={"loyalty_number": "LOY-7733-1919", "favourite_colour": "aubergine"},
    ),
    ProfileFields(
        email="hiroshi.yamamoto@example.jp",
        given_name="山本",
        family_name="博司",
        phone="+81 3-1234-5678",
        country="JP",
        locale="ja-JP",
    ),
]
RECORDS: list[dict[str, object]] = [
    {"street": "Königsallee 92a", "city": "Düsseldorf", "postcode": "40212", "door_code": 48151623},
    {"street": "銀座四丁目", "city": "東京都中央区", "tax_reference": "JP-TAX-5550199"},
]

# Two-letter country codes are left out: any two bytes turn up by chance in
# kilobytes of ciphertext, so their absence cannot be asserted. Everything else
# is long enough that a chance match is negligible.
PLAINTEXTS = [
    value
    for profile in PROFILES
    for value in (
        profile.email,
        BlindIndex.normalise(profile.email),
        profile.given_name,
        profile.family_name,
        profile.phone,
        profile.locale,
        *(str(item) for item in profile.extra.values()),
    )
    if value is not None
] + [str(value) for record in RECORDS for value in record.values()]


# Everything the vault stores in plaintext, by design: structure, never a personal value.
PLAINTEXT_BY_DESIGN = {
    "subjects": {"id", "email_index", "created_at", "updated_at"},  # email_index: a keyed HMAC digest
    "profiles": {"subject_id"},
    "personal_records": {"id", "subject_id", "category", "created_at", "updated_at"},
}


def test_every_other_column_is_declared_encrypted_and_every_profile_field_has_one() -> None:
    for model in (Subject, Profile, PersonalRecord):
        columns = model.__table__.columns
        unencrypted = {column.name for column in columns if not column.info.get(ENCRYPTED)}
        assert unencrypted == PLAINTEXT_BY_DESIGN[model.__tablename__]
    encrypted_profile_columns = [
        column.name for column in Profile.__table__.columns if column.info.get(ENCRYPTED)
    ]
    assert encrypted_profile_columns == list(ProfileFields.model_fields)


def _write_subjects(work: Work, *, blind_index: BlindIndex) -> None:
    for profile, record in zip(PROFILES, RECORDS, strict=True):
        subject = service.create_subject(work, blind_index=blind_index, profile=profile)
        service.put_record(work, subject_id=subject.id, category=CATEGORY, data=record)


@pytest.fixture
def database_file(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "at-rest.db"
    with migrated_sqlite_file(path, make_settings(tmp_path)) as engine:
        yield engine, path


def test_the_sqlite_files_hold_no_plaintext_personal_value(
    database_file: tuple[Engine, Path], keyring: Keyring, key_file: LocalKeyFile, clock: FrozenClock
) -> None:
    engine, path = database_file
    workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
    with workplace.open() as work:
        _write_subjects(work, blind_index=email_index(key_file))

    files = read_sqlite_files(engine, path)
    assert CATEGORY.encode() in files.wal  # the committed rows are in the log, not yet checkpointed
    assert plaintexts_in(files.live, [CATEGORY]) == [CATEGORY]
    assert plaintexts_in(files.live, PLAINTEXTS) == []
    assert plaintexts_in(files.checkpointed, [CATEGORY]) == [CATEGORY]
    assert plaintexts_in(files.checkpointed, PLAINTEXTS) == []


def test_no_raw_column_value_holds_a_plaintext_personal_value(
    work: Work, session: Session, blind_index: BlindIndex
) -> None:
    _write_subjects(work, blind_index=blind_index)
    session.flush()

    for table in ("subjects", "profiles", "personal_records", "subject_keys"):
        raw = raw_table_bytes(session, table)
        assert plaintexts_in(raw, PLAINTEXTS) == [], table
        assert (CATEGORY.encode() in raw) is (table == "personal_records"), table
