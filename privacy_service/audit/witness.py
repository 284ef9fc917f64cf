"""External witnesses: somewhere outside the database that keeps a copy of every checkpoint.

Someone who controls the database can delete the tail of the chain together
with the checkpoints that cover it; a copy they cannot reach (an append-only
file on other storage, a webhook to another party) still shows what the
chain's head was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from privacy_service.audit.canonical import format_instant
from privacy_service.audit.models import AuditCheckpoint


@dataclass(frozen=True, slots=True)
class CheckpointStatement:
    """A checkpoint as a witness keeps it: everything needed to check its signature."""

    number: int
    seq: int
    hash: str
    at: datetime
    key_id: str
    signature: bytes

    @classmethod
    def of(cls, checkpoint: AuditCheckpoint) -> CheckpointStatement:
        return cls(
            number=checkpoint.number,
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            at=checkpoint.at,
            key_id=checkpoint.key_id,
            signature=checkpoint.signature,
        )

    def to_json(self) -> dict[str, str | int]:
        return {
            "number": self.number,
            "seq": self.seq,
            "hash": self.hash,
            "at": format_instant(self.at),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, value: dict[str, str | int]) -> CheckpointStatement:
        return cls(
            number=int(value["number"]),
            seq=int(value["seq"]),
            hash=str(value["hash"]),
            at=datetime.fromisoformat(str(value["at"])),
            key_id=str(value["key_id"]),
            signature=bytes.fromhex(str(value["signature"])),
        )


class Witness(Protocol):
    def publish(self, statement: CheckpointStatement) -> None:
        """Keep a copy of ``statement``; raise if it could not be kept."""
        ...


class MemoryWitness:
    """A witness in process memory, for tests."""

    def __init__(self) -> None:
        self.statements: list[CheckpointStatement] = []

    def publish(self, statement: CheckpointStatement) -> None:
        self.statements.append(statement)


class FileWitness:
    """Appends one JSON line per checkpoint to a file (fsynced), e.g. on storage the database host cannot
    rewrite."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, statement: CheckpointStatement) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(statement.to_json(), sort_keys=True, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def statements(self) -> Iterator[CheckpointStatement]:
        """Every statement kept so far, oldest first."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as file:
            for line in file:
                if line.strip():
                    yield CheckpointStatement.from_json(json.loads(line))
