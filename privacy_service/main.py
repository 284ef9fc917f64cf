"""The composition root: ``create_app(settings)`` wires routers, middleware, problem handlers, worker."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import privacy_service
from privacy_service.api.admission import LoginAdmissionMiddleware
from privacy_service.api.metrics import install_metrics
from privacy_service.api.middleware import (
    BodySizeLimitMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from privacy_service.api.problems import document_problems, install_problem_handlers
from privacy_service.api.routes import (
    approvals,
    audit,
    auth,
    dsr,
    health,
    me,
    oauth,
    shop_events,
    subjects,
    systems,
    wellknown,
)
from privacy_service.api.routes.reference import router as reference_router
from privacy_service.connectors import Connector, WebhookConnector
from privacy_service.core.clock import Clock, SystemClock
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.identity.admission import LoginAdmission
from privacy_service.identity.credentials import Credentials
from privacy_service.keys.service import Keyring
from privacy_service.policy import Policies, load_policies
from privacy_service.web import install_web
from privacy_service.work import Workplace
from privacy_service.worker import build_worker

log = logging.getLogger(__name__)

# How long shutdown waits for the worker's job in flight before giving up on it.
WORKER_STOP_TIMEOUT_SECONDS = 30.0


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    keyring: Keyring | None = None,
    credentials: Credentials | None = None,
    policies: Policies | None = None,
    connector: Connector | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """Build the HTTP application.

    Nothing connects to the database until the server starts, and without a
    ``keyring`` the key provider is opened only then, so building the app
    (e.g. for its OpenAPI document) has no side effects. Without ``policies``
    they are loaded from the settings' directory at start-up (``serve`` loads
    them first, so a bad file stops it with its path and line); without a
    ``connector`` deliveries go out as Standard Webhooks over HTTP.
    """
    owns_engine = engine is None
    engine = engine or create_engine_for(settings)
    sessions = create_session_factory(engine)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.keyring is None:
            app.state.keyring = Keyring.from_settings(settings, clock=clock)
        owns_identity = app.state.credentials is None
        if owns_identity:
            app.state.credentials = Credentials.from_settings(
                settings, keyring=app.state.keyring, clock=clock
            )
        app.state.workplace = Workplace(sessions=app.state.sessions, clock=clock, keyring=app.state.keyring)
        try:
            with app.state.workplace.open() as work:
                app.state.credentials.tokens.ensure_active_key(session=work.session)
        except SQLAlchemyError:
            # Serve anyway: /readyz reports the database, and the first token signed makes the key.
            log.warning("could not ensure a token-signing key at start-up: the database is unreachable")
        delivering = connector if connector is not None else WebhookConnector()
        app.state.fulfilment = Fulfilment.from_settings(
            settings,
            policies=policies or load_policies(settings.effective_policies_dir, environ=os.environ),
            connector=delivering,
            keyring=app.state.keyring,
            emails=app.state.credentials.emails,
        )
        worker = None
        if run_worker:
            worker = build_worker(
                settings=settings, workplace=app.state.workplace, fulfilment=app.state.fulfilment
            )
            worker.start_in_thread()
        try:
            yield
        finally:
            # Uvicorn has already drained in-flight requests; now let the worker finish its job.
            if worker is not None:
                worker.stop()
                if not worker.join(WORKER_STOP_TIMEOUT_SECONDS):
                    log.warning("worker did not stop in time")
            if connector is None and isinstance(delivering, WebhookConnector):
                delivering.close()
            if owns_identity:
                app.state.credentials.close()
            if owns_engine:
                engine.dispose()

    app = FastAPI(
        title="privacy-service",
        version=privacy_service.__version__,
        summary="Delegated login, field-level encryption, a tamper-evident audit trail and "
        "data subject requests for online shops.",
        # GET /docs is api/routes/reference.py: FastAPI's own pages load Swagger UI and ReDoc from a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # No OpenTelemetry unless this service is built to send it: FastAPI would otherwise trace and
        # measure every request as soon as anything in the process sets a global provider, sending
        # request metadata wherever that provider points; and it asks on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.clock = clock
    app.state.keyring = keyring
    app.state.credentials = credentials
    app.state.fulfilment = None

    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(wellknown.router)
    app.include_router(oauth.router)
    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(subjects.router)
    app.include_router(approvals.router)
    app.include_router(audit.router)
    app.include_router(shop_events.router)
    app.include_router(dsr.router)
    app.include_router(systems.router)
    app.include_router(reference_router)
    install_web(app)  # the privacy center and the console: pages, in no OpenAPI document
    _describe_errors_as_problems(app)

    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(LoginAdmissionMiddleware, admission=lambda: _admission_of(app))
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    install_metrics(app)  # GET /metrics, and the outermost layer: it counts every answer
    return app


def _admission_of(app: FastAPI) -> LoginAdmission | None:
    credentials: Credentials | None = app.state.credentials
    return credentials.admission if credentials is not None else None


def _describe_errors_as_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI description of the app, independent of where it runs."""
    return create_app(settings).openapi()
