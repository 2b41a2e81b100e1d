"""/ (where to go), /docs (the API documentation page) and /openapi.json."""
from pathlib import Path

from flask import Blueprint
from flask import redirect
from flask import current_app
from flask import render_template
from flask import request
from flask import send_from_directory

from ztoapi import docs_page
from ztoapi import openapi

STATIC = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("docs", __name__)


@bp.get("/")
def root():
    """A browser goes to /docs; an API client gets a JSON pointer to the API and its documents."""
    if "text/html" in request.headers.get("Accept", ""):   # a browser's, not curl's */*
        return redirect("/docs", 302)
    base = request.url_root
    return {"name": "ZtoApi", "api": {"openai": base + "v1", "anthropic": base + "v1/messages"},
            "docs": base + "docs", "openapi": base + "openapi.json", "health": base + "healthz"}


@bp.get("/docs")
def docs():
    """The documentation, with this server's base URL and models."""
    page = docs_page.page(request.url_root, current_app.extensions["catalog"].models())
    return render_template("docs.html", page=page, base_url=request.url_root + "v1")


@bp.get("/openapi.json")
def openapi_json():
    return openapi.spec(request.url_root)


@bp.get("/favicon.ico")
def favicon():
    """The logo, so browsers opening any page (or /openapi.json) get no 404."""
    return send_from_directory(STATIC, "dashboard.svg", mimetype="image/svg+xml", max_age=86400)
