"""The models ZtoApi offers: public ids, their chat.z.ai ids, capabilities and defaults.

The documented three (GLM-4.5, GLM-4.6, GLM-4.5V) come first; GLM-4.5-Air and the `-Thinking`
(thinking always on) and `-Search` (web search on) variants of the text models follow. With
MODELS_SOURCE=upstream, chat.z.ai's own list adds the models it has that this table lacks.
"""
import logging
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from ztoapi.errors import ApiError

log = logging.getLogger("ztoapi")
DISCOVERY_SECONDS = 10 * 60


@dataclass(frozen=True)
class Model:
    id: str
    upstream_id: str
    created: int
    vision: bool = False
    search: bool = False
    thinking: bool | None = None   # None: the request or ENABLE_THINKING decides
    defaults: dict = field(default_factory=dict)
    aliases: tuple = ()

    def card(self):
        """The OpenAI `model` object, with capabilities as extra fields."""
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": "z.ai",
                "capabilities": {"vision": self.vision, "thinking": True,
                                 "thinking_forced": self.thinking is True, "search": self.search}}


TEXT_DEFAULTS = {"top_p": 0.95, "temperature": 0.6}
VISION_DEFAULTS = {"top_p": 0.6, "temperature": 0.8}


def variants(model):
    """The -Thinking (thinking always on) and -Search (web search on) variants of a text model."""
    return (replace(model, id=f"{model.id}-Thinking", thinking=True, aliases=()),
            replace(model, id=f"{model.id}-Search", search=True, aliases=()))


GLM_45 = Model("GLM-4.5", "0727-360B-API", 1753574400, defaults=TEXT_DEFAULTS,
               aliases=("glm4.5", "0727-360B-API"))
GLM_46 = Model("GLM-4.6", "GLM-4-6-API-V1", 1759190400, defaults=TEXT_DEFAULTS,
               aliases=("glm4.6", "glm-4-6", "GLM-4-6-API-V1"))
GLM_45V = Model("GLM-4.5V", "glm-4.5v", 1754956800, vision=True, defaults=VISION_DEFAULTS,
                aliases=("glm4.5v",))
GLM_45_AIR = Model("GLM-4.5-Air", "0727-106B-API", 1753574400, defaults=TEXT_DEFAULTS,
                   aliases=("glm4.5-air", "0727-106B-API"))
MODELS = (GLM_45, GLM_46, GLM_45V, GLM_45_AIR,
          *variants(GLM_45), *variants(GLM_46), *variants(GLM_45_AIR))


def index(models):
    return {name.lower(): model for model in models for name in (model.id, *model.aliases)}


class Catalog:
    """The model table, optionally merged with chat.z.ai's own list (cached)."""

    def __init__(self, discover=None, clock=time.monotonic):
        self.discover = discover
        self.clock = clock
        self._models = MODELS
        self._index = index(MODELS)
        self._checked = None
        self._lock = threading.Lock()

    def models(self):
        if self.discover is not None:
            self._refresh_if_stale()
        return self._models

    def find(self, name):
        """The model called `name` (any case, or an alias), or None."""
        if not isinstance(name, str):
            return None
        self.models()
        return self._index.get(name.lower())

    def get_or_404(self, name):
        model = self.find(name)
        if model is None:
            raise ApiError(404, f"The model `{name}` does not exist or you do not have access to it.",
                           code="model_not_found", param="model")
        return model

    def _refresh_if_stale(self):
        if self._checked is not None and self.clock() - self._checked < DISCOVERY_SECONDS:
            return
        with self._lock:
            if self._checked is not None and self.clock() - self._checked < DISCOVERY_SECONDS:
                return
            self._checked = self.clock()
            try:
                entries = self.discover()
            except Exception as error:   # any failure: keep serving the table we have
                log.warning("could not read chat.z.ai's model list (%s); using the built-in table",
                            type(error).__name__)
                return
            models = merge(entries)
            self._models, self._index = models, index(models)


def merge(entries):
    """The built-in table plus chat.z.ai's active models it does not have."""
    known = {model.upstream_id.lower() for model in MODELS}
    extra = []
    for entry in entries:
        info = entry.get("info") or {}
        upstream_id = entry.get("id")
        if not upstream_id or info.get("is_active") is False or upstream_id.lower() in known:
            continue
        capabilities = (info.get("meta") or {}).get("capabilities") or {}
        extra.append(Model(entry.get("name") or upstream_id, upstream_id,
                           int(info.get("created_at") or 0), vision=bool(capabilities.get("vision")),
                           aliases=(upstream_id,)))
        known.add(upstream_id.lower())
    return MODELS + tuple(extra)
