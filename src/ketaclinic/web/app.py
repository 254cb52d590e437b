"""The clinic web app: pages and the JSON API on one FastAPI application.

``create_app`` wires settings, the database, templates and every route module in
``ketaclinic.web.routes`` that defines a ``router``, so a new page is one new module.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketaclinic import __version__
from ketaclinic.errors import KetaclinicError, PermissionDenied
from ketaclinic.settings import Settings
from ketaclinic.storage.database import SessionFactory, make_engine, make_session_factory
from ketaclinic.web import routes
from ketaclinic.web.deps import SignInRequired, record_refusal
from ketaclinic.web.security.config import SecuritySettings, load_secret_key
from ketaclinic.web.security.csrf import csrf_valid
from ketaclinic.web.templating import csrf_binding, has_browser_cookies, make_templates, render

STATIC_DIR = Path(__file__).parent / "static"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Everything is served from this host: no CDN, no inline script. htmx's own inline indicator style
# is switched off in the base template, so 'self' is enough for styles too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def _wants_json(request: Request) -> bool:
    # The API always answers JSON; pages answer HTML unless the caller asks for JSON first.
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or accept.startswith("application/json")


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request made with this browser's cookies but without its token."""
    if request.method not in _UNSAFE_METHODS or not has_browser_cookies(request):
        return
    presented = request.headers.get("x-csrf-token")
    content_type = request.headers.get("content-type", "")
    if presented is None and (
        content_type.startswith("application/x-www-form-urlencoded")
        or content_type.startswith("multipart/form-data")
    ):
        form = await request.form()  # cached by Starlette, so the route still reads its fields
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not csrf_valid(request.app.state.secret_key, csrf_binding(request), presented):
        raise CsrfRefused


class CsrfRefused(Exception):
    pass


def _error_response(request: Request, status: int, message: str, field: str | None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, "field": field}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KetaclinicError)
    async def ketaclinic_error(request: Request, exc: KetaclinicError) -> Response:
        if isinstance(exc, PermissionDenied):
            record_refusal(request, exc)
        return _error_response(request, exc.http_status, exc.message, exc.field)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        message = (
            "You were signed out after a period without activity. Sign in again."
            if exc.expired
            else "Sign in first."
        )
        if _wants_json(request):
            return JSONResponse({"error": message, "field": None}, status_code=401)
        if request.headers.get("hx-request") == "true":
            # A polled fragment: a redirect would be followed inside the request and the sign-in
            # page swapped into the board, so tell htmx to move the whole page instead.
            page = request.headers.get("hx-current-url", "")
            back = urlsplit(page).path if page else "/"
            target = f"/sign-in?next={quote(back)}" + ("&expired=1" if exc.expired else "")
            return Response(status_code=401, headers={"HX-Redirect": target})
        target = f"/sign-in?next={quote(request.url.path)}" + ("&expired=1" if exc.expired else "")
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        message = (
            "This form had expired or did not come from ketaclinic. Nothing was saved; "
            "reload the page and try again."
        )
        return _error_response(request, 403, message, None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "This page does not exist." if exc.status_code == 404 else str(exc.detail)
        return _error_response(request, exc.status_code, message, None)


def _include_routes(app: FastAPI) -> None:
    for module_info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{routes.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)


def create_app(
    settings: Settings,
    session_factory: SessionFactory | None = None,
    *,
    security: SecuritySettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The app for ``settings``; tests pass their own session factory, security and clock."""
    app = FastAPI(
        title="ketaclinic",
        version=__version__,
        description="Supervised ketamine clinic. Supports clinical judgement; never replaces it.",
        dependencies=[Depends(verify_csrf)],
        # FastAPI's /docs and /redoc load their scripts from a CDN; ketaclinic pages never load
        # anything from another host, so the API is described by /api-reference instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.security = security or SecuritySettings()
    app.state.secret_key = load_secret_key(settings)
    app.state.session_factory = session_factory or make_session_factory(
        make_engine(settings.resolved_database_url())
    )
    app.state.clock = clock or (lambda: datetime.now(UTC))
    bind = app.state.session_factory.kw.get("bind")
    on_sqlite = bind is not None and bind.dialect.name == "sqlite"
    # See deps.get_db: SQLite request transactions take turns within this process.
    app.state.database_lock = threading.Lock() if on_sqlite else None
    app.state.clinic_zone = settings.clinic_zone
    app.state.templates = make_templates(settings.clinic_zone)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    _install_error_handlers(app)
    _include_routes(app)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Invitation links carry a token in the path: never leak it to another site.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static/"):
            # Patient data must not linger in shared browser caches on clinic tablets.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
