"""Every setting ZtoApi reads from the environment, with its default, checked at start-up.

Most configuration is set via environment variables (or a `.env` file in the working directory).
A bad value raises SettingsError with one line naming the variable.
"""
import math
import os
from dataclasses import dataclass
from dataclasses import fields
from urllib.parse import urlsplit

THINK_TAGS_MODES = ("reasoning", "think", "strip", "raw")
PUBLIC_DEFAULT_KEY = "sk-your-key"   # printed in every README: fine on loopback, never to open /dashboard
MODELS_SOURCES = ("auto", "builtin", "upstream")
ZAI_DIALECTS = ("auto", "2026", "2025")
UPSTREAM_NAMES = ("web", "api")   # chat.z.ai's web chat; Z.ai's official API
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """A setting has a value ZtoApi cannot use."""


@dataclass(frozen=True)
class Settings:
    # server
    port: int = 9090                      # PORT
    web_concurrency: int = 1              # WEB_CONCURRENCY: gunicorn worker processes
    debug_mode: bool = False              # DEBUG_MODE: log request summaries and upstream exchanges
    max_request_bytes: int = 20 * 2**20   # MAX_REQUEST_BYTES: larger bodies get 413
    request_read_timeout: float = 30.0    # REQUEST_READ_TIMEOUT: seconds to receive a request's headers and body
    client_write_timeout: float = 30.0    # CLIENT_WRITE_TIMEOUT: seconds a client may leave a write unread
    stream_buffer_bytes: int = 256 * 2**10  # STREAM_BUFFER_BYTES: upstream bytes held per stream before reading pauses
    cors_origins: str = "*"               # CORS_ORIGINS: "*" or comma-separated allowed origins
    # clients
    default_key: str = PUBLIC_DEFAULT_KEY  # DEFAULT_KEY: the API key clients send as Bearer
    default_stream: bool = True           # DEFAULT_STREAM: stream when a request omits `stream`
    enable_thinking: bool = True          # ENABLE_THINKING: ask GLM to think before answering
    think_tags_mode: str = "reasoning"    # THINK_TAGS_MODE: reasoning | think | strip | raw
    models_source: str = "auto"           # MODELS_SOURCE: auto (2026: chat.z.ai's list) | builtin | upstream
    model_aliases: str = ""               # MODEL_ALIASES: "name=target" pairs, e.g. GLM-4.6=glm-4.7
    max_image_bytes: int = 10 * 2**20     # MAX_IMAGE_BYTES: largest image accepted
    max_images: int = 10                  # MAX_IMAGES: images one request may carry
    max_image_bytes_per_request: int = 20 * 2**20  # MAX_IMAGE_BYTES_PER_REQUEST: all of a request's images together
    image_fetch_timeout: float = 10.0     # IMAGE_FETCH_TIMEOUT: seconds to fetch one image URL, in all
    image_request_timeout: float = 30.0   # IMAGE_REQUEST_TIMEOUT: seconds for all of a request's images
    allow_private_image_urls: bool = False  # ALLOW_PRIVATE_IMAGE_URLS: fetch from private addresses
    # upstream
    upstream_url: str = "https://chat.z.ai/api/chat/completions"  # UPSTREAM_URL: its origin names chat.z.ai
    zai_dialect: str = "auto"             # ZAI_DIALECT: auto (ask chat.z.ai's /api/config) | 2026 | 2025
    zai_token: str = ""                   # ZAI_TOKEN: logged-in token; empty = guest tokens
    anon_token_enabled: bool = True       # ANON_TOKEN_ENABLED: mint guest tokens
    zai_fe_version: str = ""              # ZAI_FE_VERSION: X-FE-Version; empty = built-in
    zai_signing_secret: str = ""          # ZAI_SIGNING_SECRET: empty = built-in secret
    upstream_connect_timeout: float = 10.0  # UPSTREAM_CONNECT_TIMEOUT: seconds
    upstream_first_event_timeout: float = 60.0  # UPSTREAM_FIRST_EVENT_TIMEOUT: request → first event
    upstream_read_timeout: float = 120.0    # UPSTREAM_READ_TIMEOUT: longest gap between events
    upstream_max_retries: int = 2         # UPSTREAM_MAX_RETRIES: extra attempts before the first byte
    upstreams: str = "web"                # UPSTREAMS: web | api | web,api | api,web (order of preference)
    zai_api_key: str = ""                 # ZAI_API_KEY: Z.ai API keys, comma- or newline-separated
    zai_api_base: str = "https://api.z.ai/api/paas/v4"  # ZAI_API_BASE: the API's base URL
    zai_api_models: str = ""              # ZAI_API_MODELS: API model ids to offer; empty = its GET /models
    sse_keepalive_seconds: float = 15.0   # SSE_KEEPALIVE_SECONDS: `: keep-alive` during silences; 0 = off
    guest_pool_size: int = 3              # GUEST_POOL_SIZE: guest tokens kept at once
    token_cooldown_seconds: float = 30.0  # TOKEN_COOLDOWN_SECONDS: first rest of a rate-limited token
    allow_client_tokens: bool = False     # ALLOW_CLIENT_TOKENS: honour a client's X-ZAI-Token header
    upstream_pool_size: int = 2000        # UPSTREAM_POOL_SIZE: kept-alive upstream connections
    upstream_proxy: str = ""              # UPSTREAM_PROXY: http(s) proxy for upstream calls
    # operations
    data_dir: str = "./data"              # DATA_DIR: SQLite state and metrics files
    redis_url: str = ""                   # REDIS_URL: shared state in Redis instead of SQLite
    api_keys: str = ""                    # API_KEYS: more client keys, "name:key[:rpm=n...][:think=mode]", comma-separated
    api_keys_file: str = ""               # API_KEYS_FILE: the same, one key a line
    rate_limit_rpm: int = 0               # RATE_LIMIT_RPM: requests per minute per key; 0 = none
    rate_limit_streams: int = 0           # RATE_LIMIT_STREAMS: concurrent requests per key; 0 = none
    rate_limit_tokens_per_day: int = 0    # RATE_LIMIT_TOKENS_PER_DAY: tokens in+out per key a UTC day; 0 = none
    responses_ttl: float = 86400.0        # RESPONSES_TTL: seconds a stored Responses API response is kept
    dashboard_enabled: bool = True        # DASHBOARD_ENABLED: serve /dashboard
    dashboard_key: str = ""               # DASHBOARD_KEY: key for /dashboard; empty = any API key
    metrics_key: str = ""                 # METRICS_KEY: Bearer key for /metrics; empty = open
    auth_failures_per_minute: int = 30    # AUTH_FAILURES_PER_MINUTE: wrong keys and sign-ins per client address; 0 = none
    log_format: str = "text"              # LOG_FORMAT: text | json

    @property
    def upstream_names(self):
        """UPSTREAMS as a tuple, in order of preference."""
        return tuple(name.strip().lower() for name in self.upstreams.split(",") if name.strip())

    @property
    def zai_api_keys(self):
        """ZAI_API_KEY's keys (comma- or newline-separated)."""
        return tuple(key.strip() for key in self.zai_api_key.replace("\n", ",").split(",") if key.strip())

    @property
    def upstream_origin(self):
        parts = urlsplit(self.upstream_url)
        return f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_env(cls, environ=None, **overrides):
        """Read every setting from `environ` (default os.environ); `overrides` win."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            name = field.name.upper()
            if field.name in overrides:
                values[field.name] = overrides[field.name]
            elif name in environ:
                values[field.name] = _parse(name, field.type, environ[name])
        settings = cls(**values)
        settings.check()
        return settings

    def check(self):
        """Raise SettingsError for values that parse but cannot work."""
        if not 1 <= self.port <= 65535:
            raise SettingsError(f"PORT must be between 1 and 65535, got {self.port}")
        if self.web_concurrency < 1:
            raise SettingsError("WEB_CONCURRENCY must be at least 1")
        if self.think_tags_mode not in THINK_TAGS_MODES:
            raise SettingsError(
                f"THINK_TAGS_MODE must be one of {', '.join(THINK_TAGS_MODES)}, "
                f"got {self.think_tags_mode!r}")
        if self.models_source not in MODELS_SOURCES:
            raise SettingsError(f"MODELS_SOURCE must be one of {', '.join(MODELS_SOURCES)}, "
                                f"got {self.models_source!r}")
        if self.zai_dialect not in ZAI_DIALECTS:
            raise SettingsError(f"ZAI_DIALECT must be one of {', '.join(ZAI_DIALECTS)}, "
                                f"got {self.zai_dialect!r}")
        for pair in filter(str.strip, self.model_aliases.replace("\n", ",").split(",")):
            name, equals, target = pair.partition("=")
            if not equals or not name.strip() or not target.strip():
                raise SettingsError(f"MODEL_ALIASES must be name=target pairs, got {pair.strip()!r}")
        parts = urlsplit(self.upstream_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(f"UPSTREAM_URL must be an http(s) URL, got {self.upstream_url!r}")
        if not self.default_key:
            raise SettingsError("DEFAULT_KEY must not be empty")
        names = self.upstream_names
        if not names or len(set(names)) != len(names) or not set(names) <= set(UPSTREAM_NAMES):
            raise SettingsError(f"UPSTREAMS must be web, api, web,api or api,web, got {self.upstreams!r}")
        if "web" in names and not self.zai_token and not self.anon_token_enabled:
            raise SettingsError("set ZAI_TOKEN or ANON_TOKEN_ENABLED=true: no upstream credential")
        if "api" in names and not self.zai_api_keys:
            raise SettingsError("UPSTREAMS includes api: set ZAI_API_KEY (a Z.ai API key)")
        api_base = urlsplit(self.zai_api_base)
        if api_base.scheme not in ("http", "https") or not api_base.netloc:
            raise SettingsError(f"ZAI_API_BASE must be an http(s) URL, got {self.zai_api_base!r}")
        for name in ("upstream_connect_timeout", "upstream_first_event_timeout",
                     "upstream_read_timeout", "token_cooldown_seconds", "image_fetch_timeout",
                     "image_request_timeout", "request_read_timeout", "client_write_timeout",
                     "responses_ttl"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be a positive number of seconds")
        for name in ("upstream_pool_size", "max_request_bytes", "guest_pool_size", "max_image_bytes",
                     "max_images", "max_image_bytes_per_request", "stream_buffer_bytes"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name.upper()} must be at least 1")
        if self.upstream_max_retries < 0 or self.sse_keepalive_seconds < 0:
            raise SettingsError("UPSTREAM_MAX_RETRIES and SSE_KEEPALIVE_SECONDS must not be negative")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"LOG_FORMAT must be text or json, got {self.log_format!r}")
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        for name in ("rate_limit_rpm", "rate_limit_streams", "rate_limit_tokens_per_day",
                     "auth_failures_per_minute"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name.upper()} must not be negative")
        if self.upstream_proxy and urlsplit(self.upstream_proxy).scheme not in (
                "http", "https", "socks5", "socks5h"):
            raise SettingsError("UPSTREAM_PROXY must be an http(s):// or socks5:// URL")


def _parse(name, kind, raw):
    text = raw.strip()
    if kind in (bool, "bool"):
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    if kind in (int, "int"):
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if kind in (float, "float"):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise SettingsError(f"{name} must be a number, got {raw!r}")
        return value
    return text


def load_dotenv_files():
    """Load `.env.local` then `.env` from the working directory, never overriding the environment."""
    for path in (".env.local", ".env"):
        if os.path.exists(path):
            from dotenv import load_dotenv
            load_dotenv(path, override=False)
