"""Prometheus metrics at /metrics."""


def init_app(app):
    """Register the request sink and the /metrics route."""
