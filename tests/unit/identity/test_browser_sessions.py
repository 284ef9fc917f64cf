"""CSRF tokens of the web pages: bound to one cookie's secret, refused for any other or for none."""

from __future__ import annotations

import pytest

from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests, new_opaque_token
from privacy_service.identity.browser_sessions import check_csrf, csrf_token
from privacy_service.identity.errors import CsrfRefused

DIGESTS = OpaqueTokenDigests(pepper_key=b"p" * 32)


def test_a_token_checks_against_the_cookie_it_was_made_for() -> None:
    binding = new_opaque_token()
    check_csrf(DIGESTS, binding=binding, sent=csrf_token(DIGESTS, binding=binding))


@pytest.mark.parametrize(
    "sent",
    [None, "", "not base64 !", "AAAA", csrf_token(DIGESTS, binding="another cookie")],
)
def test_anything_else_is_refused(sent: str | None) -> None:
    with pytest.raises(CsrfRefused):
        check_csrf(DIGESTS, binding="this cookie", sent=sent)


def test_no_cookie_means_no_valid_token() -> None:
    with pytest.raises(CsrfRefused):
        check_csrf(DIGESTS, binding=None, sent=csrf_token(DIGESTS, binding=""))


def test_the_token_depends_on_the_pepper() -> None:
    other = OpaqueTokenDigests(pepper_key=b"q" * 32)
    assert csrf_token(DIGESTS, binding="cookie") != csrf_token(other, binding="cookie")
