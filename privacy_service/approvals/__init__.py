"""The shop's own sensitive operations (issue 21): approvals bound to an operation, and the shop's events
recorded into the audit trail (``shop_events``)."""
