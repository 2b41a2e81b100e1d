"""/dashboard and its JSON APIs under /dashboard/api/.

Who may look, and at what: DASHBOARD_KEY when it is set (its holder sees everything). Otherwise
any client API key: DEFAULT_KEY (the operator's) and named keys with the `dashboard` role
(`name:key:dashboard` in API_KEYS) see every key's traffic; any other named key sees only its own
key's requests and totals, and no credential pool. A browser posts the key once to
/dashboard/login and gets a signed session cookie (HttpOnly, SameSite=Strict, Secure over TLS,
12 hours) that holds the key's name, what it may see and a session id, never the key; scripts
send the key as `Authorization: Bearer` to the JSON APIs. Signing out revokes the session id in
the shared store for the rest of the cookie's life, so a kept copy of the cookie stops working
too. The signing secret is derived from the digests and roles of the keys that open the
dashboard, so changing one of them ends every session. Wrong keys count against the client
address (ztoapi.throttle)."""
import hashlib
import hmac
import logging
import math
import secrets
import time
from dataclasses import dataclass

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer

from config.settings import PUBLIC_DEFAULT_KEY
from ztoapi import dashboard_stats
from ztoapi.auth import presented_key
from ztoapi.auth import refuse_if_throttled
from ztoapi.errors import ApiError
from ztoapi.keys import digest
from ztoapi.upstream.router import shown_states

log = logging.getLogger("ztoapi")

COOKIE = "ztoapi_dashboard"
SESSION_SECONDS = 12 * 3600
RECENT_DEFAULT = 50
RECENT_MAX = 500
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}

WRONG_KEY = "That key does not open the dashboard."
PUBLIC_KEY = ("The public default key (sk-your-key) does not open the dashboard: set DASHBOARD_KEY, "
              "or DEFAULT_KEY to a key of your own.")
STORE_DOWN = ("Sessions cannot be checked: the store cannot be reached. Try again shortly, or send "
              "the key as a Bearer token to the JSON APIs.")

bp = Blueprint("dashboard", __name__, static_folder="../static", static_url_path="/static")
api = Blueprint("dashboard_api", __name__)


@dataclass(frozen=True)
class Viewer:
    name: str
    everything: bool   # False: only the traffic of the key called `name`

    @property
    def scope(self):
        return "all" if self.everything else "own key"


@bp.after_request
def add_security_headers(response):
    if request.endpoint != "dashboard.static":
        response.headers.update(SECURITY_HEADERS)
    return response


@bp.get("/")
@bp.get("")
def page():
    try:
        viewer = session_viewer()
    except ApiError as error:
        return render_template("dashboard_login.html", error=error.message), error.status
    if viewer is None:
        return render_template("dashboard_login.html", error=None)
    return render_template("dashboard.html", viewer=viewer.name)


@bp.post("/login")
def login():
    guard = current_app.extensions["throttle"]
    address = guard.address(request.environ)
    wait = guard.retry_after(address)
    if wait is not None:
        seconds = max(math.ceil(wait), 1)
        error = f"Too many failed sign-ins from your address. Try again in {seconds} s."
        return render_template("dashboard_login.html", error=error), 429, {"Retry-After": str(seconds)}
    key = request.form.get("key", "").strip()
    if is_public_default(key):
        return render_template("dashboard_login.html", error=PUBLIC_KEY), 403
    viewer = viewer_for(key)
    if viewer is None:
        guard.failed(address)
        return render_template("dashboard_login.html", error=WRONG_KEY), 401
    session = {"viewer": viewer.name, "all": viewer.everything, "sid": secrets.token_urlsafe(18)}
    response = redirect(url_for("dashboard.page"), 303)
    response.set_cookie(COOKIE, serializer().dumps(session), max_age=SESSION_SECONDS,
                        path=url_for("dashboard.page"), secure=request.is_secure, httponly=True,
                        samesite="Strict")
    return response


@bp.post("/logout")
def logout():
    """End the session: its id is revoked, so a copy of the cookie kept elsewhere stops working."""
    session = signed_session()
    if session is not None:
        revoke(session[1])
    response = redirect(url_for("dashboard.page"), 303)
    response.delete_cookie(COOKIE, path=url_for("dashboard.page"), secure=request.is_secure,
                           httponly=True, samesite="Strict")
    return response


@api.before_request
def require_viewer():
    key = presented_key(request.headers)
    if key:
        guard = current_app.extensions["throttle"]
        address = guard.address(request.environ)
        refuse_if_throttled(guard, address)
        if is_public_default(key):
            raise ApiError(403, PUBLIC_KEY, code="public_default_key")
        g.viewer = viewer_for(key)
        if g.viewer is None:
            guard.failed(address)
    else:
        g.viewer = session_viewer()
    if g.viewer is None:
        raise ApiError(401, "Sign in at /dashboard, or send the dashboard key as a Bearer token.",
                       code="invalid_api_key")


@api.get("/summary")
def summary():
    store = current_app.extensions["store"]
    totals, records = store.totals(), store.since(dashboard_stats.WINDOW_SECONDS)
    if not g.viewer.everything:
        totals, records = dashboard_stats.own_traffic(totals, records, g.viewer.name)
    model_of = dashboard_stats.model_resolver(current_app.extensions["catalog"])
    stats = dashboard_stats.summary(totals, records, time.time(), model_of)
    return {**stats, "viewer": g.viewer.name, "scope": g.viewer.scope}


@api.get("/requests")
def recent_requests():
    limit = min(max(request.args.get("limit", RECENT_DEFAULT, type=int), 1), RECENT_MAX)
    own_key = None if g.viewer.everything else g.viewer.name
    records = current_app.extensions["store"].recent(limit, key=own_key)
    return {"requests": [dashboard_stats.request_row(record) for record in records]}


@api.get("/credentials")
def credentials():
    """Every worker's credential pool (for a viewer who sees everything), this worker's published
    first (so it shows before its first request), and the upstream as this worker sees it."""
    states = {}
    if g.viewer.everything:
        current_app.extensions["credential_reporter"]()
        states = current_app.extensions["store"].credentials()
    pools = dashboard_stats.credential_pool(states)
    return {**pools, "upstream": shown_states(current_app.extensions["upstream"].status()["upstreams"])}


bp.register_blueprint(api, url_prefix="/api")


def is_public_default(key):
    """The public default key, which never opens the dashboard (unless it is the DASHBOARD_KEY)."""
    settings = current_app.config["SETTINGS"]
    return key == PUBLIC_DEFAULT_KEY and settings.dashboard_key != PUBLIC_DEFAULT_KEY


def viewer_for(key):
    """The Viewer the holder of `key` is, or None when the key does not open the dashboard."""
    settings = current_app.config["SETTINGS"]
    if settings.dashboard_key:
        matches = hmac.compare_digest(key.encode(), settings.dashboard_key.encode())
        return Viewer("dashboard", True) if matches else None
    client_key = current_app.extensions["keys"].find(key)
    return Viewer(client_key.name, client_key.dashboard) if client_key else None


def signed_session():
    """(Viewer, session id) from the request's cookie, or None when it has none (or a forged or
    expired one)."""
    try:
        session = serializer().loads(request.cookies.get(COOKIE, ""), max_age=SESSION_SECONDS)
        return Viewer(str(session["viewer"]), session["all"] is True), str(session["sid"])
    except (BadSignature, KeyError, TypeError):
        return None


def session_viewer():
    """The Viewer of the request's session, or None. A session whose revocation cannot be checked
    is refused: ApiError 503."""
    session = signed_session()
    if session is None:
        return None
    viewer, session_id = session
    memory = current_app.extensions["limiter"].memory
    try:
        revoked = memory.revoked(session_id) or current_app.extensions["store"].revoked(session_id)
    except Exception as error:
        log.warning("dashboard session not checked, the store failed: %s", error)
        raise ApiError(503, STORE_DOWN, code="store_unavailable") from None
    return None if revoked else viewer


def revoke(session_id):
    """Remember a signed-out session as revoked until its cookie would have expired anyway."""
    current_app.extensions["limiter"].memory.revoke(session_id, SESSION_SECONDS)
    try:
        current_app.extensions["store"].revoke(session_id, SESSION_SECONDS)
    except Exception as error:
        log.error("sign-out recorded in this worker only, the store failed: %s", error)


def serializer():
    settings = current_app.config["SETTINGS"]
    if settings.dashboard_key:
        parts = [digest(settings.dashboard_key)]
    else:
        parts = sorted(f"{key_digest} {'all' if key.dashboard else 'own'}"
                       for key_digest, key in current_app.extensions["keys"].by_digest.items())
    secret = hashlib.sha256("\n".join(["ztoapi dashboard session", *parts]).encode()).hexdigest()
    return URLSafeTimedSerializer(secret, salt="ztoapi-dashboard")
