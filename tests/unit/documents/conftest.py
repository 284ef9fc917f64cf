"""The shop's shipped notice templates, loaded (and so checked) once per module."""

from __future__ import annotations

import pytest

from privacy_service.documents.texts import SubjectTexts
from tests.unit.documents.samples import SHIPPED


@pytest.fixture(scope="module")
def notices() -> SubjectTexts:
    return SubjectTexts(SHIPPED)
