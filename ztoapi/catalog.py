"""The models ZtoApi offers: public names, the upstream that serves them, capabilities, defaults.

The upstream supplies its list (ztoapi.zai.models for chat.z.ai, per dialect); this module finds a
model by any spelling of its name, adds the operator's MODEL_ALIASES ("GLM-4.6=glm-4.7", an alias
pointing at a model by its name or upstream id), and answers a name nobody serves with OpenAI's
404, naming what continues the line when the upstream retired it.
"""
import logging
import threading
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from ztoapi.errors import ApiError

log = logging.getLogger("ztoapi")


@dataclass(frozen=True)
class Model:
    id: str
    upstream_id: str
    created: int
    vision: bool = False
    search: bool = False             # the -Search variant: web search on
    thinking: bool | None = None     # True for the -Thinking variant; None: the request decides
    can_think: bool = True
    can_search: bool = True
    reasoning_effort: bool = False   # the upstream takes a reasoning effort for it
    defaults: dict = field(default_factory=dict)
    aliases: tuple = ()
    upstreams: tuple = ("web",)      # who serves it, in UPSTREAMS order ("web", "api")
    api_id: str = ""                 # its id in Z.ai's API, when the API serves it

    def card(self):
        """The OpenAI `model` object, with capabilities as extra fields."""
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": "z.ai",
                "capabilities": {"vision": self.vision, "thinking": self.can_think,
                                 "thinking_forced": self.thinking is True,
                                 "search": self.search, "reasoning_effort": self.reasoning_effort},
                "upstreams": list(self.upstreams)}


VARIANT_SUFFIXES = ("-Thinking", "-Search")


def variants(model):
    """The -Thinking (thinking always on) and -Search (web search on) variants of a text model."""
    return (replace(model, id=f"{model.id}-Thinking", thinking=True, aliases=()),
            replace(model, id=f"{model.id}-Search", search=True, aliases=()))


def parse_aliases(text):
    """MODEL_ALIASES: "name=target" pairs, comma- or newline-separated."""
    pairs = []
    for item in text.replace("\n", ",").split(","):
        if item.strip():
            name, _, target = item.partition("=")
            pairs.append((name.strip(), target.strip()))
    return pairs


class Catalog:
    """The upstream's models by name. `source()` returns (models, retired): the current tuple of
    Models and {retired name (lower case): what continues it}; a new tuple rebuilds the index."""

    def __init__(self, source, aliases=()):
        self.source = source
        self.aliases = list(aliases)
        self._built_from = None
        self._models = ()
        self._index = {}
        self._retired = {}
        self._lock = threading.Lock()

    def models(self):
        models, retired = self.source()
        if models is not self._built_from:
            with self._lock:
                if models is not self._built_from:
                    self._build(models, retired)
        return self._models

    def find(self, name):
        """The model called `name` (any case, an alias or its upstream id), or None."""
        if not isinstance(name, str):
            return None
        self.models()
        return self._index.get(name.lower())

    def get_or_404(self, name):
        model = self.find(name)
        if model is not None:
            return model
        successor = self.successor(name)
        if successor:
            raise ApiError(404, f"The model `{name}` is no longer offered by chat.z.ai; its line "
                                f"continues as {successor}. Ask for {successor}, or map the old name "
                                f"on purpose with MODEL_ALIASES=\"{name}={successor}\".",
                           code="model_not_found", param="model")
        raise ApiError(404, f"The model `{name}` does not exist or you do not have access to it.",
                       code="model_not_found", param="model")

    def successor(self, name):
        """What continues the line of a retired name (its variant for a variant), if offered now."""
        if not isinstance(name, str):
            return None
        base, suffix = name, ""
        for variant in VARIANT_SUFFIXES:
            if name.lower().endswith(variant.lower()):
                base, suffix = name[:-len(variant)], variant
                break
        successor = self._retired.get(base.lower())
        if successor and self.find(successor + suffix) is not None:
            return self.find(successor + suffix).id
        return None

    def _build(self, models, retired):
        index = {}
        for model in models:
            for name in (model.id, *model.aliases):
                index.setdefault(name.lower(), model)
        listed = list(models)
        for alias, target in self.aliases:
            model = index.get(target.lower())
            if model is None:
                log.warning("MODEL_ALIASES: %s points at %s, which is not offered now", alias, target)
                continue
            aliased = replace(model, id=alias, aliases=())
            index[alias.lower()] = aliased
            listed.append(aliased)
            for variant, target_variant in ((f"{alias}{suffix}", f"{model.id}{suffix}")
                                            for suffix in VARIANT_SUFFIXES):
                if target_variant.lower() in index:   # GLM-4.6-Thinking follows GLM-4.6's alias
                    index.setdefault(variant.lower(), replace(index[target_variant.lower()], id=variant,
                                                              aliases=()))
        self._models, self._index, self._retired = tuple(listed), index, dict(retired)
        self._built_from = models
