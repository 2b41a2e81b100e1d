"""gunicorn settings for ZtoApi.

Imports no application code: the gevent worker must monkey-patch before Flask and requests load.
"""
import glob
import os
import re
import shutil
import sys

from config.settings import PUBLIC_DEFAULT_KEY
from config.settings import Settings
from config.settings import SettingsError
from config.settings import load_dotenv_files

LOOPBACK = ("127.", "localhost", "[::1]", "unix:")

load_dotenv_files()
try:
    _settings = Settings.from_env()
except SettingsError as error:
    sys.stderr.write(f"ztoapi: invalid setting: {error}\n")
    sys.exit(2)

bind = f"0.0.0.0:{_settings.port}"
workers = _settings.web_concurrency
# gunicorn's gevent worker, plus a total read deadline per request (REQUEST_READ_TIMEOUT) and
# gunicorn's own rejections (400, 414, 431...) in the JSON error envelope: config/gunicorn_worker.py
worker_class = "config.gunicorn_worker.ZtoApiWorker"
worker_connections = 10000   # concurrent clients per worker; streams are mostly idle waiting
timeout = 60                 # heartbeat of a worker; gevent workers notify between requests
graceful_timeout = 30        # let open streams finish on restart/deploy
keepalive = 75               # longer than common load balancer idle timeouts (60 s)
accesslog = None             # ZtoApi writes its own one line per request
errorlog = "-"
loglevel = "debug" if _settings.debug_mode else "info"


def raise_open_file_limit():
    """Each stream holds two descriptors (client and upstream): lift the soft limit (often 1,024)
    to the hard one, so a worker's worker_connections are not cut short by it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


raise_open_file_limit()


def when_ready(server):
    """Once the sockets are bound (a server that fails to start, its port taken, never touches a
    running server's files): give the workers a directory for their metrics files (see
    ztoapi/metrics.py), emptied, and warn when the public default key is open beyond loopback.

    The directory is DATA_DIR/metrics-<bind address> by default: one per server, removed on exit.
    An operator's PROMETHEUS_MULTIPROC_DIR is kept; only the files of its last run are removed.
    """
    address = re.sub(r"[^A-Za-z0-9.]+", "-", server.cfg.bind[0]).strip("-")
    default = os.path.abspath(os.path.join(_settings.data_dir, f"metrics-{address}"))
    path = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", default)
    if path == default:
        server.metrics_dir_made = path
    os.makedirs(path, exist_ok=True)
    if not server.master_pid:   # after a USR2 upgrade the old master's workers still write here
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)
    open_binds = [bind for bind in server.cfg.bind if not bind.startswith(LOOPBACK)]
    if _settings.default_key == PUBLIC_DEFAULT_KEY and open_binds:
        server.log.warning("DEFAULT_KEY is the public default (%s) and the server listens on %s: "
                           "anyone who can reach it can use it. Set DEFAULT_KEY to a key of your "
                           "own, or listen on 127.0.0.1 only.", PUBLIC_DEFAULT_KEY, ", ".join(open_binds))


def child_exit(server, worker):
    """Forget a dead worker's live gauges (open streams, credentials); its counts still add up."""
    # imported here, not at the top: prometheus_client picks its multiprocess mode when first
    # imported, and the workers inherit the master's modules
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    made = getattr(server, "metrics_dir_made", None)
    if made and not server.reexec_pid:   # a new master (USR2) may be using it
        shutil.rmtree(made, ignore_errors=True)


def post_worker_init(worker):
    """On shutdown, exit once no request is in flight.

    gunicorn's gevent worker otherwise waits for idle keep-alive connections (SDK clients keep
    them open) until graceful_timeout, which makes every deploy take that long.
    """
    import os

    import gevent

    inflight = worker.wsgi.extensions["inflight"]

    def start_up():
        """Read chat.z.ai's dialect, front-end version and model list (and the API's models)
        now, not on the first request; the first worker then says in one line what the server is."""
        from ztoapi.startup import start_up_line   # a worker's import: gevent has patched by now
        worker.wsgi.extensions["upstream"].warm()
        if worker.age == 1:
            worker.log.info("%s", start_up_line(worker.wsgi, worker.cfg.bind[0]))

    gevent.spawn(start_up)

    def exit_when_drained():
        while worker.alive:
            gevent.sleep(0.25)
        gevent.sleep(1.0)   # the gevent worker may still accept for up to 1 s after alive turns False
        while inflight.count:
            gevent.sleep(0.1)
        worker.log.info("Worker %s drained: no request in flight, exiting", worker.pid)
        worker.wsgi.extensions["records"].flush()   # os._exit skips every exit hook
        os._exit(0)

    gevent.spawn(exit_when_drained)


def worker_exit(server, worker):
    """A worker that ends another way (a quick shutdown) writes its queued request records first."""
    records = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get("records")
    if records:
        records.flush()
