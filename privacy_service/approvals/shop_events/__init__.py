"""Shop events: an operation a shop performed, recorded by its client into the tamper-evident trail.

``service.record_event`` checks the policy and the approval, honours the
``Idempotency-Key`` (``idempotency.py``) and writes the event through
``audit.recorder.record_shop_event``, all in the request's unit of work.
"""
