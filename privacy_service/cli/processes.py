"""Running the service: serve (API and worker), worker alone, migrate, openapi."""

from __future__ import annotations

import gc
import json
import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType

import click

from privacy_service.cli.bootstrap import (
    EXIT_USAGE,
    announce_storage,
    database_errors,
    fail,
    open_keyring,
    policies_or_exit,
    prepare_data_dir,
    ready_engine,
    settings_or_exit,
)
from privacy_service.core import migrations
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.core.logging import configure_logging

log = logging.getLogger("privacy_service.cli")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--no-worker", is_flag=True, help="Run only the HTTP API; run `privacy-service worker` apart.")
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option("--ssl-keyfile-password", default=None, help="Password of the TLS private key.")
@click.option(
    "--ssl-ca-certs", type=click.Path(exists=True, dir_okay=False), help="CA bundle for client certs."
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxies trusted to set X-Forwarded-Proto/For (comma-separated IPs).",
)
def serve(
    host: str,
    port: int,
    no_worker: bool,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    ssl_keyfile_password: str | None,
    ssl_ca_certs: str | None,
    forwarded_allow_ips: str | None,
) -> None:
    """Run the HTTP API and, unless --no-worker, the background worker in the same process."""
    import uvicorn

    from privacy_service.api.malformed_requests import ProblemHttpToolsProtocol
    from privacy_service.main import create_app

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    if bool(ssl_certfile) != bool(ssl_keyfile):
        fail("--ssl-certfile and --ssl-keyfile go together", exit_code=EXIT_USAGE)
    if settings.public_url is None:
        scheme = "https" if ssl_certfile else "http"
        settings = settings.model_copy(update={"public_url": f"{scheme}://{host}:{port}"})
    policies = policies_or_exit(settings)
    engine = ready_engine(settings, migrate_embedded=True, create=True)
    keyring = open_keyring(settings)
    app = create_app(
        settings,
        engine=engine,
        keyring=keyring,
        policies=policies,
        clock=SystemClock(),
        run_worker=not no_worker,
    )
    log.info("serving", extra={"host": host, "port": port, "worker": not no_worker})
    # Uvicorn traps SIGTERM/SIGINT: it stops accepting, finishes in-flight requests,
    # then runs the app's shutdown, which stops the worker after its current job.
    # Afterwards it re-raises the signal to the handler found before it; a quiet one
    # lets a graceful stop end with exit status 0 instead of death by signal.
    _on_signals(lambda: None, signal.SIGTERM, signal.SIGINT)
    _tune_interpreter_for_serving()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        http=ProblemHttpToolsProtocol,  # a request uvicorn cannot parse gets a problem and a request id
        timeout_graceful_shutdown=30,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        ssl_keyfile_password=ssl_keyfile_password,
        ssl_ca_certs=ssl_ca_certs,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
    )


#: Container objects allocated (net) before the youngest generation is collected (CPython's default: 700).
GC_YOUNGEST_THRESHOLD = 50_000
#: How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms).
GIL_SWITCH_SECONDS = 0.0005


def _tune_interpreter_for_serving() -> None:
    """Keep the event loop answering within milliseconds while thousands of requests a second arrive.

    The collector: everything loaded so far (modules, the app, its routes and
    schemas) lives as long as the process, and ``gc.freeze`` takes it out of
    every collection; with CPython's default threshold the objects of requests
    in flight outlive several young collections, reach the oldest generation
    and set off full collections of the whole heap, each a pause of tens of
    milliseconds, so the young generation is collected less often and they
    die young. Objects without cycles are freed by reference counting either
    way, so memory barely moves.

    The GIL: a request thread doing a login's database work holds it for up to
    the switch interval before the event loop gets it back; at 0.5 ms instead
    of 5 ms the loop refuses a flood without waiting behind it.

    Measured with ``benchmarks/login.py``'s flood on two cores: no full
    collection in 20 s instead of pauses of 10-20 ms, and the p99 of refusals
    187 ms → ~105 ms (collector) → 70-87 ms (switch interval).
    """
    _youngest, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, middle, oldest)
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


@click.command()
def worker() -> None:
    """Run the background worker alone (fan-out, retries, audit sealing); stops cleanly on SIGTERM."""
    from privacy_service.connectors import WebhookConnector
    from privacy_service.dsr.fulfilment import Fulfilment
    from privacy_service.vault.lookup import email_index
    from privacy_service.work import Workplace
    from privacy_service.worker import build_worker

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    policies = policies_or_exit(settings)
    engine = ready_engine(settings, migrate_embedded=False)
    keyring = open_keyring(settings)
    connector = WebhookConnector()
    fulfilment = Fulfilment.from_settings(
        settings,
        policies=policies,
        connector=connector,
        keyring=keyring,
        emails=email_index(keyring.provider),
    )
    workplace = Workplace(sessions=create_session_factory(engine), clock=SystemClock(), keyring=keyring)
    loop = build_worker(settings=settings, workplace=workplace, fulfilment=fulfilment)
    _on_signals(lambda: loop.stop(), signal.SIGTERM, signal.SIGINT)
    loop.run()
    connector.close()
    engine.dispose()


def _on_signals(action: Callable[[], None], *signals: signal.Signals) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        action()

    for each in signals:
        signal.signal(each, handler)


@click.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    announce_storage(settings)
    prepare_data_dir(settings)
    engine = create_engine_for(settings)
    with database_errors():
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    engine.dispose()
    if before == after:
        click.echo(f"database schema already at {after}")
    else:
        click.echo(f"database schema migrated from {before or 'empty'} to {after}")


@click.command()
def openapi() -> None:
    """Print the OpenAPI document (redirect it to openapi/openapi.json)."""
    from privacy_service.main import openapi_document

    document = openapi_document(settings_or_exit())
    click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
