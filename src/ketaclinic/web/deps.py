"""Dependencies every route uses: the database session, the signed-in person, and permission checks.

Every route declares who may call it with exactly one of three markers, which the permission-matrix
test reads from the route's dependency tree:

- ``Depends(require("resource:action"))`` (or the ``Annotated`` alias it returns) for anything that
  touches data; the matrix in ``web/data/permissions.yaml`` decides which roles pass;
- ``SignedIn`` for pages any signed-in person may open (their home page, signing out);
- ``Public`` for the few pages open to everyone (sign-in, setting a password from a link, health).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, params
from fastapi.routing import iter_route_contexts
from sqlalchemy.orm import Session

from ketaclinic.errors import PermissionDenied
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.users import actor_for
from ketaclinic.storage.tables.access import User
from ketaclinic.web.permissions import permission_matrix, split_permission
from ketaclinic.web.security.sessions import resume_session

ACCESS_ATTRIBUTE = "__ketaclinic_access__"


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in page, the API answers 401."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("sign in required")
        self.expired = expired


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on any error.

    On SQLite, one request transaction at a time: a transaction that has read and then writes
    (every read of patient data writes its audit entry) fails with "database is locked" if another
    wrote in between, so requests take turns. PostgreSQL needs no such lock (row locks).
    """
    lock: AbstractContextManager[Any] = request.app.state.database_lock or nullcontext()
    with lock:
        session: Session = request.app.state.session_factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


# scope="function": commit before the response is sent, so the next request sees the change.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def now_utc(request: Request) -> datetime:
    """The request's time, from the app's clock (a test can move it to check time-outs)."""
    moment: datetime = request.app.state.clock()
    return moment


Now = Annotated[datetime, Depends(now_utc)]


def clinic_zone(request: Request) -> tzinfo:
    """The clinic's time zone (``KETACLINIC_CLINIC_TIMEZONE``): its day and displayed times."""
    zone: tzinfo = request.app.state.clinic_zone
    return zone


ClinicZone = Annotated[tzinfo, Depends(clinic_zone)]


def clinic_today(now: datetime, zone: tzinfo) -> date:
    """The clinic's calendar day at ``now``: a clinic east of UTC starts its day before UTC does."""
    return now.astimezone(zone).date()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _load_user(request: Request, db: Session, now: datetime) -> User | None:
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    request.state.user = None
    request.state.session_expired = False
    cookie_name = request.app.state.security.session_cookie_name
    token = request.cookies.get(cookie_name)
    if token:
        resumed = resume_session(
            db, token, idle_timeout=request.app.state.security.idle_timeout, now=now,
            touch=not getattr(request.state, "passive", False),
        )  # fmt: skip
        if resumed is None:
            request.state.session_expired = True
            # Keep the "ended" mark of an idle session even though the request will fail.
            db.commit()
        else:
            request.state.user = resumed[1]
            request.state.session_token = token
            # A plain copy for the page layout: error pages render after the session is closed.
            request.state.person = actor_for(resumed[1], ip_address=client_ip(request))
    return request.state.user  # type: ignore[no-any-return]


def optional_user(request: Request, db: DbSession, now: Now) -> User | None:
    return _load_user(request, db, now)


def signed_in_user(request: Request, db: DbSession, now: Now) -> User:
    user = _load_user(request, db, now)
    if user is None:
        raise SignInRequired(expired=bool(request.state.session_expired))
    return user


def passive_request(request: Request) -> None:
    """Marks a request the page makes on its own (the Today board's polling): it does not count as
    activity, so an unattended screen still reaches the idle time-out.

    List it before the permission check in ``dependencies=[Passive, ...]``: dependencies are solved
    in order, and the signed-in person is loaded (and their session touched) only once.
    """
    request.state.passive = True


def public_route() -> None:
    """Marks a route open to everyone; it does nothing else."""


setattr(public_route, ACCESS_ATTRIBUTE, "public")
setattr(signed_in_user, ACCESS_ATTRIBUTE, "signed_in")

Public = Depends(public_route)
Passive = Depends(passive_request)
SignedIn = Depends(signed_in_user)
CurrentUser = Annotated[User, Depends(signed_in_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def current_actor(request: Request, user: CurrentUser) -> Actor:
    return actor_for(user, ip_address=client_ip(request))


CurrentActor = Annotated[Actor, Depends(current_actor)]


def request_context(actor: CurrentActor, now: Now, zone: ClinicZone) -> RequestContext:
    """Who, when, and the clinic's time zone, for a service call."""
    return RequestContext(actor, now, zone)


CurrentContext = Annotated[RequestContext, Depends(request_context)]


def require(permission: str) -> Callable[..., User]:
    """A dependency that lets the request through only if the matrix grants ``permission``.

    Use as ``dependencies=[Depends(require("users:change"))]`` or as a parameter
    ``user: Annotated[User, Depends(require("users:read"))]``.
    """
    matrix = permission_matrix()
    split_permission(permission, matrix)  # an unknown permission fails at import, not at runtime

    def check_permission(user: CurrentUser) -> User:
        if not matrix.allows(user.role, permission):
            resource = matrix.resources[permission.partition(":")[0]].description.rstrip(".")
            raise PermissionDenied(
                f"Your role ({user.role}) may not {permission.partition(':')[2]} this: {resource}."
            )
        return user

    setattr(check_permission, ACCESS_ATTRIBUTE, f"permission:{permission}")
    return check_permission


def ensure_patient_access(actor: Actor, patient_id: str) -> None:
    """A patient reaches only their own record; a researcher no identified record at all."""
    matrix = permission_matrix()
    role = matrix.roles.get(actor.role)
    if role is not None and role.deidentified_only:
        raise PermissionDenied(
            "Researchers see de-identified data only, never an identified chart."
        )
    if role is not None and role.own_record_only and actor.patient_id != patient_id:
        raise PermissionDenied("You can only open your own record.")


def route_access(dependant: Any) -> list[str]:
    """Every access marker in a route's dependency tree (used by the permission-matrix test)."""
    found: list[str] = []
    call = getattr(dependant, "call", None)
    marker = getattr(call, ACCESS_ATTRIBUTE, None) if call is not None else None
    if marker is not None:
        found.append(marker)
    for sub in getattr(dependant, "dependencies", []):
        found.extend(route_access(sub))
    return found


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    dependant: Any
    form_body: bool


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every method and path of the app's own routes (not /docs, /static), with its dependencies."""
    found: list[RouteInfo] = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if dependant is None:
            continue
        form_body = any(isinstance(p.field_info, params.Form) for p in dependant.body_params)
        for method in sorted(context.methods or ()):
            found.append(RouteInfo(method, str(context.path), dependant, form_body))
    return found


def record_refusal(request: Request, error: PermissionDenied) -> None:
    """Write a refused attempt to the audit trail in its own transaction.

    The request's own transaction is rolled back with the error, but a refusal (a patient trying
    another record, a researcher opening a chart) is exactly what a reviewer needs to see.
    """
    person: Actor | None = getattr(request.state, "person", None)
    if person is None:
        return
    from ketaclinic.services.audit import record_event

    lock: AbstractContextManager[Any] = request.app.state.database_lock or nullcontext()
    with lock, request.app.state.session_factory() as db:
        record_event(
            db, person, "access.denied", "route", request.url.path[:80],
            detail={"method": request.method, "reason": error.message},
            now=request.app.state.clock(),
        )  # fmt: skip
        db.commit()
