"""Signing in and out, and setting a password from an invitation or reset link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.errors import InvalidInput, KetaclinicError
from ketaclinic.services.users import (
    ThrottlePolicy,
    accept_invitation,
    authenticate,
    find_invitation,
)
from ketaclinic.web.deps import DbSession, Now, OptionalUser, Public, SignedIn, client_ip
from ketaclinic.web.security.csrf import csrf_valid
from ketaclinic.web.security.sessions import end_session, resume_session, start_session
from ketaclinic.web.templating import csrf_binding, has_browser_cookies, render, secure_cookies

router = APIRouter(tags=["sign-in"])


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an open redirect would let a phishing link borrow our address.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/sign-in", response_class=HTMLResponse, dependencies=[Public])
def sign_in_page(
    request: Request,
    user: OptionalUser,
    next: str | None = None,
    expired: bool = False,
    signed_out: bool = False,
) -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    notice = None
    if expired:
        notice = "You were signed out after a period without activity. Sign in again."
    elif signed_out:
        notice = "You have signed out."
    return render(
        request, "sign_in.html", {"next": _safe_next(next), "notice": notice, "values": {}}
    )


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Public])
def sign_in(
    request: Request,
    db: DbSession,
    now: Now,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    # Checked here as well as app-wide: a sign-in form must never be forged, cookies or not.
    if not has_browser_cookies(request) or not csrf_valid(
        request.app.state.secret_key, csrf_binding(request), csrf_token
    ):
        return render(
            request,
            "sign_in.html",
            {"next": _safe_next(next), "values": {"email": email},
             "problem": "This sign-in form had expired. Please try again."},
            status_code=403,
        )  # fmt: skip
    security = request.app.state.security
    policy = ThrottlePolicy(
        max_failures_per_account=security.max_failed_sign_ins_per_account,
        max_failures_per_ip=security.max_failed_sign_ins_per_ip,
        window=security.throttle_window,
    )
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter the e-mail address of your account."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return render(
            request,
            "sign_in.html",
            {"next": _safe_next(next), "values": {"email": email}, "errors": errors},
            status_code=422,
        )
    result = authenticate(
        db, email=email, password=password, ip_address=client_ip(request), policy=policy, now=now
    )
    if result.user is None:
        db.commit()  # the failed attempt must count even though the page answers with an error
        context: dict[str, object] = {
            "next": _safe_next(next),
            "values": {"email": email},
            "problem": result.refusal,
        }
        status = 429 if result.refusal and result.refusal.startswith("Too many") else 401
        return render(request, "sign_in.html", context, status_code=status)
    token = start_session(
        db,
        result.user,
        ip_address=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        now=now,
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        security.session_cookie_name,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    return response


@router.post("/sign-out", dependencies=[SignedIn])
def sign_out(request: Request, db: DbSession, now: Now) -> Response:
    cookie_name = request.app.state.security.session_cookie_name
    token = request.cookies.get(cookie_name)
    if token:
        end_session(db, token, now=now)
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(cookie_name, path="/")
    return response


@router.get("/set-password/{token}", response_class=HTMLResponse, dependencies=[Public])
def set_password_page(request: Request, token: str, db: DbSession, now: Now) -> Response:
    try:
        _, user = find_invitation(db, token, now=now)
    except KetaclinicError as exc:
        return render(
            request, "error.html", {"status": exc.http_status, "message": exc.message},
            status_code=exc.http_status,
        )  # fmt: skip
    return render(request, "set_password.html", {"token": token, "account": user})


@router.post("/set-password/{token}", response_class=HTMLResponse, dependencies=[Public])
def set_password(
    request: Request,
    token: str,
    db: DbSession,
    now: Now,
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    _, user = find_invitation(db, token, now=now)
    errors: dict[str, str] = {}
    if password != password_again:
        errors["password_again"] = "The two passwords are not the same; type them again."
    else:
        try:
            accept_invitation(
                db,
                token=token,
                password=password,
                password_minimum_length=request.app.state.security.password_minimum_length,
                ip_address=client_ip(request),
                now=now,
            )
        except InvalidInput as exc:
            errors[exc.field or "password"] = exc.message
    if errors:
        context = {"token": token, "account": user, "errors": errors}
        return render(request, "set_password.html", context, status_code=422)
    return RedirectResponse("/sign-in?password_set=1", status_code=303)


@router.get("/session/status", dependencies=[Public])
def session_status(request: Request, db: DbSession, now: Now) -> dict[str, int | bool]:
    """Whether this browser is signed in and for how long without activity; not itself activity."""
    security = request.app.state.security
    token = request.cookies.get(security.session_cookie_name)
    resumed = (
        resume_session(db, token, idle_timeout=security.idle_timeout, now=now, touch=False)
        if token
        else None
    )
    if resumed is None:
        return {"signed_in": False, "seconds_left": 0}
    left = security.idle_timeout - (now - resumed[0].last_seen_at)
    return {"signed_in": True, "seconds_left": max(0, int(left.total_seconds()))}


@router.post("/session/keep-alive", dependencies=[SignedIn])
def keep_alive(request: Request) -> dict[str, int | bool]:
    """ "Stay signed in" from the time-out warning: the request itself is the activity."""
    seconds = int(request.app.state.security.idle_timeout.total_seconds())
    return {"signed_in": True, "seconds_left": seconds}
