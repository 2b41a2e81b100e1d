"""/docs (the API documentation page) and /openapi.json."""
from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request

from ztoapi import docs_page
from ztoapi import openapi

bp = Blueprint("docs", __name__)


@bp.get("/docs")
def docs():
    """The documentation, with this server's base URL and models."""
    page = docs_page.page(request.url_root, current_app.extensions["catalog"].models())
    return render_template("docs.html", page=page, base_url=request.url_root + "v1")


@bp.get("/openapi.json")
def openapi_json():
    return openapi.spec(request.url_root)
