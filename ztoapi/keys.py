"""Client API keys: DEFAULT_KEY plus the named keys of API_KEYS / API_KEYS_FILE, with their limits.

An entry is `name:key`, optionally followed by limits, `name:key:rpm=60:streams=2:tpd=100000`
(requests per minute, concurrent requests, tokens per UTC day; 0 = no limit), by `think=<mode>`,
where its chat completions put GLM's reasoning (a THINK_TAGS_MODE value; a request's
X-Think-Tags-Mode header still wins), and by the word `dashboard`, `name:key:rpm=60:dashboard`,
for a key whose holder sees everyone's traffic on the dashboard (without it, and when DASHBOARD_KEY
is unset, a named key sees its own traffic only; DEFAULT_KEY, the operator's, sees everything).
Entries are comma-separated in API_KEYS and one a line in API_KEYS_FILE (`#` starts a comment).
Keys are held only as SHA-256 digests; logs and pages name a key by its name and prefix."""
import hashlib
from dataclasses import dataclass

from config.settings import THINK_TAGS_MODES
from config.settings import SettingsError

LIMIT_NAMES = {"rpm": "rpm", "streams": "streams", "tpd": "tokens_per_day",
               "tokens_per_day": "tokens_per_day"}
PREFIX_CHARS = 6


@dataclass(frozen=True)
class ClientKey:
    name: str
    prefix: str            # the first characters, to recognise a key without knowing it
    rpm: int = 0
    streams: int = 0
    tokens_per_day: int = 0
    dashboard: bool = False   # its holder sees every key's traffic on the dashboard
    think: str | None = None  # where its chat completions put reasoning; None = THINK_TAGS_MODE


def digest(key):
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_prefix(key):
    return key[:PREFIX_CHARS] + "…"


class KeyRing:
    """Finds the ClientKey a presented key belongs to."""

    def __init__(self, entries):
        self.by_digest = {}
        for name, key, limits in entries:
            if digest(key) in self.by_digest:
                raise SettingsError(f"API key of {name!r} is given twice")
            self.by_digest[digest(key)] = ClientKey(name, key_prefix(key), **limits)

    @classmethod
    def from_settings(cls, settings):
        defaults = {"rpm": settings.rate_limit_rpm, "streams": settings.rate_limit_streams,
                    "tokens_per_day": settings.rate_limit_tokens_per_day}
        lines = [line for line in settings.api_keys.split(",")]
        if settings.api_keys_file:
            try:
                with open(settings.api_keys_file, encoding="utf-8") as file:
                    lines += [line.split("#", 1)[0] for line in file]
            except OSError as error:
                raise SettingsError(f"API_KEYS_FILE cannot be read: {error.strerror}") from None
        entries = [("default", settings.default_key, {**defaults, "dashboard": True})]
        entries += [parse_entry(line, defaults) for line in lines if line.strip()]
        return cls(entries)

    def find(self, key):
        """The ClientKey for `key`, or None."""
        return self.by_digest.get(digest(key))

    def keys(self):
        return list(self.by_digest.values())

    def named(self, name):
        """The keys called `name` (two while one is being replaced by the other)."""
        return [key for key in self.by_digest.values() if key.name == name]


def parse_entry(text, defaults):
    """(name, key, limits and options) of one `name:key[:limit=n...][:think=mode][:dashboard]` entry."""
    name, _, rest = text.strip().partition(":")
    key, *limit_texts = rest.split(":")
    if not name or not key:
        raise SettingsError("API_KEYS entries are "
                            "name:key[:rpm=n:streams=n:tpd=n][:think=mode][:dashboard]")
    limits = dict(defaults)
    for limit_text in limit_texts:
        if limit_text.strip() == "dashboard":
            limits["dashboard"] = True
            continue
        limit_name, _, value = limit_text.partition("=")
        if limit_name.strip() == "think":
            limits["think"] = think_mode(name.strip(), value)
            continue
        if limit_name.strip() not in LIMIT_NAMES or not value.strip().isdigit():
            raise SettingsError(f"API key {name!r}: {limit_text!r} is not rpm=n, streams=n, tpd=n, "
                                "think=mode or dashboard")
        limits[LIMIT_NAMES[limit_name.strip()]] = int(value)
    return name.strip(), key.strip(), limits


def think_mode(name, value):
    """The THINK_TAGS_MODE value of a key's `think=` option; SettingsError naming the key otherwise."""
    mode = value.strip().lower()
    if mode not in THINK_TAGS_MODES:
        raise SettingsError(f"API key {name!r}: think must be one of {', '.join(THINK_TAGS_MODES)}, "
                            f"got {value.strip()!r}")
    return mode
