"""The privacy center through HTTP: signing in and out, sessions, CSRF, headers, requests, languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_service.audit.models import AuditEvent
from privacy_service.dsr import receipts
from privacy_service.identity import browser_sessions, clients
from privacy_service.identity.clients import FIRST_PARTY_CLIENT_ID
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.models import BrowserSession, LoginFailure, RefreshToken, UserSession
from privacy_service.work import Workplace
from tests.functional.conftest import Api, Customer, MakeCustomer, unique_email
from tests.functional.dsr_support import DsrDriver
from tests.functional.web_support import Browser, hidden_fields, text_of
from tests.support.downstream import FakeDownstream

SESSION_COOKIE = "ps_privacy"


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


def login_events(session: Session, action: str) -> int:
    return (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0
    )


# -- the pages' headers ---------------------------------------------------------------------------


def test_every_page_forbids_inline_script_and_framing(browser: Browser) -> None:
    page = browser.get("/sign-in")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert "script-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text
    assert " style=" not in page.text


def test_the_sign_in_form_carries_a_csrf_token_bound_to_a_presession_cookie(browser: Browser) -> None:
    page = browser.get("/sign-in")
    assert hidden_fields(page)["csrf_token"]
    set_cookie = page.headers["set-cookie"]
    assert set_cookie.startswith("ps_presession=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie


def test_over_tls_the_session_cookie_is_a_host_cookie(
    client: TestClient, api: Api, customer: Customer
) -> None:
    browser = Browser(client)
    browser.http.base_url = "https://testserver"  # type: ignore[assignment]
    answer = browser.sign_in(customer.email, customer.password)
    assert answer.status_code == 303, answer.text
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(cookie for cookie in cookies if cookie.startswith("__Host-ps_privacy="))
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert "Path=/" in session_cookie
    assert "Domain" not in session_cookie
    assert browser.get("/").status_code == 200


# -- signing in -----------------------------------------------------------------------------------


def test_a_customer_signs_in_and_sees_their_profile(
    browser: Browser, customer: Customer, session: Session
) -> None:
    before = login_events(session, "authn_login_success")
    answer = browser.sign_in(customer.email, customer.password)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/privacy/"
    set_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie
    overview = browser.get("/")
    assert overview.status_code == 200
    assert customer.email in overview.text
    assert "Lovelace" in overview.text
    assert login_events(session, "authn_login_success") == before + 1


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    browser: Browser, customer: Customer
) -> None:
    wrong = browser.sign_in(customer.email, "not-the-password")
    unknown = browser.sign_in(unique_email(), "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is wrong." in text_of(wrong)
    assert text_of(wrong).replace(hidden_fields(wrong)["csrf_token"], "") == text_of(unknown).replace(
        hidden_fields(unknown)["csrf_token"], ""
    )
    assert SESSION_COOKIE not in browser.http.cookies


def test_a_post_without_its_csrf_token_is_refused_and_counts_nothing(
    browser: Browser, customer: Customer, session: Session
) -> None:
    failures = session.scalar(select(func.count()).select_from(LoginFailure))
    browser.get("/sign-in")
    for token in (None, "", "forged-token", hidden_fields(browser.get("/sign-in"))["csrf_token"][:-2] + "AA"):
        data = {"email": customer.email, "password": customer.password}
        if token is not None:
            data["csrf_token"] = token
        answer = browser.post("/sign-in", data)
        assert answer.status_code == 403
        assert "This form has expired or did not come from this site." in text_of(answer)
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == failures
    assert SESSION_COOKIE not in browser.http.cookies


def test_a_csrf_token_of_another_browser_is_refused(
    client: TestClient, browser: Browser, customer: Customer
) -> None:
    stranger = Browser(client)
    token = hidden_fields(stranger.get("/sign-in"))["csrf_token"]
    browser.get("/sign-in")
    answer = browser.post(
        "/sign-in", {"csrf_token": token, "email": customer.email, "password": customer.password}
    )
    assert answer.status_code == 403


def test_a_customer_with_totp_signs_in_with_their_code_and_a_wrong_one_is_refused(
    browser: Browser, api: Api, customer: Customer
) -> None:
    totp, _ = api.enrol_totp(api.tokens(customer.email, customer.password))
    code_form = browser.sign_in(customer.email, customer.password)
    assert code_form.status_code == 200
    assert 'name="code"' in code_form.text
    assert SESSION_COOKIE not in browser.http.cookies
    fields = hidden_fields(code_form)
    wrong = browser.http.post(
        "/privacy/sign-in/code", data={**fields, "code": api.wrong_code(totp)}, follow_redirects=False
    )
    assert wrong.status_code == 401
    assert SESSION_COOKIE not in browser.http.cookies
    right = browser.http.post(
        "/privacy/sign-in/code", data={**fields, "code": api.fresh_code(totp)}, follow_redirects=False
    )
    assert right.status_code == 303
    assert browser.get("/").status_code == 200


def test_a_sign_in_on_the_pages_opens_a_session_and_signs_or_stores_no_token(
    client: TestClient,
    api: Api,
    make_customer: MakeCustomer,
    session: Session,
    credentials: Credentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_code, by_password = make_customer(), make_customer()
    totp, _ = api.enrol_totp(api.tokens(with_code.email, with_code.password))

    def no_token(**_: object) -> str:
        raise AssertionError("a sign-in on the pages signed an access token")

    monkeypatch.setattr(credentials.tokens, "issue_access_token", no_token)
    refresh_tokens = session.scalar(select(func.count()).select_from(RefreshToken))
    Browser(client).sign_in_fully(api, with_code.email, with_code.password, totp)
    client.cookies.clear()
    Browser(client).sign_in_fully(api, by_password.email, by_password.password)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RefreshToken)) == refresh_tokens
    opened = session.execute(
        select(UserSession.user_id, UserSession.amr).where(
            UserSession.user_id.in_([with_code.id, by_password.id]),
            UserSession.client_id == FIRST_PARTY_CLIENT_ID,
        )
    ).all()
    assert sorted(map(tuple, opened)) == sorted([(with_code.id, "pwd otp"), (by_password.id, "pwd")])


def test_the_pages_own_sign_ins_count_per_account_and_address_never_per_client(
    browser: Browser, api: Api, customer: Customer, session: Session
) -> None:
    """A guesser cannot fill the pages' one client window and lock every customer out of the pages."""
    totp, _ = api.enrol_totp(api.tokens(customer.email, customer.password))
    scopes_before = session.scalars(select(LoginFailure.scope)).all()
    assert browser.sign_in(customer.email, customer.password + "!").status_code == 401
    code_form = browser.sign_in(customer.email, customer.password)
    wrong = browser.http.post(
        "/privacy/sign-in/code",
        data={**hidden_fields(code_form), "code": api.wrong_code(totp)},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    session.expire_all()
    counted = session.scalars(select(LoginFailure.scope)).all()
    assert len(counted) > len(scopes_before)
    assert counted.count("client") == scopes_before.count("client")


def test_pages_need_a_session_and_send_others_to_sign_in(browser: Browser) -> None:
    for path in ("/", "/requests/new/access", "/requests/01J0000000000000000000000"):
        answer = browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/privacy/sign-in"


# -- the session's end ----------------------------------------------------------------------------


def test_sign_out_ends_the_session_on_the_server(
    browser: Browser, customer: Customer, session: Session
) -> None:
    browser.sign_in(customer.email, customer.password)
    stolen = browser.cookie(SESSION_COOKIE)
    assert stolen
    answer = browser.post("/sign-out", {}, from_page="/")
    assert answer.status_code == 303
    assert (
        session.scalar(select(func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None)))
        == 0
    )
    assert session.scalar(select(func.count()).select_from(BrowserSession)) == 0  # and its row is gone
    browser.http.cookies.set(SESSION_COOKIE, stolen)  # a copy kept from before the sign-out
    assert browser.get("/").status_code == 303


def test_a_session_ends_when_idle_and_at_its_absolute_timeout(
    browser: Browser, api: Api, customer: Customer, session: Session
) -> None:
    browser.sign_in(customer.email, customer.password)
    api.clock.advance(timedelta(minutes=31))
    assert browser.get("/").status_code == 303
    assert session.scalar(select(func.count()).select_from(BrowserSession)) == 0

    browser.sign_in(customer.email, customer.password)
    for _ in range(12 * 3):  # active every 20 minutes, never idle, for 12 hours
        assert browser.get("/").status_code == 200
        api.clock.advance(timedelta(minutes=20))
    api.clock.advance(timedelta(minutes=1))
    assert browser.get("/").status_code == 303


def test_ending_the_session_through_the_api_ends_the_browser_session(
    browser: Browser, api: Api, customer: Customer
) -> None:
    browser.sign_in(customer.email, customer.password)
    user = api.tokens(customer.email, customer.password)
    sessions = api.http.get("/v1/me/sessions", headers=user.headers).json()["items"]
    web = next(item for item in sessions if item["client_id"] == "privacy-service-web")
    assert api.http.delete(f"/v1/me/sessions/{web['id']}", headers=user.headers).status_code == 204
    assert browser.get("/").status_code == 303


# -- requests -------------------------------------------------------------------------------------


def test_a_customer_asks_for_a_copy_and_follows_it(browser: Browser, customer: Customer) -> None:
    browser.sign_in(customer.email, customer.password)
    confirm = browser.get("/requests/new/access")
    assert confirm.status_code == 200
    filed = browser.post("/requests", {"type": "access"}, from_page="/requests/new/access")
    assert filed.status_code == 303
    request_path = filed.headers["location"].removeprefix("/privacy")
    page = browser.get(request_path)
    assert page.status_code == 200
    assert "Copy of my data" in text_of(page)
    assert "Answer due by" in text_of(page)
    assert "Copy of my data" in text_of(browser.get("/"))


def test_an_erasure_needs_the_confirmation_and_a_fresh_second_factor(
    browser: Browser, api: Api, customer: Customer
) -> None:
    totp, _ = api.enrol_totp(api.tokens(customer.email, customer.password))
    browser.sign_in_fully(api, customer.email, customer.password, totp)
    page = "/requests/new/erasure"
    unconfirmed = browser.post("/requests", {"type": "erasure", "code": api.fresh_code(totp)}, from_page=page)
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == "/privacy" + page
    wrong = browser.post(
        "/requests", {"type": "erasure", "confirm": "yes", "code": api.wrong_code(totp)}, from_page=page
    )
    assert wrong.status_code == 401
    assert "That code is not right" in text_of(wrong)
    assert "Erasure of my data" not in text_of(browser.get("/"))
    filed = browser.post(
        "/requests", {"type": "erasure", "confirm": "yes", "code": api.fresh_code(totp)}, from_page=page
    )
    assert filed.status_code == 303
    assert "Erasure of my data" in text_of(browser.get(filed.headers["location"].removeprefix("/privacy")))


def test_a_customer_cannot_open_anothers_request(
    client: TestClient, browser: Browser, customer: Customer, make_customer: MakeCustomer
) -> None:
    other = make_customer()
    others = Browser(client)
    others.sign_in(other.email, other.password)
    filed = others.post("/requests", {"type": "access"}, from_page="/requests/new/access")
    request_path = filed.headers["location"].removeprefix("/privacy")
    browser.sign_in(customer.email, customer.password)
    for path in (request_path, request_path + "/export"):
        answer = browser.get(path)
        assert answer.status_code == 404
        assert other.email not in answer.text


# -- languages ------------------------------------------------------------------------------------


def test_the_language_follows_accept_language_and_the_switch(client: TestClient) -> None:
    german = Browser(client, headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    page = german.get("/sign-in")
    assert '<html lang="de">' in page.text
    assert "Anmelden" in text_of(page)
    switched = german.get("/sign-in?lang=fr")
    assert '<html lang="fr">' in switched.text
    assert german.get("/sign-in").text.count('<html lang="fr">') == 1  # the choice is kept in a cookie
    unknown = Browser(client, headers={"Accept-Language": "xx-YY, *;q=0.1"})
    assert '<html lang="en">' in unknown.get("/sign-in").text


def test_after_the_erasure_the_browser_that_filed_it_still_follows_it_and_no_other_does(
    client: TestClient, browser: Browser, customer: Customer, dsr: DsrDriver, orders: FakeDownstream
) -> None:
    orders.answer_completed(retained=[{"category": "invoices", "reason": "AO §147", "until": "2034-12-31"}])
    dsr.register(orders, categories=("invoices",))
    browser.sign_in(customer.email, customer.password)
    filed = browser.post(
        "/requests", {"type": "erasure", "confirm": "yes"}, from_page="/requests/new/erasure"
    )
    assert filed.status_code == 303
    receipt_cookie = next(c for c in filed.headers.get_list("set-cookie") if c.startswith("ps_receipt="))
    assert "HttpOnly" in receipt_cookie
    assert "Max-Age=" in receipt_cookie
    request_path = filed.headers["location"].removeprefix("/privacy")

    dsr.deliver()

    assert browser.get("/").status_code == 303  # the account, and with it the session, is gone
    page = browser.get(request_path)
    assert page.status_code == 200
    assert "Completed" in text_of(page)
    assert "AO §147" in text_of(page)
    assert customer.email not in page.text
    stranger = Browser(client)
    assert stranger.get(request_path).status_code == 303
    stranger.http.cookies.set("ps_receipt", "not-a-receipt")
    assert stranger.get(request_path).status_code == 404


def test_markup_in_personal_data_is_shown_as_text(browser: Browser, make_customer: MakeCustomer) -> None:
    someone = make_customer(
        profile={"given_name": '<script>alert("x")</script>', "extra": {"note": "<b>hi</b>"}}
    )
    browser.sign_in(someone.email, someone.password)
    page = browser.get("/")
    assert "<script>alert" not in page.text
    assert "<b>hi</b>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;hi&lt;/b&gt;" in page.text


# -- second factor and sessions -------------------------------------------------------------------


def test_a_customer_enrols_totp_with_the_qr_code_then_replaces_it(
    browser: Browser, api: Api, customer: Customer
) -> None:
    browser.sign_in(customer.email, customer.password)
    enrolment = browser.post("/security/totp", {}, from_page="/security")
    assert enrolment.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in enrolment.text
    secret = "".join(re.search(r'<code class="secret">([^<]+)</code>', enrolment.text)[1].split())  # type: ignore[index]
    totp = pyotp.TOTP(secret)
    wrong = browser.post("/security/totp/confirm", {"code": api.wrong_code(totp)}, from_page="/security")
    assert wrong.status_code == 401
    codes = browser.post("/security/totp/confirm", {"code": api.fresh_code(totp)}, from_page="/security")
    assert codes.status_code == 200
    recovery = re.findall(r"<li><code>([^<]+)</code></li>", codes.text)
    assert len(recovery) == 10
    assert "asks for a code" in text_of(browser.get("/security"))

    refused = browser.post(
        "/security/totp/remove", {"code": api.wrong_code(totp), "then": "enrol"}, from_page="/security"
    )
    assert refused.status_code == 401
    replaced = browser.post(
        "/security/totp/remove", {"code": recovery[0], "then": "enrol"}, from_page="/security"
    )
    assert replaced.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in replaced.text
    assert "asks for a code" not in text_of(browser.get("/security"))  # off until the new one is confirmed


def test_a_customer_sees_their_sessions_and_ends_another(
    browser: Browser, api: Api, customer: Customer
) -> None:
    shop_side = api.tokens(customer.email, customer.password, user_agent="ShopApp/2.0")
    browser.sign_in(customer.email, customer.password)
    page = browser.get("/security")
    assert "ShopApp/2.0" in text_of(page)
    assert "this session" in text_of(page)
    other = next(
        item["id"]
        for item in api.http.get("/v1/me/sessions", headers=shop_side.headers).json()["items"]
        if item["client_id"] != "privacy-service-web"
    )
    ended = browser.post(f"/security/sessions/{other}/end", {}, from_page="/security")
    assert ended.status_code == 303
    assert api.profile_status(shop_side) == 401
    assert "ShopApp/2.0" not in text_of(browser.get("/security"))


def test_the_shops_colour_is_a_stylesheet_of_its_own(client: TestClient) -> None:
    theme = client.get("/brand/theme.css")
    assert theme.status_code == 200
    assert theme.headers["content-type"].startswith("text/css")
    assert "--accent: #1d4ed8;" in theme.text
    assert client.get("/brand/logo").status_code == 404  # none configured
    assert '<link rel="stylesheet" href="/brand/theme.css?v=' in client.get("/privacy/sign-in").text


def test_the_pages_own_client_is_no_shops_and_cannot_be_changed_or_used(
    client: TestClient, workplace: Workplace
) -> None:
    with workplace.open() as work:
        assert FIRST_PARTY_CLIENT_ID not in [
            listed.client_id for listed in clients.list_clients(session=work.session)
        ]
        with pytest.raises(clients.UnknownClient):
            clients.disable_client(work, client_id=FIRST_PARTY_CLIENT_ID)
    for secret in ("", "anything"):
        token = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(FIRST_PARTY_CLIENT_ID, secret)
        )
        assert token.status_code == 401


def test_the_worker_forgets_timed_out_sessions_and_expired_receipts(
    client: TestClient, browser: Browser, api: Api, customer: Customer, workplace: Workplace, session: Session
) -> None:
    browser.sign_in(customer.email, customer.password)
    browser.post("/requests", {"type": "erasure", "confirm": "yes"}, from_page="/requests/new/erasure")
    idle, lifetime = timedelta(minutes=30), timedelta(hours=12)
    with workplace.open() as work:
        assert browser_sessions.purge_expired(work, idle=idle, lifetime=lifetime) == 0  # still live
        assert receipts.purge_expired_receipts(work) == 0
    api.clock.advance(timedelta(minutes=31))
    with workplace.open() as work:
        assert browser_sessions.purge_expired(work, idle=idle, lifetime=lifetime) == 1
    assert session.scalar(select(func.count()).select_from(BrowserSession)) == 0
    api.clock.advance(receipts.RECEIPT_LIFETIME)
    with workplace.open() as work:
        assert receipts.purge_expired_receipts(work) == 1


def test_a_customer_downloads_the_copy_of_their_data_until_it_expires(
    browser: Browser, api: Api, customer: Customer, dsr: DsrDriver
) -> None:
    browser.sign_in(customer.email, customer.password)
    filed = browser.post("/requests", {"type": "access"}, from_page="/requests/new/access")
    request_path = filed.headers["location"].removeprefix("/privacy")
    dsr.close()  # no downstream system: the request completes and its bundle is built
    page = browser.get(request_path)
    assert "Download my data" in text_of(page)
    bundle = browser.get(request_path + "/export")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"] == "application/zip"
    assert bundle.content.startswith(b"PK")
    assert "attachment" in bundle.headers["content-disposition"]
    api.clock.advance(timedelta(days=60))
    browser.sign_in(customer.email, customer.password)
    assert browser.get(request_path + "/export").status_code == 410
    assert "Download my data" not in text_of(browser.get(request_path))
