"""/healthz (the process answers) and /readyz (it can serve: a usable credential, a reachable store)."""
import logging

from flask import Blueprint
from flask import current_app

from ztoapi.upstream.router import shown_states

log = logging.getLogger("ztoapi")
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Ready when one upstream in UPSTREAMS can serve and the store answers; each upstream's state."""
    routed = current_app.extensions["upstream"].status()
    checks = {"credentials": routed["reason"], "store": store_check()}
    ready = all(check == "ok" for check in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks,
            "upstream": shown_states(routed["upstreams"])}, 200 if ready else 503


def store_check():
    try:
        current_app.extensions["store"].ping()
    except Exception as error:
        log.warning("readiness: the store cannot be reached: %s", error)
        return "store unreachable"
    return "ok"
