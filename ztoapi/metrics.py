"""Prometheus metrics at /metrics: requests, latencies, tokens, streams, upstream failures, credentials.

Under gunicorn, config/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before the workers fork: each
worker writes its values to files there, and /metrics (whichever worker serves it) adds them up.
Without it (Flask test client, one process) the values live in the app's own registry.
"""
import functools
import hmac
import os
import re
import time

from flask import Response
from flask import current_app
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed

from ztoapi import auth
from ztoapi import signals
from ztoapi.errors import ApiError

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
TTFT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60)
CREDENTIAL_KINDS = ("configured", "guest")
CREDENTIAL_STATES = ("ok", "cooling", "invalid", "captcha")
CREDENTIALS_REFRESH_SECONDS = 5.0
OTHER = "other"


class Metrics:
    """One app's metrics. `record` is its request sink; the upstream client reports to it too."""

    def __init__(self, registry, routes, catalog, pool, clock=time.monotonic):
        self.registry, self.routes, self.catalog, self.pool = registry, routes, catalog, pool
        self.clock = clock
        self.credentials_refreshed = None
        self.requests = Counter("ztoapi_requests_total", "Requests by route, model and HTTP status.",
                                ("route", "model", "status"), registry=registry)
        self.duration = Histogram("ztoapi_request_duration_seconds",
                                  "Request duration, to the last byte for streams.", ("route",),
                                  buckets=DURATION_BUCKETS, registry=registry)
        self.ttft = Histogram("ztoapi_time_to_first_token_seconds",
                              "Seconds from the request to the first upstream event.", ("model",),
                              buckets=TTFT_BUCKETS, registry=registry)
        self.tokens = Counter("ztoapi_tokens_total", "Tokens in (prompt) and out (completion).",
                              ("direction", "model"), registry=registry)
        self.stream_errors = Counter("ztoapi_stream_errors_total",
                                     "Responses that failed after their 200 status was sent, by error code.",
                                     ("code",), registry=registry)
        # livesum: streams add up across workers, and a dead worker's streams are gone with it
        self.active_streams = Gauge("ztoapi_active_streams", "Streamed responses open now.",
                                    registry=registry, multiprocess_mode="livesum")
        self.upstream_errors = Counter("ztoapi_upstream_errors_total",
                                       "Upstream failures before the first event (each failed attempt, or no "
                                       "usable credential), by error code.",
                                       ("code",), registry=registry)
        self.upstream_retries = Counter("ztoapi_upstream_retries_total",
                                        "Upstream attempts made again after a failure.", registry=registry)
        self.upstream_replies = Counter("ztoapi_upstream_replies_total",
                                        "Requests answered, by the upstream that answered (web, api).",
                                        ("upstream",), registry=registry)
        self.failovers = Counter("ztoapi_upstream_failovers_total",
                                 "Requests sent on to the next upstream in UPSTREAMS after a refusal.",
                                 ("source", "target"), registry=registry)
        # liveall: each worker has its own pool; configured tokens are in every worker's (summing
        # would multiply them) while guests are per worker (a max would hide them), so keep a
        # series per live worker (pid label) and let the query choose sum or max
        self.credentials = Gauge("ztoapi_credentials", "Upstream credentials by kind and state.",
                                 ("kind", "state"), registry=registry, multiprocess_mode="liveall")

    def record(self, record):
        """Count one finished request (a request log record)."""
        route = self.routes.name(record["method"], record["path"])
        model = self.model_label(record["model"])
        self.requests.labels(route, model, str(record["status"])).inc()
        self.duration.labels(route).observe(record["duration_ms"] / 1000)
        if record["ttft_ms"] is not None:
            self.ttft.labels(model).observe(record["ttft_ms"] / 1000)
        if record["tokens_in"]:
            self.tokens.labels("in", model).inc(record["tokens_in"])
        if record["tokens_out"]:
            self.tokens.labels("out", model).inc(record["tokens_out"])
        if record.get("upstream"):
            self.upstream_replies.labels(record["upstream"]).inc()
        if record["error"] and record["status"] < 400:
            self.stream_errors.labels(record["error"]).inc()
        # a scrape sets only the serving worker's gauges: the others refresh theirs as they work
        if self.credentials_refreshed is None or (
                self.clock() - self.credentials_refreshed >= CREDENTIALS_REFRESH_SECONDS):
            self.refresh_credentials()

    def model_label(self, name):
        """The catalog's id for the model a client named (any case or alias), so names cannot
        grow the label set; "" when the request named none."""
        if not name:
            return ""
        model = self.catalog.find(name) if self.catalog else None
        return model.id if model else OTHER

    def failed_over(self, router, source, target):
        self.failovers.labels(source, target).inc()

    def upstream_failed(self, client, code):
        self.upstream_errors.labels(code or OTHER).inc()

    def upstream_retried(self, client):
        self.upstream_retries.inc()

    def refresh_credentials(self):
        """Set the credential gauges from this worker's pool."""
        self.credentials_refreshed = self.clock()
        counts = dict.fromkeys(((kind, state) for kind in CREDENTIAL_KINDS for state in CREDENTIAL_STATES), 0)
        for entry in self.pool.state() if self.pool else ():
            kind = "guest" if entry["guest"] else "configured"
            state = next((state for state in CREDENTIAL_STATES if entry["state"].startswith(state)), None)
            if state:
                counts[kind, state] += 1
        for (kind, state), number in counts.items():
            self.credentials.labels(kind, state).set(number)

    def exposition(self):
        """The text format of every worker's metrics (multiprocess mode) or of this app's."""
        self.refresh_credentials()
        if self.registry is not None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)


class RouteNames:
    """A path's URL rule as a label ("/v1/models/{model_id}"), "other" when no rule matches:
    the label set stays as small as the app's routes whatever paths clients send."""

    def __init__(self, url_map):
        self.url_map = url_map

    def name(self, method, path):
        adapter = self.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method, return_rule=True)
        except MethodNotAllowed as error:   # a known route all the same (405)
            rule, _ = adapter.match(path, error.valid_methods[0], return_rule=True)
        except HTTPException:   # no rule (404), or a redirect to a slash-ended rule
            return OTHER
        return rule_label(rule.rule)


@functools.cache
def rule_label(rule):
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def count_stream(response):
    """Count an event stream as active until its last byte."""
    if response.mimetype == "text/event-stream":
        active_streams = current_app.extensions["metrics"].active_streams
        active_streams.inc()
        response.call_on_close(active_streams.dec)
    return response


def init_app(app):
    """Register the request sink, the upstream signals' receivers and the /metrics route."""
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    web = app.extensions.get("zai")
    metrics = app.extensions["metrics"] = Metrics(
        None if multiprocess else CollectorRegistry(), RouteNames(app.url_map),
        app.extensions.get("catalog"), web.pool if web else None)
    app.extensions["record_sinks"].append(metrics.record)
    for client in app.extensions.get("upstreams", {}).values():
        signals.upstream_failed.connect(metrics.upstream_failed, sender=client)
        signals.upstream_retried.connect(metrics.upstream_retried, sender=client)
    if "upstream" in app.extensions:
        signals.upstream_failed_over.connect(metrics.failed_over, sender=app.extensions["upstream"])
    metrics_key = app.config["SETTINGS"].metrics_key

    def serve_metrics():
        presented = auth.presented_key(request.headers) or ""
        if metrics_key and not hmac.compare_digest(presented.encode(), metrics_key.encode()):
            raise ApiError(401, "/metrics needs Authorization: Bearer <METRICS_KEY>.",
                           code="invalid_metrics_key")
        return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", serve_metrics)
