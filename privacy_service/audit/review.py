"""An officer's review of the trail, the same through the API and the console: reads are recorded, and
verification runs with the deployment's checkpoint cadence and witness file.

Every read of the trail is itself an ``audit_read`` event in the reader's unit
of work, naming what was read and with which filters (ids and names only, no
personal data), so who looked at what stays on the record too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from privacy_service.audit import recorder
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.audit.canonical import format_instant
from privacy_service.audit.checkpoints import CheckpointCadence, public_keys
from privacy_service.audit.queries import EventFilter, EventView, iter_events
from privacy_service.audit.schemas import AuditEventItem, ExportFormat, PartyRef, csv_lines, jsonl_lines
from privacy_service.audit.verify import VerificationReport, verify_chain
from privacy_service.audit.witness import FileWitness
from privacy_service.core.config import Settings
from privacy_service.work import Work, Workplace

AUDIT_TRAIL = Party(type=PartyType.AUDIT_TRAIL, id="audit")


def record_read(work: Work, *, reader: Party, endpoint: str, **details: Any) -> None:
    """Put the read of ``endpoint`` on the record, with the filters or result in ``details``."""
    recorder.record(
        work,
        actor=reader,
        action=Action.AUDIT_READ,
        target=AUDIT_TRAIL,
        outcome=Outcome.SUCCESS,
        details={"endpoint": endpoint, **details},
    )


def event_item(view: EventView) -> AuditEventItem:
    """An event as the API, the console and the exports show it."""
    return AuditEventItem(
        id=view.id,
        seq=view.seq,
        at=format_instant(view.at),
        actor=PartyRef(type=view.actor_type, id=view.actor_id),
        action=view.action,
        target=PartyRef(type=view.target_type, id=view.target_id),
        outcome=view.outcome,
        request_id=view.request_id,
        hash=view.hash,
        prev_hash=view.prev_hash,
        sealed_at=None if view.sealed_at is None else format_instant(view.sealed_at),
        details=view.details,
        details_state=view.details_state,
        recorded_by=view.recorded_by,
    )


def export_filename(at: datetime, export_format: ExportFormat) -> str:
    """The export's file name, stamped with when it was asked for."""
    return f"audit-events-{at.strftime('%Y%m%dT%H%M%SZ')}.{export_format.value}"


def exported_events(
    workplace: Workplace, *, filters: EventFilter, export_format: ExportFormat
) -> Iterator[bytes]:
    """Every matching event, encoded, read in batches in a unit of work of its own: the reader's has
    committed (with its ``audit_read``) before the first byte is streamed."""
    encode = jsonl_lines if export_format is ExportFormat.JSONL else csv_lines

    def items() -> Iterator[AuditEventItem]:
        with workplace.open() as work:
            for view in iter_events(work, filters=filters):
                yield event_item(view)

    return encode(items())


def verify_trail(work: Work, *, settings: Settings, reader: Party) -> VerificationReport:
    """Check the whole chain, its checkpoints and the witness statements, and record that ``reader`` did."""
    cadence = CheckpointCadence(
        every_events=settings.audit_checkpoint_every, every_seconds=settings.audit_checkpoint_seconds
    )
    witness_file = settings.audit_witness_file
    report = verify_chain(
        session=work.session,
        public_keys=public_keys(work.session),
        cadence=cadence,
        now=work.clock.now(),
        witnessed=FileWitness(Path(witness_file)).statements() if witness_file is not None else (),
    )
    record_read(work, reader=reader, endpoint="verify", ok=report.ok, first_bad_seq=report.first_bad_seq)
    return report
