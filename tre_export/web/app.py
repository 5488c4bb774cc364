"""The checkers' web page (Starlette, Jinja2 templates rendered on the server).

Pages: sign-in; the queue of requests; one request with each output, its automated
evidence (a table is rendered with the flagged cells highlighted) and the reviews so
far; approve, reject or return with a reason; comment; agree a consensus where the
checkers disagree; return the whole request; and, for researchers, open a request,
upload outputs, submit and resubmit. Every action goes through the same function as on
the command line (``review_output``, ``agree_consensus``, ``add_comment``, ...), signed
with the signed-in person's delegated web key.

Sign-in is rate limited and locked out for a while after repeated failures, per account
name and per client address (``throttle``); every attempt, right or wrong, is written to
the hash-chained sign-in log beside the audit log, never with the password
(``sign_in_log``).

Hardening: session cookies are HttpOnly and SameSite=Strict and carry only a random
session id (the unwrapped web key stays in server memory); every form carries a
per-session CSRF token; the session id is replaced at sign-in; output files are looked
up by name among the request's recorded outputs, never joined from user input; only
the Host names given are served (against DNS rebinding); responses forbid framing,
scripts and caching.
"""

from __future__ import annotations

import hmac
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from sdc.tablefile import decision_record_path as sdc_record_path
from tre_export.area import ExportArea, validate_output_name
from tre_export.checks import OutputCheck, RequestChecks, load_checks
from tre_export.dates import readable_time
from tre_export.errors import (
    AuditLogError,
    ExportError,
    OverrideNeededError,
    OverrideNotAllowedError,
)
from tre_export.evidence import (
    decision_record_name,
    project_policy_path,
    read_decision_record,
    read_model,
    table_evidence,
)
from tre_export.model import CheckOutcome, Decision, OutputKind, OutputStatus, RequestStatus, Role
from tre_export.model import Request as ExportRequest
from tre_export.queue import may_see, queue_rows
from tre_export.release import release_request
from tre_export.request import add_output, new_request, resubmit_output, submit_request
from tre_export.review import add_comment, agree_consensus, return_output, review_output
from tre_export.state import ProjectState, read_state, verify_area
from tre_export.web.accounts import WebSession, sign_in
from tre_export.web.sign_in_log import record_sign_in
from tre_export.web.throttle import SignInThrottle

__all__ = ["create_app"]

_HERE = Path(__file__).resolve().parent
_SESSION_HOURS = 8
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",  # shown through <img>, where an SVG's scripts never run
}
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_DECISIONS = {"approve": Decision.APPROVE, "reject": Decision.REJECT}


class _Sessions:
    """Signed-in sessions in server memory: session id -> (web session, expiry). The
    unwrapped web keys live only here, and are dropped at sign-out or expiry."""

    def __init__(self) -> None:
        self.by_id: dict[str, tuple[WebSession, float]] = {}

    def start(self, web: WebSession) -> str:
        session_id = secrets.token_urlsafe(32)
        self.by_id[session_id] = (web, time.monotonic() + _SESSION_HOURS * 3600)
        return session_id

    def end(self, request: Request) -> None:
        self.by_id.pop(str(request.session.get("sid")), None)

    def current(self, request: Request) -> WebSession | None:
        session_id = request.session.get("sid")
        found = self.by_id.get(session_id) if isinstance(session_id, str) else None
        if found is None:
            return None
        web, expiry = found
        if time.monotonic() > expiry:
            self.end(request)
            return None
        return web


def _csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def _check_token(request: Request, form: FormData) -> None:
    """Refuse a form whose CSRF token is missing or differs from the session's."""
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise HTTPException(403, "missing form token; reload the page")
    if not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "stale or forged form token; reload the page")


async def _form(request: Request) -> dict[str, str]:
    """The submitted form, after checking its CSRF token against the session's."""
    form = await request.form()
    _check_token(request, form)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _typed_decision(output: str, form: dict[str, str]) -> dict[str, str]:
    """What a checker typed with a decision, to put back in the form after a refusal."""
    return {
        "output": output,
        "reason": form.get("reason", ""),
        "override": form.get("override", ""),
    }


def _done(request: Request, request_id: str, notice: str) -> Response:
    """Back to the request's page (303), which shows ``notice`` once."""
    request.session["notice"] = notice
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def create_app(
    area: ExportArea,
    *,
    allowed_hosts: list[str] | None = None,
    outbox_root: Path | None = None,
    throttle: SignInThrottle | None = None,
) -> Starlette:
    """The web application for one export area.

    With ``outbox_root`` checkers can also release from the page, into
    ``outbox_root/REQUEST_ID`` (a path made from the validated request id only).
    ``throttle`` holds the sign-in limits (the defaults of ``SignInLimits`` if None).
    """
    limiter = throttle or SignInThrottle()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["readable_time"] = readable_time
    templates = Jinja2Templates(env=environment)
    sessions = _Sessions()

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        context.setdefault("web", sessions.current(request))
        context.setdefault("error", None)
        context["csrf"] = _csrf_token(request)
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def signed_in(request: Request) -> WebSession:
        web = sessions.current(request)
        if web is None:
            raise HTTPException(303, headers={"Location": "/login"})
        return web

    async def login_page(request: Request) -> Response:
        return page(request, "login.html")

    async def login(request: Request) -> Response:
        form = await _form(request)
        name = form.get("name", "")
        address = request.client.host if request.client else "unknown"
        state = read_state(area)
        enrolled = state.active_by_name(name)
        account = enrolled.name if enrolled is not None else None

        def log(event: str, detail: str = "") -> None:
            record_sign_in(area, event=event, account=account, address=address, detail=detail)

        verdict = limiter.check(name, address)
        if not verdict.allowed:
            if verdict.log:
                log("refused", f"{verdict.reason}; {verdict.refused} attempt(s) refused")
            minutes = max(1, round(verdict.retry_after / 60))
            response = page(
                request,
                "login.html",
                status_code=429,
                error=f"too many sign-in attempts; try again in {minutes} minute(s)",
            )
            response.headers["Retry-After"] = str(max(1, round(verdict.retry_after)))
            return response
        try:
            web = sign_in(area, state, name=name, password=form.get("password", ""))
        except ExportError as error:
            locked = limiter.failed(name, address)
            log("locked" if locked else "failed")
            return page(request, "login.html", status_code=401, error=str(error))
        limiter.succeeded(name, address)
        log("signed-in")
        request.session.clear()  # a fresh session id and token at sign-in
        request.session["sid"] = sessions.start(web)
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        await _form(request)
        sessions.end(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def queue(request: Request) -> Response:
        return _queue_view(request)

    def _queue_view(
        request: Request, *, error: str | None = None, status_code: int = 200
    ) -> Response:
        web = signed_in(request)
        # What `trelink export audit` checks, on every load: chain, head, signatures, rules.
        verification = verify_area(area)
        if not verification.passed:
            raise AuditLogError(str(area.log_path), verification.problems)
        state = verification.state
        visible = queue_rows(state, web.person)
        # Filters come from the query string and only ever select among visible rows.
        wanted = request.query_params.get("status", "")
        status = wanted if wanted in RequestStatus.__members__.values() else ""
        search = request.query_params.get("q", "").strip()[:200]
        rows = queue_rows(
            state, web.person, status=RequestStatus(status) if status else None, search=search
        )
        order = ("submitted", "draft", "released")
        counts = {name: sum(row.status == name for row in visible) for name in order}
        return page(
            request,
            "queue.html",
            status_code=status_code,
            error=error,
            notice=request.session.pop("notice", None),
            web=web,
            rows=rows,
            project=state.settings(),
            status=status,
            search=search,
            counts=counts,
            total=len(visible),
            verification=verification,
        )

    async def request_page(request: Request) -> Response:
        return _request_view(request, str(request.path_params["request_id"]))

    def _visible(request: Request, state: ProjectState, request_id: str) -> ExportRequest:
        """The request if the signed-in person may see it (404 otherwise, so ids of other
        researchers' requests are not confirmed)."""
        web = signed_in(request)
        try:
            found = state.request(request_id)
        except ExportError:
            raise HTTPException(404, "no such request") from None
        if not may_see(web.person, found):
            raise HTTPException(404, "no such request")
        return found

    def _request_view(
        request: Request,
        request_id: str,
        *,
        error: str | None = None,
        status_code: int = 200,
        kept: dict[str, str] | None = None,
    ) -> Response:
        state = read_state(area)
        found = _visible(request, state, request_id)
        checks = None
        if found.checks_sha256 is not None:
            try:
                checks = load_checks(
                    area.checks_path(request_id), expected_sha256=found.checks_sha256
                )
            except ExportError as problem:
                error = f"{problem} {error or ''}".strip()
        web = signed_in(request)
        outputs = [_output_view(area, state, found, name, checks, web) for name in found.outputs]
        return page(
            request,
            "request.html",
            status_code=status_code,
            request_=found,
            researcher=state.person(found.researcher_key_id).name,
            outputs=outputs,
            checks=checks,
            required=state.settings().required_approvals,
            can_release=outbox_root is not None,
            error=error,
            notice=request.session.pop("notice", None),
            kept=kept or {},
        )

    def _refused(
        request: Request,
        request_id: str,
        error: ExportError,
        *,
        kept: dict[str, str] | None = None,
    ) -> Response:
        """The request's page again (403) with the refusal in its own words and what the
        person typed put back in the form, so a refusal costs nothing."""
        return _request_view(
            request, request_id, error=_in_page_words(error), status_code=403, kept=kept
        )

    async def review(request: Request) -> Response:
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        form = await _form(request)
        decision = _DECISIONS.get(form.get("decision", ""))
        output = form.get("output", "")
        if form.get("decision") == "return":
            return _return(request, request_id, output, form)
        try:
            if decision is None:
                raise ExportError("choose approve or reject")
            if not form.get("reason", "").strip():
                raise ExportError("give a reason for the decision; it goes into the signed log")
            status = review_output(
                area,
                checker=web.signer,
                request_id=request_id,
                output=output,
                decision=decision,
                reason=form["reason"],
                override=form.get("override", "").strip() or None,
            )
        except ExportError as error:
            return _refused(request, request_id, error, kept=_typed_decision(output, form))
        return _done(
            request,
            request_id,
            f"{output}: your decision is recorded; the output is now {status.value}",
        )

    def _return(request: Request, request_id: str, output: str, form: dict[str, str]) -> Response:
        web = signed_in(request)
        try:
            return_output(
                area,
                checker=web.signer,
                request_id=request_id,
                output=output,
                comment=form.get("reason", ""),
            )
        except ExportError as error:
            kept = {"output": output, "reason": form.get("reason", ""), "override": ""}
            return _refused(request, request_id, error, kept=kept)
        return _done(
            request,
            request_id,
            (
                f"{output}: returned to the researcher with your comment; it comes back as a new "
                "version with fresh reviews"
            ),
        )

    async def consensus(request: Request) -> Response:
        """A conflicting checker signs their part of a consensus decision."""
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        form = await _form(request)
        output = form.get("output", "")
        decision = _DECISIONS.get(form.get("decision", ""))
        try:
            if decision is None:
                raise ExportError("choose approve or reject")
            status = agree_consensus(
                area,
                checker=web.signer,
                request_id=request_id,
                output=output,
                decision=decision,
                reason=form.get("reason", ""),
                override=form.get("override", "").strip() or None,
            )
        except ExportError as error:
            return _refused(request, request_id, error, kept=_typed_decision(output, form))
        waiting = (
            "; it settles the conflict once the other checkers sign the same decision"
            if status is OutputStatus.CONFLICT
            else f"; the conflict is settled and the output is now {status.value}"
        )
        return _done(
            request, request_id, f"{output}: your part of the consensus is recorded{waiting}"
        )

    async def comment(request: Request) -> Response:
        """A checker's question, or the researcher's answer, on an output or the request:
        no new version, no decision."""
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        form = await _form(request)
        output = form.get("output", "").strip() or None
        try:
            add_comment(
                area,
                author=web.signer,
                request_id=request_id,
                output=output,
                comment=form.get("comment", ""),
            )
        except ExportError as error:
            kept = {"comment_on": output or "", "comment": form.get("comment", "")}
            return _refused(request, request_id, error, kept=kept)
        return _done(request, request_id, f"{output or request_id}: your comment is recorded")

    async def return_request(request: Request) -> Response:
        """A checker returns the whole request: every output waits for a new version."""
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        form = await _form(request)
        try:
            return_output(
                area,
                checker=web.signer,
                request_id=request_id,
                output=None,
                comment=form.get("comment", ""),
            )
        except ExportError as error:
            kept = {"comment_on": "", "return_comment": form.get("comment", "")}
            return _refused(request, request_id, error, kept=kept)
        return _done(
            request,
            request_id,
            (
                f"{request_id} returned to the researcher with your comment; each output comes "
                "back as a new version with fresh reviews"
            ),
        )

    async def open_request(request: Request) -> Response:
        """A researcher opens a request from the queue page."""
        web = signed_in(request)
        form = await _form(request)
        try:
            title = form.get("title", "").strip()
            if not title:
                raise ExportError("give the request a title: what the outputs are for")
            request_id = new_request(area, researcher=web.signer, title=title)
        except ExportError as error:
            return _queue_view(request, error=_in_page_words(error), status_code=403)
        return _done(request, request_id, f"opened {request_id}; add its outputs, then submit it")

    async def add(request: Request) -> Response:
        """A researcher uploads an output (and a table's decision record) to a draft."""
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        async with request.form() as form:
            _check_token(request, form)
            upload, record = form.get("file"), form.get("record")
            description = str(form.get("description", "")).strip()
            try:
                kind = OutputKind(str(form.get("kind", "")))
            except ValueError:
                kind = None
            try:
                if kind is None:
                    raise ExportError("choose what the output is: table, figure, model or text")
                if isinstance(upload, str) or upload is None or not upload.filename:
                    raise ExportError("choose the output's file")
                if not description:
                    raise ExportError("describe the output: what it shows, for the checkers")
                name = validate_output_name(Path(upload.filename).name)
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / name
                    path.write_bytes(await upload.read())
                    if not isinstance(record, str) and record is not None and record.filename:
                        # A table's decision record travels beside it under its own name.
                        beside = sdc_record_path(path)
                        beside.write_bytes(await record.read())
                    add_output(
                        area,
                        researcher=web.signer,
                        request_id=request_id,
                        source=path,
                        kind=kind,
                        description=description,
                    )
            except ExportError as error:
                return _refused(request, request_id, error)
        return _done(request, request_id, f"added {name} to {request_id}")

    async def submit(request: Request) -> Response:
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        await _form(request)
        try:
            checks = submit_request(area, researcher=web.signer, request_id=request_id)
        except ExportError as error:
            return _refused(request, request_id, error)
        failed = sum(check.outcome is CheckOutcome.FAIL for check in checks.outputs.values())
        return _done(
            request,
            request_id,
            (
                f"submitted {request_id}: the checks ran; {failed} output(s) failed them, "
                "and the checkers will see why"
            ),
        )

    async def resubmit(request: Request) -> Response:
        """A researcher's new version of a returned output, uploaded with their answer."""
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        async with request.form() as form:
            _check_token(request, form)
            output = str(form.get("output", ""))
            answer = str(form.get("answer", ""))
            upload = form.get("file")
            try:
                if isinstance(upload, str) or upload is None:
                    raise ExportError("choose the new version's file")
                with tempfile.TemporaryDirectory() as folder:
                    # Stored under the output's own name whatever the upload was called.
                    path = Path(folder) / validate_output_name(output)
                    path.write_bytes(await upload.read())
                    resubmit_output(
                        area,
                        researcher=web.signer,
                        request_id=request_id,
                        source=path,
                        answer=answer,
                    )
            except ExportError as error:
                kept = {"output": output, "answer": answer}
                return _refused(request, request_id, error, kept=kept)
        return _done(request, request_id, f"{output}: new version submitted; the checks ran again")

    async def release(request: Request) -> Response:
        web = signed_in(request)
        request_id = str(request.path_params["request_id"])
        await _form(request)
        try:
            if outbox_root is None:
                raise ExportError(
                    "releasing from this page is switched off on this server; release with "
                    "the command shown on this page"
                )
            area.request_dir(request_id)  # only a well-formed id becomes part of the path
            summary = release_request(
                area, checker=web.signer, request_id=request_id, outbox=outbox_root / request_id
            )
        except ExportError as error:
            return _refused(request, request_id, error)
        return _done(
            request,
            request_id,
            (
                f"released {len(summary.released)} output(s) to {summary.outbox}"
                + (f"; withheld {', '.join(summary.withheld)}" if summary.withheld else "")
            ),
        )

    async def output_file(request: Request) -> Response:
        request_id = str(request.path_params["request_id"])
        name = str(request.path_params["name"])
        found = _visible(request, read_state(area), request_id)
        # Only names the log recorded for this request are served; nothing is joined
        # from the URL before that check.
        if name not in found.outputs:
            raise HTTPException(404, "no such output")
        path = area.output_path(request_id, name)
        media = _IMAGE_TYPES.get(path.suffix.lower())
        if media is None:
            media = "text/plain; charset=utf-8"
        response = FileResponse(path, media_type=media)
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    async def decision_record(request: Request) -> Response:
        """A table's decision record rendered for reading, never served raw: it holds the
        true values of suppressed cells, so it is shown inside the TRE and not handed out
        as a file a browser might keep."""
        request_id = str(request.path_params["request_id"])
        name = str(request.path_params["name"])
        found = _visible(request, read_state(area), request_id)
        # Only a record the log recorded as evidence of one of the request's tables.
        table = next(
            (output for output in found.outputs.values() if decision_record_name(output) == name),
            None,
        )
        if table is None:
            raise HTTPException(404, "no such decision record")
        view = read_decision_record(area.output_path(request_id, name), table.name)
        return page(
            request,
            "record.html",
            request_=found,
            record=view,
            record_name=name,
            error=None if view is not None else f"{name} is not a readable decision record",
        )

    async def stylesheet(request: Request) -> Response:
        return FileResponse(_HERE / "static" / "style.css", media_type="text/css")

    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for header, value in _HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    routes = [
        Route("/", queue),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/requests/{request_id}", request_page, methods=["GET"]),
        Route("/requests/{request_id}/review", review, methods=["POST"]),
        Route("/requests/{request_id}/consensus", consensus, methods=["POST"]),
        Route("/requests/{request_id}/comment", comment, methods=["POST"]),
        Route("/requests/{request_id}/return", return_request, methods=["POST"]),
        Route("/requests/{request_id}/release", release, methods=["POST"]),
        Route("/requests/{request_id}/resubmit", resubmit, methods=["POST"]),
        Route("/requests", open_request, methods=["POST"]),
        Route("/requests/{request_id}/add", add, methods=["POST"]),
        Route("/requests/{request_id}/submit", submit, methods=["POST"]),
        Route("/requests/{request_id}/outputs/{name}", output_file, methods=["GET"]),
        Route("/requests/{request_id}/records/{name}", decision_record, methods=["GET"]),
        Route("/static/style.css", stylesheet),
    ]
    middleware = [
        Middleware(
            TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost"]
        ),
        Middleware(BaseHTTPMiddleware, dispatch=security_headers),
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),  # per process: a restart signs everyone out
            session_cookie="trelink_session",
            max_age=_SESSION_HOURS * 3600,
            same_site="strict",
            https_only=False,  # served on localhost over plain HTTP
        ),
    ]
    return Starlette(routes=routes, middleware=middleware)


def _in_page_words(error: ExportError) -> str:
    """A refusal as the page words it: the form's fields, not the command's options."""
    if isinstance(error, OverrideNeededError):
        return (
            f"{error.output} failed its automated checks. To approve it anyway, write in "
            "the Override box why the failure is acceptable; or reject it. Nothing was "
            "recorded."
        )
    if isinstance(error, OverrideNotAllowedError):
        return (
            "Leave the Override box empty: it is only for approving an output that failed "
            "its automated checks. Nothing was recorded."
        )
    return f"Refused: {error}"


def _output_view(
    area: ExportArea,
    state: ProjectState,
    request: ExportRequest,
    name: str,
    checks: RequestChecks | None,
    web: WebSession,
) -> dict[str, Any]:
    output = request.outputs[name]
    check: OutputCheck | None = checks.outputs.get(name) if checks else None
    path = area.output_path(request.request_id, name)
    as_table = output.kind is OutputKind.TABLE or bool(check and check.cell_rules)
    table = table_evidence(area, request.request_id, output, check) if as_table else None
    model = read_model(path, output, project_policy_path(area, state))
    reviews = sorted(request.reviews.get(name, {}).values(), key=lambda review: review.log_seq)
    visible = request.decisions_visible(
        name, web.person, blind_reviews=state.settings().blind_reviews
    )
    checker = web.person.role is Role.CHECKER
    conflict = request.in_conflict(name)
    reviewed = web.person.key_id in request.reviews.get(name, {})
    return {
        "name": name,
        "kind": output.kind.value,
        "description": output.description,
        "sha256": output.sha256,
        "check": check,
        "table": table,
        "model": model,
        "record": decision_record_name(output),
        "image": path.suffix.lower() in _IMAGE_TYPES,
        "text": _text_preview(path) if output.kind is OutputKind.TEXT and table is None else None,
        "reviews": reviews if visible else [],
        "remarks": request.remarks.get(name, []),
        "version": request.version(name),
        "returned": name in request.returned,
        "mine": web.person.key_id == request.researcher_key_id,
        "blinded": 0 if visible else len(reviews),  # decisions recorded but not shown
        "agreement": request.agreement(name) if visible else None,
        "conflict": conflict,  # shown to everyone; who decided what stays blind
        "settled": request.settlements.get(name) if visible else None,
        "consensus": sorted(request.consensus.get(name, {}).values(), key=lambda part: part.log_seq)
        if visible
        else [],
        "may_agree": checker and conflict and reviewed,  # the consensus form, not review
        "third": checker and conflict and not reviewed,
        # Settled with this checker's part: their decision stands; a return still may.
        "locked": checker
        and name in request.settlements
        and (reviewed or web.person.key_id in request.settlements[name].checker_key_ids),
        "status": state.output_status(request, name).value
        if visible or name in request.returned
        else "awaiting your review",
        "approvals": len(request.approvers(name)) if visible else None,
        "failed": bool(check and check.outcome is CheckOutcome.FAIL),
        "flagged_count": len(check.flagged_cells) if check else 0,
        "evidence": sorted(output.evidence),
    }


def _text_preview(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")[:20000]
    except (OSError, UnicodeDecodeError):
        return None
