"""What a data subject may ask for, and what a downstream system may be sent.

Two vocabularies, because a downstream system receives one more kind of
message than a subject can file: the ``notice`` (acknowledgement, extension,
rejection, completion) that the shop's mailer turns into an email.
"""

from __future__ import annotations

from enum import StrEnum


class RequestType(StrEnum):
    """A kind of data subject request (GDPR Art. 15 access, Art. 17 erasure)."""

    ACCESS = "access"
    ERASURE = "erasure"


class SystemRequestType(StrEnum):
    """A kind of message a downstream system is registered to receive."""

    ACCESS = "access"
    ERASURE = "erasure"
    NOTICE = "notice"
