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
    set_up_services(app, settings)
    register_hooks(app)
    register_routes(app, settings)
    return app


def set_up_services(app, settings):
    """What requests use, each in app.extensions: the request log and its record sinks, the shared
    store, the upstreams (UPSTREAMS) behind their router, the model catalogue, the image loader, client keys and limits,
    credential reporting and metrics."""
    from ztoapi import cors
    from ztoapi import inflight
    from ztoapi import limits
    from ztoapi import metrics
    from ztoapi import ops
    from ztoapi import requestlog
    from ztoapi import store
    from ztoapi.catalog import Catalog
    from ztoapi.catalog import parse_aliases
    from ztoapi.images import ImageLoader
    from ztoapi.keys import KeyRing
    from ztoapi.openai_responses.stored import StoredResponses
    from ztoapi.upstream.router import Router
    from ztoapi.zai.client import ZaiClient
    from ztoapi.zaiapi.client import ApiClient

    inflight.init_app(app)
    requestlog.configure_logging(settings.debug_mode, settings.log_format)
    requestlog.init_app(app)
    cors.init_app(app, settings.cors_origins)
    app.extensions["store"] = store.open_store(settings)
    upstreams = app.extensions["upstreams"] = {}
    if "web" in settings.upstream_names:
        upstreams["web"] = ZaiClient(settings)
    if "api" in settings.upstream_names:
        upstreams["api"] = ApiClient(settings)
    app.extensions["zai"] = upstreams.get("web")
    router = app.extensions["upstream"] = Router(settings.upstream_names, upstreams)
    app.extensions["catalog"] = Catalog(router.models, parse_aliases(settings.model_aliases))
    app.extensions["images"] = ImageLoader(settings)
    app.extensions["keys"] = KeyRing.from_settings(settings)
    app.extensions["responses"] = StoredResponses(app.extensions["store"], settings.responses_ttl)
    limits.init_app(app)
    ops.init_app(app)
    metrics.init_app(app)


def register_hooks(app):
    from ztoapi import hooks
    from ztoapi.errors import register_error_handlers

    hooks.register(app)
    register_error_handlers(app)


def register_routes(app, settings):
    """The three client protocols over the one pipeline, the model list they share, and the
    operational pages."""
    from ztoapi.anthropic_messages import views as anthropic_messages
    from ztoapi.api import dashboard
    from ztoapi.api import docs
    from ztoapi.api import health
    from ztoapi.api import models
    from ztoapi.openai_chat import views as openai_chat
    from ztoapi.openai_responses import views as openai_responses

    app.register_blueprint(openai_chat.bp, url_prefix="/v1")
    app.register_blueprint(openai_responses.bp, url_prefix="/v1")
    app.register_blueprint(anthropic_messages.bp, url_prefix="/v1")
    app.register_blueprint(anthropic_messages.bp, url_prefix="/anthropic/v1", name="anthropic_prefixed")
    app.register_blueprint(models.bp, url_prefix="/v1")
    app.register_blueprint(models.bp, url_prefix="/anthropic/v1", name="models_under_anthropic")
    app.register_blueprint(health.bp)
    app.register_blueprint(docs.bp)
    if settings.dashboard_enabled:
        app.register_blueprint(dashboard.bp, url_prefix="/dashboard")
