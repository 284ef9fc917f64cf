"""Registration and delegated login: a shop backend acts for its customer (API.md "Authentication")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from privacy_service.api.deps import (
    CredentialsDep,
    CurrentUser,
    WorkDep,
    client_in_thread,
    client_with,
    get_password_place,
)
from privacy_service.identity import accounts, login
from privacy_service.identity.principals import Principal
from privacy_service.identity.schemas import (
    Created,
    LoginRequest,
    MfaRequest,
    MfaRequired,
    Registration,
    Tokens,
)
from privacy_service.identity.scopes import Scope
from privacy_service.identity.sessions import revoke_session

router = APIRouter(tags=["authentication"])

UsersWriter = Annotated[Principal, Depends(client_with(Scope.USERS_WRITE))]
LoginClient = Annotated[Principal, Depends(client_with(Scope.AUTH_LOGIN))]


@router.post(
    "/v1/users", status_code=status.HTTP_201_CREATED, response_model=Created, summary="Register a customer"
)
def register(body: Registration, client: UsersWriter, work: WorkDep, credentials: CredentialsDep) -> Created:
    user = accounts.register_user(
        work,
        emails=credentials.emails,
        passwords=credentials.passwords,
        email=body.email,
        password=body.password,
        profile={**(body.profile.profile_values() if body.profile else {}), "country": body.country},
        actor=client.party,
    )
    return Created(id=user.id)


@router.post(
    "/v1/auth/login",
    response_model=Tokens | MfaRequired,
    summary="Check a customer's password for a shop",
    responses={401: {"description": "invalid_credentials"}, 429: {"description": "rate_limited"}, 503: {}},
)
async def log_in(body: LoginRequest, request: Request) -> Response:
    # Async: the client's check and the account's lookup run in one worker thread, the password is
    # awaited in the pool without holding a thread (a burst of queued logins would otherwise take every
    # thread and stall every sync route), and the outcome is recorded in a second thread
    # (``login.login_awaiting_the_pool``). A sync route or a sync dependency would each cost one more
    # hop between the event loop and the threads. The busiest route: what it needs of the app is read
    # in those threads rather than through dependencies, and its answer is the model's JSON as it is
    # (``response_model`` documents it).
    context = body.context
    state = request.app.state

    def check_the_client() -> login.LoginAttempt:
        client = client_in_thread(request, Scope.AUTH_LOGIN)
        return login.LoginAttempt(
            email=body.email,
            password=body.password,
            client_id=client.client_id,
            ip=context.ip if context else None,
            user_agent=context.user_agent if context else None,
        )

    result = await login.login_awaiting_the_pool(
        workplace=state.workplace,
        credentials=state.credentials,
        attempt=check_the_client,
        place=get_password_place(request),
    )
    answer: Tokens | MfaRequired
    if result.mfa_token is not None:
        answer = MfaRequired(
            mfa_token=result.mfa_token, password_change_required=result.password_change_required
        )
    else:
        assert result.granted is not None
        assert result.granted.tokens is not None  # Grant.TOKENS, the default
        answer = _tokens(result.granted.tokens, password_change_required=result.password_change_required)
    return Response(answer.model_dump_json(by_alias=True), media_type="application/json")


@router.post(
    "/v1/auth/mfa",
    response_model=Tokens,
    summary="Complete a login with a TOTP or recovery code",
    responses={401: {"description": "invalid_code or invalid_mfa_token"}},
)
def second_factor(
    body: MfaRequest, client: LoginClient, work: WorkDep, credentials: CredentialsDep
) -> Tokens:
    granted = login.complete_mfa(
        work,
        credentials=credentials,
        client_id=client.client_id,
        mfa_token=body.mfa_token,
        code=body.code,
        ip=body.context.ip if body.context else None,
        user_agent=body.context.user_agent if body.context else None,
    )
    assert granted.tokens is not None  # Grant.TOKENS, the default
    return _tokens(granted.tokens)


@router.post("/v1/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
def log_out(me: CurrentUser, work: WorkDep) -> None:
    assert me.session_id is not None
    revoke_session(work, user_id=me.id, session_id=me.session_id)


def _tokens(pair: login.TokenPair, *, password_change_required: bool = False) -> Tokens:
    return Tokens(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
        password_change_required=password_change_required,
    )
