"""What a route may ask for: the request's unit of work, the clock, the settings.

The unit of work is a ``scope="function"`` dependency: it commits right after
the route returns and *before* the response is sent, so a failed commit is
answered as an error, never as a success for a change that did not happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from privacy_service.core.clock import Clock
from privacy_service.core.config import Settings
from privacy_service.core.db import SessionFactory, unit_of_work
from privacy_service.keys.service import Keyring


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


def get_session(request: Request) -> Iterator[Session]:
    sessions: SessionFactory = request.app.state.sessions
    with unit_of_work(sessions) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
DbSession = Annotated[Session, Depends(get_session, scope="function")]
