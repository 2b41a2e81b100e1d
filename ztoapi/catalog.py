"""The models ZtoApi offers: public ids, their chat.z.ai ids and what each can do."""
from dataclasses import dataclass

from ztoapi.errors import ApiError


@dataclass(frozen=True)
class Model:
    id: str
    upstream_id: str
    created: int
    vision: bool = False
    aliases: tuple = ()

    def card(self):
        """The OpenAI `model` object."""
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": "z.ai"}


MODELS = (
    Model("GLM-4.5", "0727-360B-API", 1753574400, aliases=("glm4.5", "0727-360b-api")),
    Model("GLM-4.6", "GLM-4-6-API-V1", 1759190400, aliases=("glm4.6", "glm-4-6", "glm-4-6-api-v1")),
    Model("GLM-4.5V", "glm-4.5v", 1754956800, vision=True, aliases=("glm4.5v",)),
)
_BY_NAME = {name.lower(): model for model in MODELS for name in (model.id, *model.aliases)}


def find(name):
    """The model called `name` (any case, or an alias), or None."""
    return _BY_NAME.get(name.lower()) if isinstance(name, str) else None


def get_or_404(name):
    model = find(name)
    if model is None:
        raise ApiError(404, f"The model `{name}` does not exist or you do not have access to it.",
                       code="model_not_found", param="model")
    return model
