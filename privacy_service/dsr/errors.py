"""What can go wrong with a data subject request, each with a stable code (mapped once in api/problems.py)."""

from __future__ import annotations

from privacy_service.core.errors import Conflict, DomainError, NotFound


class DsrError(DomainError):
    code = "dsr_error"


class RequestNotFound(NotFound):
    """No such request, or one the caller may not see (the two are not told apart)."""

    code = "not_found"
    title = "No such data subject request"


class TaskNotFound(NotFound):
    code = "not_found"
    title = "No such task"


class SubjectUnknown(NotFound):
    code = "subject_not_found"
    title = "No such data subject"


class SubjectIdRequired(DsrError):
    code = "validation_error"
    status = 422
    title = "A shop files a request on a subject's behalf: subject_id is required"


class RecentLoginRequired(DsrError):
    """GDPR Art. 12(6): the controller must be sure of the requester; a recent sign-in proves it here."""

    code = "recent_login_required"
    status = 403
    title = "Sign in again to file this request"


class SecondFactorRequired(DsrError):
    code = "mfa_required"
    status = 403
    title = "Sign in with your second factor to file this request"


class RequestAlreadyOpen(Conflict):
    """GDPR Art. 12(5): a request repeated while the same one is open is excessive; the open one answers it.

    The problem names the open request (``open_request_id``), so a shop that retried
    a filing after a lost answer finds the request it already made.
    """

    code = "request_already_open"
    title = "A request of this type is already open for this subject"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "The request is not in a state that allows this"


class RejectionDetailRequired(DsrError):
    """GDPR Art. 12(4): the subject is told why; "other" says nothing until the officer writes it."""

    code = "rejection_detail_required"
    status = 422
    title = "A rejection for another reason must say what it is in detail"


class ExtensionNotAllowed(Conflict):
    """The law allows no extension here, the first period is over, or the request was extended already."""

    code = "extension_not_allowed"
    title = "This request's deadline cannot be extended"


class ExportNotReady(Conflict):
    code = "export_not_ready"
    title = "The export is not ready"


class ExportExpired(DsrError):
    code = "export_expired"
    status = 410
    title = "The export has expired and was deleted"


class CallbackRefused(DsrError):
    """A signed callback refused; its audit event (``dsr_callback_refuse``) commits with the refusal.

    The signature proves which system sent it, so a refusal here is a system's
    mistake or a captured callback replayed: either way an officer must see it.
    """

    code = "callback_refused"
    status = 409
    title = "The callback was refused"


class CallbackReplayed(CallbackRefused):
    code = "callback_replayed"
    title = "This webhook-id was already received from this system"


class CallbackForAnotherTask(CallbackRefused):
    """The body's ``task_id`` is not the task of the URL: the signature covers the body, not the URL."""

    code = "callback_task_mismatch"
    title = "The callback names another task"


class CallbackTaskIdMissing(CallbackRefused):
    code = "callback_task_id_required"
    status = 422
    title = "The callback must name its task_id"


class TaskClosed(CallbackRefused):
    code = "task_closed"
    title = "The task has already ended"


class SystemExists(Conflict):
    code = "system_exists"
    title = "A downstream system with this name exists"


class SystemNotFound(NotFound):
    code = "not_found"
    title = "No such downstream system"


class SystemDeclaredInPolicies(Conflict):
    code = "system_in_policies"
    title = "This system is declared in policies/; change it there"


class InvalidSystem(DsrError):
    code = "validation_error"
    status = 422
    title = "The downstream system is not valid"
