"""How a page answers a failure: an HTML page in the visitor's language, never a problem document or a trace.

Each area's router uses ``page_route(where)`` as its route class. A named
domain error becomes the error page with its status (the same status the API
answers with, from the error itself); ``NotAuthenticated`` (no session, or one
that timed out) becomes a redirect to the area's sign-in page; a form that
fails validation is a 400 page naming no value that was sent. Anything else is
left to the HTTP edge's last-resort handler (a logged 500 with a request id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from privacy_service.core.errors import DomainError
from privacy_service.core.logging import request_id_var
from privacy_service.identity.errors import NotAuthenticated
from privacy_service.web.visitors import Visitor, WebArea, visitor_of

log = logging.getLogger(__name__)


def page_route(where: WebArea) -> type[APIRoute]:
    """A route class for ``where``'s pages that answers failures as pages."""

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except NotAuthenticated:
                    return RedirectResponse(where.root + "/sign-in", status_code=303)
                except DomainError as error:
                    return _error_page(
                        request, where, status=error.status, code=error.code, retry_after=error.retry_after
                    )
                except RequestValidationError:
                    return _error_page(request, where, status=400, code="invalid_form", retry_after=None)

            return answer

    return PageRoute


def _error_page(
    request: Request, where: WebArea, *, status: int, code: str, retry_after: int | None
) -> Response:
    log.info("page refused: %s %s", status, code)
    # The visitor the route's dependency resolved, if it got that far: their session is not looked up twice.
    visitor: Visitor = getattr(request.state, "visitor", None) or visitor_of(request, where)
    response = visitor.page("error.html", status_code=status, code=code, request_id=request_id_var.get())
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
