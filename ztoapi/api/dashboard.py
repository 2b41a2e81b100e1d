"""/dashboard and its JSON APIs under /dashboard/api/."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)
