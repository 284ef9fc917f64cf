"""The audit trail: the action vocabulary, ``record()``, the sealer, signed checkpoints and verification.

Services call ``record`` inside their own transaction; the worker seals
committed events into a SHA-256 hash chain and signs checkpoints of its head
with Ed25519; ``verify_chain`` recomputes it all and names the first break.
"""

from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.audit.checkpoints import (
    CheckpointCadence,
    ensure_signing_key,
    public_keys,
    rotate_signing_key,
    write_checkpoint,
)
from privacy_service.audit.recorder import open_details, record
from privacy_service.audit.sealer import seal_pending_events
from privacy_service.audit.verify import Problem, VerificationReport, verify_chain
from privacy_service.audit.witness import CheckpointStatement, FileWitness, MemoryWitness, Witness

__all__ = [
    "SYSTEM",
    "Action",
    "CheckpointCadence",
    "CheckpointStatement",
    "FileWitness",
    "MemoryWitness",
    "Outcome",
    "Party",
    "PartyType",
    "Problem",
    "VerificationReport",
    "Witness",
    "ensure_signing_key",
    "open_details",
    "public_keys",
    "record",
    "rotate_signing_key",
    "seal_pending_events",
    "verify_chain",
    "write_checkpoint",
]
