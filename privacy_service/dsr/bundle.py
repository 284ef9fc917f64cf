"""The export bundle that answers an access request (GDPR Art. 15, and Art. 20 in a machine-readable form).

A ZIP holding one ``data/<system>.json`` per system that answered,
``data/privacy-service.json`` (what this service holds: profile, records by
category, including consents a shop recorded as such, login history, and the
subject's requests), ``article15.json`` (what GDPR Art. 15(1)-(2) asks the
answer to say besides the data, drawn from ``policies/``: purposes, categories,
recipients with their country and transfer safeguard, retention, source,
automated decisions, rights and remedies), ``summary.html`` (the same, read
out in the subject's language from the shop's template), and
``manifest.json`` (every other file with its size and SHA-256, and how each
system answered), written last. It is written as a stream (``BundleWriter``):
one file at a time, each JSON file encoded as it is compressed, so no more
than one system's answer is in memory, into an ``exports.ExportFile`` that
seals it under the subject's data key a segment at a time. Erasing the
subject makes every copy of it unreadable.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import defer

from privacy_service.crypto import SEGMENT_SIZE
from privacy_service.documents import RetainedFact, SummaryFacts, SystemAnswer
from privacy_service.dsr.encryption import RESULT_COLUMN
from privacy_service.dsr.exports import ExportFile
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrRequest, DsrTask
from privacy_service.dsr.service import jurisdiction_country
from privacy_service.dsr.states import TaskStatus
from privacy_service.dsr.systems import describe_systems
from privacy_service.identity.sessions import list_sessions
from privacy_service.keys.fields import SubjectFields
from privacy_service.policy.article15 import article15_information
from privacy_service.policy.systems import OWN_SYSTEM
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work

MANIFEST = "manifest.json"
# A fixed time for every entry, so the same content gives the same bytes (and the same digest).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Encoded text is handed to the compressor in pieces of about this many characters.
_JSON_PIECE = 64 * 1024


def _instant(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot export {type(value).__name__}")


_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False, sort_keys=True, default=_instant)


def _json_pieces(value: Any) -> Iterator[bytes]:
    """``value`` as indented JSON in UTF-8, encoded as it goes, in pieces of about ``_JSON_PIECE``."""
    pending: list[str] = []
    length = 0
    for text in _ENCODER.iterencode(value):
        pending.append(text)
        length += len(text)
        if length >= _JSON_PIECE:
            yield "".join(pending).encode()
            pending, length = [], 0
    yield "".join(pending).encode()


def own_data(work: Work, *, subject_id: str, profile: ProfileFields) -> dict[str, Any]:
    """What privacy-service itself holds about the subject, whose ``profile`` the caller has read."""
    records = {
        category: vault.get_record(work, subject_id=subject_id, category=category)
        for category in vault.list_categories(work, subject_id=subject_id)
    }
    logins = [
        {
            "session_id": view.id,
            "client_id": view.client_id,
            "signed_in_at": view.created_at,
            "last_used_at": view.last_used_at,
            "ended_at": view.revoked_at,
            "methods": [str(method) for method in view.amr],
            "user_agent": view.user_agent,
        }
        for view in list_sessions(work, user_id=subject_id, include_ended=True)
    ]
    requests = [
        {
            "id": row.id,
            "type": row.type,
            "status": row.status,
            "received_at": row.received_at,
            "due_at": row.due_at,
            "completed_at": row.completed_at,
        }
        for row in work.session.scalars(
            select(DsrRequest).where(DsrRequest.subject_id == subject_id).order_by(DsrRequest.received_at)
        )
    ]
    return {
        "profile": profile.model_dump(mode="json"),
        "records": records,
        "consents": records.get("consent"),
        "login_history": logins,
        "requests": requests,
    }


@dataclass(frozen=True)
class SystemPart:
    system: str
    status: str
    data: dict[str, Any] | None
    retained: list[dict[str, Any]]
    error: str | None


class BundleSink(Protocol):
    """Where the ZIP goes: an ``exports.ExportFile``, or a ``BytesIO`` in tests; only written to, in order."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


@dataclass(frozen=True)
class BundleFile:
    path: str
    size: int
    sha256: str


class _Unseekable:
    """``sink`` with nothing but ``write``: zipfile then never seeks back, whatever the sink could do, and
    streams each entry with its sizes after the data (a data descriptor), so any sink gets the same bytes.

    Once detached, it passes nothing on: a ``ZipFile`` left behind by a failed
    build closes itself when it is collected, and what it writes then must not
    reach the sink (sealed into segments, inserted into some later transaction).
    """

    def __init__(self, sink: BundleSink) -> None:
        self._sink: BundleSink | None = sink

    def write(self, data: bytes, /) -> int:
        if self._sink is not None:
            self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        if self._sink is not None:
            self._sink.flush()

    def close(self) -> None:
        """zipfile never closes a file it was given; the sink's owner does."""

    def detach(self) -> None:
        self._sink = None


class BundleWriter:
    """Writes the bundle's ZIP into ``sink`` a file at a time, each streamed through; the manifest last.

    No file is held whole: each is compressed as it is written, and its size
    and SHA-256 are counted on the way for ``manifest.json``, which ``finish``
    writes once every other file is in. The same calls with the same values
    write the same bytes. Use it as a context manager: leaving the block
    detaches the sink, so a build that fails half way writes nothing more.
    """

    def __init__(self, sink: BundleSink) -> None:
        self._out = _Unseekable(sink)
        self._archive = zipfile.ZipFile(self._out, "w", compression=zipfile.ZIP_DEFLATED)
        self._files: list[BundleFile] = []

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self._out.detach()

    def add_json(self, path: str, value: Any) -> None:
        """``value`` as indented JSON (instants as RFC 3339), encoded as it is written."""
        self._add(path, _json_pieces(value))

    def add_bytes(self, path: str, content: bytes) -> None:
        self._add(path, [content])

    def finish(self, *, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json``: ``manifest`` with every file written so far, then the ZIP's directory."""
        files = [
            {"path": file.path, "size": file.size, "sha256": file.sha256}
            for file in sorted(self._files, key=lambda file: file.path)
        ]
        self._add(MANIFEST, _json_pieces({**manifest, "files": files}), listed=False)
        self._archive.close()

    def _add(self, path: str, pieces: Iterable[bytes], *, listed: bool = True) -> None:
        entry = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        digest, size = hashlib.sha256(), 0
        # force_zip64=False: one file over 2 GiB is refused when it closes, never written wrong.
        with self._archive.open(entry, "w", force_zip64=False) as member:
            for piece in pieces:
                member.write(piece)
                digest.update(piece)
                size += len(piece)
        if listed:
            self._files.append(BundleFile(path=path, size=size, sha256=digest.hexdigest()))


#: The Art. 15 document of a subject, given the systems that returned data about them (policy.article15).
Article15 = Callable[[Sequence[str]], dict[str, Any]]
#: The summary page, given how each system answered and the Art. 15 document (documents.SubjectTexts).
Summary = Callable[[Sequence[SystemPart], dict[str, Any]], str]


def build_bundle(
    sink: BundleSink,
    *,
    request: DsrRequest,
    generated_at: datetime,
    own: dict[str, Any],
    systems: Iterable[SystemPart],
    article15: Article15,
    summary: Summary,
) -> None:
    """Write the bundle into ``sink``, taking ``systems`` one at a time; same inputs, same bytes.

    ``article15.json`` and ``summary.html`` are written once every system's
    answer is in, so they name the systems that did return data.
    """
    with BundleWriter(sink) as writer:
        writer.add_json(f"data/{OWN_SYSTEM}.json", own)
        answers: list[SystemPart] = []
        holders: list[str] = []
        for part in systems:
            if part.data is not None:
                writer.add_json(f"data/{part.system}.json", {"data": part.data, "retained": part.retained})
            if part.data:
                holders.append(part.system)
            answers.append(replace(part, data=None))  # what it said is written; how it answered is kept
            del part  # let this answer go before the next one is read
        information = article15(holders)
        writer.add_json("article15.json", information)
        writer.add_bytes("summary.html", summary(answers, information).encode())
        writer.finish(
            manifest={
                "request_id": request.id,
                "subject_id": request.subject_id,
                "jurisdiction": request.jurisdiction,
                "received_at": request.received_at,
                "generated_at": generated_at,
                "systems": [
                    {
                        "system": part.system,
                        "status": part.status,
                        "retained": part.retained,
                        "error": part.error,
                    }
                    for part in answers
                ],
            }
        )


def store_export(
    work: Work, *, fulfilment: Fulfilment, request: DsrRequest, segment_size: int = SEGMENT_SIZE
) -> DsrExport:
    """Build the bundle of a finished access request and store it sealed, downloadable until it expires.

    What may refuse (the subject's key, their profile: erased meanwhile) is
    read before the first byte is written, and the bundle is written in a
    savepoint: it is stored whole or not at all.
    """
    results = work.subject_fields(table=DsrTask.__tablename__, subject_id=request.subject_id)
    profile = vault.read_profile(work, subject_id=request.subject_id)
    own = own_data(work, subject_id=request.subject_id, profile=profile)
    now = work.clock.now()
    categories = {
        system.name: system.categories
        for system in describe_systems(session=work.session, policies=fulfilment.policies)
    }

    def article15(holders: Sequence[str]) -> dict[str, Any]:
        return article15_information(
            fulfilment.policies,
            jurisdiction=request.jurisdiction,
            country=jurisdiction_country(profile),
            systems={name: categories.get(name, ()) for name in holders},
        )

    def summary(answers: Sequence[SystemPart], information: dict[str, Any]) -> str:
        facts = summary_facts(request=request, generated_at=now, answers=answers, article15=information)
        return fulfilment.texts.summary(language=profile.locale, facts=facts).html

    with work.savepoint():
        file = ExportFile(
            work,
            request=request,
            created_at=now,
            expires_at=now + fulfilment.export_lifetime,
            segment_size=segment_size,
        )
        build_bundle(
            file,
            request=request,
            generated_at=now,
            own=own,
            systems=_system_parts(work, results=results, request_id=request.id),
            article15=article15,
            summary=summary,
        )
        file.close()
    return file.export


def summary_facts(
    *, request: DsrRequest, generated_at: datetime, answers: Sequence[SystemPart], article15: dict[str, Any]
) -> SummaryFacts:
    """What the summary page of this bundle may say."""
    return SummaryFacts(
        request_id=request.id,
        received_at=request.received_at,
        generated_at=generated_at,
        own_system=OWN_SYSTEM,
        systems=tuple(_answered(part) for part in answers),
        article15=article15,
    )


def _answered(part: SystemPart) -> SystemAnswer:
    retained = tuple(
        RetainedFact(
            system=part.system, category=item["category"], reason=item["reason"], until=item.get("until")
        )
        for item in part.retained
    )
    return SystemAnswer(system=part.system, status=part.status, retained=retained)


def _system_parts(work: Work, *, results: SubjectFields, request_id: str) -> Iterator[SystemPart]:
    """Each task's part in system order, its answer read and opened only when its turn comes."""
    tasks = work.session.scalars(
        select(DsrTask)
        .options(defer(DsrTask.result))  # read one at a time, below
        .where(DsrTask.request_id == request_id)
        .order_by(DsrTask.system)
    ).all()
    for task in tasks:
        # Built in a function of its own: nothing here still holds one answer while the next is read.
        yield _system_part(work, results=results, task=task)


def _system_part(work: Work, *, results: SubjectFields, task: DsrTask) -> SystemPart:
    sealed = work.session.scalar(select(DsrTask.result).where(DsrTask.id == task.id))
    data = results.open_json(RESULT_COLUMN, sealed) if sealed is not None else None
    if data is None and task.status == TaskStatus.COMPLETED.value:
        data = {}
    return SystemPart(
        system=task.system,
        status=task.status,
        data=data,
        retained=json.loads(task.retained) if task.retained else [],
        error=task.last_error,
    )
