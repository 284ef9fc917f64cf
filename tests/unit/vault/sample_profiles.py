"""Sample data subjects for the vault's tests: distinctive values, non-ASCII names, every field set."""

from __future__ import annotations

from typing import Any, Protocol

from privacy_service.vault.schemas import ProfileFields

ALICE = ProfileFields(
    email="alice@example.com",
    given_name="Zoë Ålice",
    family_name="Łukasiewicz-Müller",
    phone="+49 30 1234567",
    country="de",
    locale="de_de",
    extra={"nickname": "Ali 🦊", "newsletter": True, "children": [{"name": "Ōtani"}]},
)
BOB = ProfileFields(
    email="bob@example.org", given_name="山田", family_name="太郎", country="JP", locale="ja-JP"
)


class NewSubject(Protocol):
    def __call__(self, profile: ProfileFields | None = None, **fields: Any) -> str: ...
