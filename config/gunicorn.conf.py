"""gunicorn settings for ZtoApi.

Imports no application code: the gevent worker must monkey-patch before Flask and requests load.
"""
import sys

from config.settings import Settings
from config.settings import SettingsError
from config.settings import load_dotenv_files

load_dotenv_files()
try:
    _settings = Settings.from_env()
except SettingsError as error:
    sys.stderr.write(f"ztoapi: invalid setting: {error}\n")
    sys.exit(2)

bind = f"0.0.0.0:{_settings.port}"
workers = _settings.web_concurrency
worker_class = "gevent"
worker_connections = 10000   # concurrent clients per worker; streams are mostly idle waiting
timeout = 60                 # heartbeat of a worker; gevent workers notify between requests
graceful_timeout = 30        # let open streams finish on restart/deploy
keepalive = 75               # longer than common load balancer idle timeouts (60 s)
accesslog = None             # ZtoApi writes its own one line per request
errorlog = "-"
loglevel = "debug" if _settings.debug_mode else "info"


def post_worker_init(worker):
    """On shutdown, exit once no request is in flight.

    gunicorn's gevent worker otherwise waits for idle keep-alive connections (SDK clients keep
    them open) until graceful_timeout, which makes every deploy take that long.
    """
    import os

    import gevent

    inflight = worker.wsgi.extensions["inflight"]

    def exit_when_drained():
        while worker.alive:
            gevent.sleep(0.25)
        while inflight.count:
            gevent.sleep(0.1)
        worker.log.info("Worker %s drained: no request in flight, exiting", worker.pid)
        os._exit(0)

    gevent.spawn(exit_when_drained)
