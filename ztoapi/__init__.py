"""ZtoApi: an OpenAI-compatible API in front of Z.ai's GLM web chat."""
from flask import Flask

from config.settings import Settings
from config.settings import load_dotenv_files


def create_app(settings=None):
    """Build the app; settings default to the environment (and `.env` files)."""
    if settings is None:
        load_dotenv_files()
        settings = Settings.from_env()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False

    from ztoapi import inflight
    inflight.init_app(app)   # first: a request stays in flight until its record is kept

    from ztoapi import requestlog
    requestlog.configure_logging(settings.debug_mode, settings.log_format)
    requestlog.init_app(app)

    from ztoapi import store
    app.extensions["store"] = store.open_store(settings)

    from ztoapi import cors
    cors.init_app(app, settings.cors_origins)

    from ztoapi.zai.client import ZaiClient
    client = app.extensions["zai"] = app.extensions["upstream"] = ZaiClient(settings)

    from ztoapi.catalog import Catalog
    from ztoapi.catalog import parse_aliases
    from ztoapi.images import ImageLoader
    app.extensions["catalog"] = Catalog(client.models, parse_aliases(settings.model_aliases))
    app.extensions["images"] = ImageLoader(settings)

    from ztoapi import limits
    from ztoapi.keys import KeyRing
    app.extensions["keys"] = KeyRing.from_settings(settings)
    limits.init_app(app)

    from ztoapi import ops
    ops.init_app(app)

    from ztoapi import metrics
    metrics.init_app(app)

    from ztoapi.errors import register_error_handlers
    register_error_handlers(app)

    from ztoapi.api import openai
    app.register_blueprint(openai.bp, url_prefix="/v1")

    from ztoapi.api import anthropic
    app.register_blueprint(anthropic.bp, url_prefix="/v1")
    app.register_blueprint(anthropic.bp, url_prefix="/anthropic/v1", name="anthropic_prefixed")

    from ztoapi.api import health
    app.register_blueprint(health.bp)

    from ztoapi.api import docs
    app.register_blueprint(docs.bp)

    if settings.dashboard_enabled:
        from ztoapi.api import dashboard
        app.register_blueprint(dashboard.bp, url_prefix="/dashboard")
    return app
