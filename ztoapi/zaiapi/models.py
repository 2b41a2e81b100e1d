"""The models Z.ai's API offers, and what each takes.

ZAI_API_MODELS names them when set; else the API's own GET {base}/models, read at start-up and every
REFRESH_SECONDS; else (while that list cannot be read) BUILTIN. Each is offered under the name
chat.z.ai shows for the same model (glm-4.7 → GLM-4.7, glm-4.5-air → GLM-4.5-Air), so a name both
upstreams serve is one catalogue entry, with its API id in Model.api_id. Text models get -Thinking
and -Search variants, as on the web chat.
"""
import logging
import re
from dataclasses import dataclass

from ztoapi.catalog import Model
from ztoapi.zai.models import with_variants
from ztoapi.zai.refresh import Refreshed

log = logging.getLogger("ztoapi.upstream")
REFRESH_SECONDS = 10 * 60
ALL_EFFORTS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")
GLM53_EFFORTS = ("low", "high", "max")
NAME_WORDS = {"glm": "GLM", "air": "Air", "airx": "AirX", "flash": "Flash", "flashx": "FlashX",
              "turbo": "Turbo", "code": "Code", "x": "X"}
NOT_CHAT = ("embedding", "asr", "tts", "voice", "realtime", "ocr", "image", "video", "rerank")
VISION_ID = re.compile(r"-\d+(\.\d+)?v(-|$)")


@dataclass(frozen=True)
class Capabilities:
    """What a request may ask of one API model (Z.ai's API reference, its 2026 model enums)."""
    created: int = 0
    vision: bool = False      # takes image parts; takes no response_format
    tools: bool = True        # takes a non-empty `tools` (glm-4.5v does not)
    thinking: bool = True     # takes `thinking` (GLM-4.5 and later)
    efforts: tuple = ()       # the reasoning_effort values it takes; () = none
    free: bool = False


KNOWN = {
    "glm-5.3": Capabilities(1786147200, efforts=GLM53_EFFORTS),
    "glm-5.2": Capabilities(1782950400, efforts=ALL_EFFORTS),
    "glm-5.1": Capabilities(1775606400),
    "glm-5": Capabilities(1770854400),
    "glm-5-turbo": Capabilities(1773360000),
    "glm-4.7": Capabilities(1766332800),
    # recorded traffic shows glm-4.7-flash taking reasoning_effort
    "glm-4.7-flash": Capabilities(1768953600, efforts=ALL_EFFORTS, free=True),
    "glm-4.7-flashx": Capabilities(1768953600),
    "glm-4.6": Capabilities(1759190400),
    "glm-4.5": Capabilities(1753632000),
    "glm-4.5-air": Capabilities(1753632000),
    "glm-4.5-x": Capabilities(1753632000),
    "glm-4.5-airx": Capabilities(1753632000),
    "glm-4.5-flash": Capabilities(1753632000, free=True),
    "glm-4-32b-0414-128k": Capabilities(1744588800, thinking=False),
    "glm-4.6v": Capabilities(1765152000, vision=True),
    "glm-4.6v-flash": Capabilities(1765152000, vision=True, free=True),
    "glm-4.6v-flashx": Capabilities(1765152000, vision=True),
    "glm-4.5v": Capabilities(1754870400, vision=True, tools=False),
    "glm-5v-turbo": Capabilities(1775001600, vision=True),
    "glm-5.3-flash": Capabilities(1786147200, vision=True, efforts=GLM53_EFFORTS),
    "glm-5.3-flashx": Capabilities(1786147200, vision=True, efforts=GLM53_EFFORTS),
}
# offered when neither ZAI_API_MODELS nor GET /models says: the current general-purpose models,
# the free Flash ones included
BUILTIN = ("glm-5.3", "glm-5.2", "glm-5.1", "glm-5", "glm-5-turbo", "glm-4.7", "glm-4.7-flash",
           "glm-4.6", "glm-4.5", "glm-4.5-air", "glm-4.5-flash", "glm-4.6v", "glm-4.6v-flash",
           "glm-4.5v", "glm-5v-turbo", "glm-5.3-flash")


def capabilities(api_id):
    """What `api_id` takes: the known table, else a guess from its name (vision for "-4.6v"-like ids)."""
    known = KNOWN.get(api_id.lower())
    if known is not None:
        return known
    return Capabilities(vision=bool(VISION_ID.search(api_id.lower())))


def public_name(api_id):
    """The name chat.z.ai shows for an API id: glm-4.5-air → GLM-4.5-Air, glm-4.6v → GLM-4.6V."""
    words = []
    for word in api_id.lower().split("-"):
        if word in NAME_WORDS:
            words.append(NAME_WORDS[word])
        elif any(ch.isdigit() for ch in word):
            words.append(word.upper())
        else:
            words.append(word.capitalize())
    return "-".join(words)


def model_of(api_id, created=None):
    """The catalogue entry of one API model (no variants)."""
    caps = capabilities(api_id)
    return Model(public_name(api_id), api_id, created if isinstance(created, int) else caps.created,
                 vision=caps.vision, can_think=caps.thinking, can_search=caps.tools and not caps.vision,
                 reasoning_effort=bool(caps.efforts), upstreams=("api",), api_id=api_id)


def models_of(entries):
    """Models (with variants) from (api id, created) pairs, each id once, in order."""
    seen, models = set(), []
    for api_id, created in entries:
        if api_id.lower() not in seen:
            seen.add(api_id.lower())
            models.append(model_of(api_id, created))
    return with_variants(models)


def chat_ids(body):
    """(id, created) of the chat models in a GET /models body (OpenAI list shape)."""
    entries = []
    for entry in body["data"]:
        api_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(api_id, str) and api_id.lower().startswith("glm-") \
                and not any(word in api_id.lower() for word in NOT_CHAT):
            entries.append((api_id, entry.get("created")))
    return entries


class ApiModels:
    """The API's model list: ZAI_API_MODELS, else its GET /models (kept fresh), else BUILTIN."""

    def __init__(self, read_list, configured="", clock=None):
        self.read_list = read_list   # () -> the GET /models body (a dict); raises on failure
        ids = [name.strip() for name in configured.replace("\n", ",").split(",") if name.strip()]
        self.fixed = models_of((api_id, None) for api_id in ids) if ids else None
        self.builtin = models_of((api_id, None) for api_id in BUILTIN)
        self.live = None
        self.failed = False   # the last read of GET /models failed
        self._reads = Refreshed(self._read, REFRESH_SECONDS, **({"clock": clock} if clock else {}))

    def models(self):
        if self.fixed is not None:
            return self.fixed
        self._reads.get()
        return self.live or self.builtin

    def _read(self):
        try:
            entries = chat_ids(self.read_list())
            if not entries:
                raise ValueError("no GLM model listed")
        except Exception as error:   # any failure: keep the list we have (or the built-in one)
            self.failed = True
            log.warning("could not read Z.ai API's model list (%s: %.120s); %s", type(error).__name__,
                        str(error), "keeping the last one read" if self.live else "using the built-in list")
            return
        self.failed = False
        models = models_of(entries)
        if models != self.live:   # a new tuple only when it changed: the catalogue rebuilds on one
            self.live = models
