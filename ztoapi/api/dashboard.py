"""/dashboard and its JSON APIs under /dashboard/api/.

Who may look: DASHBOARD_KEY when it is set, otherwise any client API key. A browser posts the key
once to /dashboard/login and gets a signed session cookie (HttpOnly, SameSite=Strict, 12 hours)
that holds only the key's name; scripts send the key as `Authorization: Bearer` to the JSON APIs.
The cookie's signing secret is derived from the digests of the keys that open the dashboard, so
changing one of them ends every session."""
import hashlib
import hmac
import time

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer

from ztoapi import dashboard_stats
from ztoapi.auth import presented_key
from ztoapi.errors import ApiError
from ztoapi.keys import digest

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

bp = Blueprint("dashboard", __name__, static_folder="../static", static_url_path="/static")
api = Blueprint("dashboard_api", __name__)


@bp.after_request
def add_security_headers(response):
    if request.endpoint != "dashboard.static":
        response.headers.update(SECURITY_HEADERS)
    return response


@bp.get("/")
@bp.get("")
def page():
    viewer = session_viewer()
    if viewer is None:
        return render_template("dashboard_login.html", error=None)
    return render_template("dashboard.html", viewer=viewer)


@bp.post("/login")
def login():
    viewer = viewer_for(request.form.get("key", "").strip())
    if viewer is None:
        return render_template("dashboard_login.html", error="That key does not open the dashboard."), 401
    response = redirect(url_for("dashboard.page"), 303)
    response.set_cookie(COOKIE, serializer().dumps({"viewer": viewer}), max_age=SESSION_SECONDS,
                        path=url_for("dashboard.page"), secure=request.is_secure, httponly=True,
                        samesite="Strict")
    return response


@bp.post("/logout")
def logout():
    response = redirect(url_for("dashboard.page"), 303)
    response.delete_cookie(COOKIE, path=url_for("dashboard.page"), secure=request.is_secure,
                           httponly=True, samesite="Strict")
    return response


@api.before_request
def require_viewer():
    key = presented_key(request.headers)
    g.viewer = viewer_for(key) if key else session_viewer()
    if g.viewer is None:
        raise ApiError(401, "Sign in at /dashboard, or send the dashboard key as a Bearer token.",
                       code="invalid_api_key")


@api.get("/summary")
def summary():
    store = current_app.extensions["store"]
    stats = dashboard_stats.summary(store.totals(), store.since(dashboard_stats.WINDOW_SECONDS), time.time())
    return {**stats, "viewer": g.viewer}


@api.get("/requests")
def recent_requests():
    limit = min(max(request.args.get("limit", RECENT_DEFAULT, type=int), 1), RECENT_MAX)
    records = current_app.extensions["store"].recent(limit)
    return {"requests": [dashboard_stats.request_row(record) for record in records]}


@api.get("/credentials")
def credentials():
    """Every worker's credential pool, and the upstream as this worker sees it."""
    pools = dashboard_stats.credential_pool(current_app.extensions["store"].credentials())
    web = current_app.extensions["zai"].status()
    return {**pools, "upstream": {"web": {"dialect": web["dialect"], "dialect_source": web["dialect_source"],
                                          "ready": web["ready"], "reason": web["reason"]}}}


bp.register_blueprint(api, url_prefix="/api")


def viewer_for(key):
    """The name the dashboard greets the holder of `key` by, or None when it does not open it."""
    settings = current_app.config["SETTINGS"]
    if settings.dashboard_key:
        matches = hmac.compare_digest(key.encode(), settings.dashboard_key.encode())
        return "dashboard" if matches else None
    client_key = current_app.extensions["keys"].find(key)
    return client_key.name if client_key else None


def session_viewer():
    try:
        return serializer().loads(request.cookies.get(COOKIE, ""), max_age=SESSION_SECONDS)["viewer"]
    except (BadSignature, KeyError, TypeError):
        return None


def serializer():
    settings = current_app.config["SETTINGS"]
    if settings.dashboard_key:
        digests = [digest(settings.dashboard_key)]
    else:
        digests = sorted(current_app.extensions["keys"].by_digest)
    secret = hashlib.sha256("\n".join(["ztoapi dashboard session", *digests]).encode()).hexdigest()
    return URLSafeTimedSerializer(secret, salt="ztoapi-dashboard")
