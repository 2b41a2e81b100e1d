"""/docs (the API documentation page) and /openapi.json."""
from flask import Blueprint

bp = Blueprint("docs", __name__)
