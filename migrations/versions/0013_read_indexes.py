"""Indexes for the audit trail's filters and for a system's latest tasks.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

The trail is listed by ``seq`` (``audit/queries.py``); filtered by action,
actor or target it scanned the whole chain in that order and kept the rows
that matched. With ``(action, seq)``, ``(actor_id, seq)`` and
``(target_id, seq)`` each filtered page, first or deep, is a range of one
index. ``(system, id)`` on ``dsr_tasks`` makes "the last tasks of one system"
a range read (task ids sort by creation time). The figures that keep them,
their cost on each audit append included, are in benchmarks/README.md.
Building them holds the trail's appends meanwhile: 2.7 s on a million events.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_audit_events_action_seq', 'audit_events', ['action', 'seq'], unique=False)
    op.create_index('ix_audit_events_actor_id_seq', 'audit_events', ['actor_id', 'seq'], unique=False)
    op.create_index('ix_audit_events_target_id_seq', 'audit_events', ['target_id', 'seq'], unique=False)
    op.create_index('ix_dsr_tasks_system_id', 'dsr_tasks', ['system', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dsr_tasks_system_id', table_name='dsr_tasks')
    op.drop_index('ix_audit_events_target_id_seq', table_name='audit_events')
    op.drop_index('ix_audit_events_actor_id_seq', table_name='audit_events')
    op.drop_index('ix_audit_events_action_seq', table_name='audit_events')
