"""The export bundle: the same answers give the same bytes, a truthful manifest written last, an inert
summary, and one system's answer at a time."""

from __future__ import annotations

import copy
import gc
import hashlib
import io
import json
import weakref
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from privacy_service.documents import SubjectTexts
from privacy_service.documents.summary import SAMPLE_SUMMARY
from privacy_service.dsr.bundle import BundleWriter, SystemPart, build_bundle, summary_facts
from privacy_service.dsr.models import DsrRequest

RECEIVED_AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
GENERATED_AT = datetime(2026, 1, 16, 9, 30, tzinfo=UTC)
OWN = {"profile": {"email": "ada@example.net", "given_name": "Ada"}, "records": {}, "login_history": []}
HOSTILE_SYSTEM = "<script>alert('system')</script>"
HOSTILE_REASON = "<img src=x onerror=alert(1)> & HGB §257"


def request() -> DsrRequest:
    return DsrRequest(id="01REQUEST", type="access", status="completed", subject_id="01SUBJECT",
                      jurisdiction="eu_gdpr", received_at=RECEIVED_AT, due_at=RECEIVED_AT,
                      filed_by_type="user", filed_by_id="01SUBJECT")  # fmt: skip


def parts() -> list[SystemPart]:
    return [
        SystemPart(system="orders", status="completed", data={"orders": [{"id": "o-1", "total": "12.50"}]},
                   retained=[], error=None),
        SystemPart(system="invoices", status="completed", data={"invoices": ["R-2025-17"]}, error=None,
                   retained=[{"category": "invoices", "reason": "HGB §257", "until": "2036-12-31"}]),
        SystemPart(system="mailing", status="failed", data=None, retained=[],
                   error="timed out; no attempt left before the deadline"),
    ]  # fmt: skip


TEXTS = SubjectTexts(Path(__file__).resolve().parents[3] / "policies" / "notices")


def article15(holders: Sequence[str]) -> dict[str, Any]:
    """The sample Art. 15 document, naming the systems that returned data as its recipients."""
    document = copy.deepcopy(SAMPLE_SUMMARY.article15)
    document["recipients"] = [{**document["recipients"][1], "name": name} for name in holders]
    return document


def summary(answers: Sequence[SystemPart], information: dict[str, Any]) -> str:
    facts = summary_facts(
        request=request(), generated_at=GENERATED_AT, answers=answers, article15=information
    )
    return TEXTS.summary(language="en", facts=facts).html


def bundle(*, own: dict[str, Any] = OWN, systems: Iterable[SystemPart] | None = None) -> bytes:
    sink = io.BytesIO()
    build_bundle(sink, request=request(), generated_at=GENERATED_AT, own=own,
                 systems=parts() if systems is None else systems,
                 article15=article15, summary=summary)  # fmt: skip
    return sink.getvalue()


def files(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_same_request_and_answers_give_the_same_bytes() -> None:
    first = bundle()
    assert bundle(own=dict(OWN), systems=iter(parts())) == first
    assert bundle(systems=parts()[:1]) != first


def test_the_manifest_lists_every_other_file_with_its_true_size_and_sha256() -> None:
    content = files(bundle())
    manifest = json.loads(content.pop("manifest.json"))
    listed = {item["path"]: item for item in manifest["files"]}
    assert set(listed) == set(content)
    assert set(content) == {
        "article15.json",
        "summary.html",
        "data/privacy-service.json",
        "data/orders.json",
        "data/invoices.json",
    }
    for path, data in content.items():
        assert listed[path]["size"] == len(data), path
        assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest(), path


def test_the_manifest_says_how_each_system_answered_and_what_it_keeps() -> None:
    content = files(bundle())
    manifest: dict[str, Any] = json.loads(content["manifest.json"])
    by_system = {item["system"]: item for item in manifest["systems"]}
    assert by_system["mailing"]["status"] == "failed"
    assert "timed out" in by_system["mailing"]["error"]
    assert by_system["invoices"]["retained"] == [
        {"category": "invoices", "reason": "HGB §257", "until": "2036-12-31"}
    ]
    assert json.loads(content["data/orders.json"])["data"]["orders"][0]["id"] == "o-1"
    assert json.loads(content["data/privacy-service.json"])["profile"]["email"] == "ada@example.net"


def test_the_summary_escapes_html_in_system_names_and_in_what_they_said() -> None:
    hostile = [
        SystemPart(system=HOSTILE_SYSTEM, status="completed", data={}, error=None, retained=[
            {"category": "<b>invoices</b>", "reason": HOSTILE_REASON, "until": "<i>2036</i>"},
        ]),
    ]  # fmt: skip
    content = files(bundle(systems=hostile))
    summary = content["summary.html"].decode()
    assert "<script>" not in summary
    assert "<img" not in summary
    assert "<b>invoices" not in summary
    assert "<i>2036" not in summary
    assert "&lt;script&gt;alert(&#39;system&#39;)&lt;/script&gt;" in summary
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; HGB §257" in summary


def test_article15_names_the_systems_that_returned_data_and_the_summary_reads_it_out() -> None:
    content = files(bundle())
    information = json.loads(content["article15.json"])
    assert [recipient["name"] for recipient in information["recipients"]] == ["orders", "invoices"]
    page = content["summary.html"].decode()
    assert "Who receives it" in page
    assert "<td>orders</td><td>answered</td>" in page
    assert "<td>mailing</td><td>could not answer</td>" in page


def test_the_manifest_is_written_last_and_every_file_streams_with_a_data_descriptor() -> None:
    with zipfile.ZipFile(io.BytesIO(bundle())) as archive:
        entries = archive.infolist()
    assert [entry.filename for entry in entries] == [
        "data/privacy-service.json",
        "data/orders.json",
        "data/invoices.json",
        "article15.json",
        "summary.html",
        "manifest.json",
    ]
    assert all(entry.flag_bits & 0x08 for entry in entries), "sizes follow the data: nothing was sought back"
    assert all(entry.compress_type == zipfile.ZIP_DEFLATED for entry in entries)


def test_json_files_are_the_indented_json_of_their_value_however_long() -> None:
    long_answer = {"orders": [{"id": f"o-{n}", "note": "ß" * (n % 50)} for n in range(20_000)]}
    many = [SystemPart(system="orders", status="completed", data=long_answer, retained=[], error=None)]
    content = files(bundle(systems=many))
    assert len(content["data/orders.json"]) > 1_000_000, "encoded in many pieces"
    assert (
        content["data/orders.json"]
        == json.dumps(
            {"data": long_answer, "retained": []}, indent=2, ensure_ascii=False, sort_keys=True
        ).encode()
    )


class Answer(dict[str, Any]):
    """A system's answer that a weak reference can follow."""


def test_each_systems_answer_is_let_go_before_the_next_is_read() -> None:
    alive: list[weakref.ref[Answer]] = []
    held_when_read: list[int] = []

    def answers() -> Iterator[SystemPart]:
        for name in ("a", "b", "c", "d"):
            gc.collect()
            held_when_read.append(sum(ref() is not None for ref in alive))
            answer = Answer(items=[name] * 1000)
            alive.append(weakref.ref(answer))
            yield SystemPart(system=name, status="completed", data=answer, retained=[], error=None)
            del answer

    content = files(bundle(systems=answers()))
    assert held_when_read == [0, 0, 0, 0]
    assert json.loads(content["data/d.json"])["data"] == {"items": ["d"] * 1000}


def test_the_writer_lists_what_was_added_in_the_manifest_it_writes_last() -> None:
    sink = io.BytesIO()
    writer = BundleWriter(sink)
    writer.add_bytes("summary.html", b"<p>hello</p>")
    writer.add_json("article15.json", {"at": GENERATED_AT, "purposes": ["orders"]})
    writer.finish(manifest={"request_id": "01REQUEST"})
    content = files(sink.getvalue())
    manifest = json.loads(content["manifest.json"])
    assert manifest["request_id"] == "01REQUEST"
    assert [item["path"] for item in manifest["files"]] == ["article15.json", "summary.html"]
    assert json.loads(content["article15.json"]) == {"at": "2026-01-16T09:30:00Z", "purposes": ["orders"]}


class CountingSink(io.BytesIO):
    """A sink that counts what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: Any, /) -> int:
        self.writes += 1
        return super().write(data)


def test_a_build_that_fails_half_way_writes_nothing_more_even_when_its_zip_is_collected() -> None:
    sink = CountingSink()

    def failing() -> Iterator[SystemPart]:
        yield parts()[0]
        raise RuntimeError("the next answer could not be read")

    with pytest.raises(RuntimeError, match="could not be read"):
        build_bundle(sink, request=request(), generated_at=GENERATED_AT, own=OWN, systems=failing(),
                     article15=article15, summary=summary)  # fmt: skip
    writes = sink.writes
    gc.collect()  # a ZipFile closes itself when collected, writing its directory
    assert sink.writes == writes
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(sink.getvalue()))
