"""The fake's model catalogue: ids, capability flags and the GET /models list."""

from dataclasses import dataclass, replace

ALL_EFFORTS = ("max", "xhigh", "high", "medium", "low", "minimal", "none")
GLM53_EFFORTS = ("low", "high", "max")


@dataclass
class Model:
    """One model id and what the API lets a request ask of it."""

    id: str
    created: int            # GET /models `created`; recorded for glm-4.5 and glm-4.7, release-ish dates elsewhere
    vision: bool = False    # takes image_url/video_url/file parts; no response_format, no tool_stream
    thinking: bool = True   # answers with reasoning_content unless thinking.type is "disabled"
    free: bool = False
    efforts: tuple[str, ...] = ()   # reasoning_effort values accepted; () rejects the field (1214)
    tool_stream: bool = False       # accepts tool_stream
    tools: bool = True              # accepts a non-empty tools list (else 1210)


MODELS = (
    Model("glm-5.3", 1786147200, efforts=GLM53_EFFORTS, tool_stream=True),
    Model("glm-5.2", 1782950400, efforts=ALL_EFFORTS, tool_stream=True),
    Model("glm-5.1", 1775606400, tool_stream=True),
    Model("glm-5", 1770854400, tool_stream=True),
    Model("glm-5-turbo", 1773360000, tool_stream=True),
    Model("glm-4.7", 1766332800, tool_stream=True),
    # reasoning_effort "high" was accepted in recorded glm-4.7-flash traffic (note §2), so it takes the field
    Model("glm-4.7-flash", 1768953600, free=True, efforts=ALL_EFFORTS, tool_stream=True),
    Model("glm-4.6", 1759190400, tool_stream=True),
    Model("glm-4.5", 1753632000),
    Model("glm-4.5-air", 1753632000),
    Model("glm-4.5-flash", 1753632000, free=True),
    Model("glm-4.6v", 1765152000, vision=True),
    Model("glm-4.6v-flash", 1765152000, vision=True, free=True),
    Model("glm-4.5v", 1754870400, vision=True, tools=False),
    Model("glm-5v-turbo", 1775001600, vision=True),
    Model("glm-5.3-flash", 1786147200, vision=True, efforts=GLM53_EFFORTS),
)


def catalogue() -> dict[str, Model]:
    """A fresh, mutable copy of the default catalogue, keyed by id (in MODELS order)."""
    return {m.id: replace(m) for m in MODELS}


def model_list(models: dict[str, Model]) -> dict:
    """The GET /models body, in the OpenAI list shape."""
    return {"object": "list",
            "data": [{"id": m.id, "object": "model", "created": m.created, "owned_by": "z-ai"}
                     for m in models.values()]}
