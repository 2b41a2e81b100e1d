"""The models chat.z.ai offers, per dialect.

2025: the built-in table (GLM-4.5, GLM-4.6, GLM-4.5V, GLM-4.5-Air), optionally with what
chat.z.ai's list adds (MODELS_SOURCE=upstream). 2026: chat.z.ai's own GET /api/models, read at
start-up and every REFRESH_SECONDS, under the names chat.z.ai shows (GLM-4.7, GLM-5.3-Flash…)
with their capabilities; the built-in 2026 table only while that list cannot be read
(MODELS_SOURCE=builtin keeps to it). Text models get -Thinking and -Search variants.

Names chat.z.ai no longer offers (GLM-4.6, GLM-4.5V) are never substituted silently: RETIRED
names what continues their line, for the 404 (or for MODEL_ALIASES, set on purpose).
"""
import logging
import time
from dataclasses import replace

import orjson

from ztoapi.catalog import Model
from ztoapi.catalog import variants
from ztoapi.zai.refresh import Refreshed

log = logging.getLogger("ztoapi.upstream")
REFRESH_SECONDS = 10 * 60

TEXT_DEFAULTS = {"top_p": 0.95, "temperature": 0.6}
VISION_DEFAULTS = {"top_p": 0.6, "temperature": 0.8}
GLM_45 = Model("GLM-4.5", "0727-360B-API", 1753574400, defaults=TEXT_DEFAULTS,
               aliases=("glm4.5", "0727-360B-API"))
GLM_46 = Model("GLM-4.6", "GLM-4-6-API-V1", 1759190400, defaults=TEXT_DEFAULTS,
               aliases=("glm4.6", "glm-4-6", "GLM-4-6-API-V1"))
GLM_45V = Model("GLM-4.5V", "glm-4.5v", 1754956800, vision=True, defaults=VISION_DEFAULTS,
                aliases=("glm4.5v",))
GLM_45_AIR = Model("GLM-4.5-Air", "0727-106B-API", 1753574400, defaults=TEXT_DEFAULTS,
                   aliases=("glm4.5-air", "0727-106B-API"))
MODELS_2025 = (GLM_45, GLM_46, GLM_45V, GLM_45_AIR,
               *variants(GLM_45), *variants(GLM_46), *variants(GLM_45_AIR))

# chat.z.ai's catalogue of September 2026 (reference/zai-protocol-2026.md §5), for when it cannot be read
BASE_2026 = (
    Model("GLM-5.3-Flash", "x-preview-l", 1787702400, aliases=("x-preview-l",)),
    Model("GLM-5.3", "glm-5.3", 1786665600),
    Model("GLM-5.2", "glm-5.2", 1781654400, reasoning_effort=True),
    Model("GLM-5-Turbo", "GLM-5-Turbo", 1775779200),
    Model("GLM-5V-Turbo", "GLM-5v-Turbo", 1775779200, vision=True),
    Model("GLM-4.7", "glm-4.7", 1766448000),
    Model("GLM-4.6V", "glm-4.6v", 1766448000, vision=True),
    replace(GLM_45, defaults={}), replace(GLM_45_AIR, defaults={}),
)
RETIRED = {"glm-4.6": "GLM-4.7", "glm4.6": "GLM-4.7", "glm-4-6": "GLM-4.7",
           "glm-4-6-api-v1": "GLM-4.7", "glm-4.5v": "GLM-4.6V", "glm4.5v": "GLM-4.6V"}
# the documentation's names stay on their chat.z.ai ids whatever chat.z.ai calls them now
DOCUMENTED = {"0727-360B-API": "GLM-4.5", "0727-106B-API": "GLM-4.5-Air"}


def with_variants(models):
    """The models, then the -Thinking and -Search variants of the text models that can."""
    extra = []
    for model in models:
        if model.vision:
            continue
        thinking, search = variants(model)
        extra += [thinking] if model.can_think else []
        extra += [search] if model.can_search else []
    return tuple(models) + tuple(extra)


MODELS_2026 = with_variants(BASE_2026)


def from_entries(entries):
    """Models from chat.z.ai's /api/models entries (Open WebUI shape): the active ones, named as
    chat.z.ai shows them, known by their upstream id too, with their capabilities."""
    models, names = [], set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        info = entry.get("info") if isinstance(entry.get("info"), dict) else {}
        upstream_id = entry.get("id")
        name = entry.get("name") or upstream_id
        if not isinstance(upstream_id, str) or not upstream_id or info.get("is_active") is False:
            continue
        if not isinstance(name, str) or name.lower() in names:
            continue
        meta = info.get("meta") if isinstance(info.get("meta"), dict) else {}
        capabilities = meta.get("capabilities") if isinstance(meta.get("capabilities"), dict) else {}
        names.update((name.lower(), upstream_id.lower()))
        created = info.get("created_at")
        aliases = {upstream_id, DOCUMENTED.get(upstream_id, upstream_id)} - {name}
        models.append(Model(
            name, upstream_id, int(created) if isinstance(created, (int, float)) else 0,
            vision=bool(capabilities.get("vision")),
            can_think=capabilities.get("think") is not False,
            can_search=capabilities.get("web_search") is not False,
            reasoning_effort=bool(capabilities.get("reasoning_effort")),
            aliases=tuple(sorted(aliases))))
    return with_variants(models)


def merge_2025(entries):
    """The 2025 table plus chat.z.ai's active models it does not have (MODELS_SOURCE=upstream)."""
    known = {model.upstream_id.lower() for model in MODELS_2025}
    extra = tuple(model for model in from_entries(entries)
                  if model.upstream_id.lower() not in known and not model.id.endswith(("-Thinking", "-Search")))
    return MODELS_2025 + extra


class WebModels:
    """The model list of the current dialect, chat.z.ai's own read in the background once known."""

    def __init__(self, read_entries, source, clock=time.monotonic):
        self.read_entries = read_entries   # () -> the `data` list of GET /api/models; raises on failure
        self.source = source               # MODELS_SOURCE: auto | builtin | upstream
        self._live = None         # {dialect: models} from the last list read
        self._reads = Refreshed(self._read, REFRESH_SECONDS, clock=clock)

    def models(self, dialect):
        if self.source == "builtin" or (dialect == "2025" and self.source == "auto"):
            return MODELS_2025 if dialect == "2025" else MODELS_2026
        self._reads.get()
        live = self._live
        if live is None or not live["2026"]:
            return MODELS_2025 if dialect == "2025" else MODELS_2026
        return live[dialect]

    def _read(self):
        try:
            entries = self.read_entries()
            if not isinstance(entries, list):
                raise ValueError("no model list")
        except Exception as error:   # any failure: keep the list we have (or the built-in one)
            log.warning("could not read chat.z.ai's model list (%s); %s", type(error).__name__,
                        "keeping the last one read" if self._live else "using the built-in table")
            return
        self._live = {"2025": merge_2025(entries), "2026": from_entries(entries)}


def parse_entries(content):
    """The `data` list of a GET /api/models body."""
    return orjson.loads(content)["data"]
