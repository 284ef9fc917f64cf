"""privacy-service: delegated login, field-level encryption, a tamper-evident audit trail and
data subject requests for online shops."""

__version__ = "0.1.0"
