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
