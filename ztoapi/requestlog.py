"""Request ids and the one log line per request (written when a stream ends, for streams)."""
import logging
import secrets
import time

from flask import g
from flask import request

log = logging.getLogger("ztoapi.access")


def configure_logging(debug):
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ztoapi").setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.INFO if debug else logging.WARNING)


def init_app(app):
    @app.before_request
    def start_request():
        g.request_id = "req_" + secrets.token_hex(16)
        g.started = time.perf_counter()
        g.outcome = {}
        g.summary = {}

    @app.after_request
    def finish_request(response):
        response.headers["x-request-id"] = g.get("request_id") or "req_" + secrets.token_hex(16)
        line = _Line(response.headers["x-request-id"], request.method, request.path,
                     response.status_code, g.get("started"),
                     g.get("summary", {}), g.get("outcome", {}), request.headers.get("User-Agent", ""))
        if response.is_streamed:
            response.call_on_close(line.write)
        else:
            line.write()
        return response


class _Line:
    def __init__(self, request_id, method, path, status, started, summary, outcome, agent):
        self.fields = (request_id, method, path, status, started or time.perf_counter(), summary,
                       outcome, agent)

    def write(self):
        request_id, method, path, status, started, summary, outcome, agent = self.fields
        took = (time.perf_counter() - started) * 1000
        extra = "".join(f" {key}={value}" for key, value in summary.items())
        extra += "".join(f" {key}={outcome[key]}" for key in ("result", "events") if key in outcome)
        log.info('%s %s %s %s %.1fms%s agent="%.60s"', request_id, method, path, status, took, extra,
                 agent)
