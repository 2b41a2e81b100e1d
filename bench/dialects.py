"""The upstreams the benchmark measures: chat.z.ai's 2025 and 2026 dialects and Z.ai's official API.

Each names the model the client asks ZtoApi for, the id ZtoApi sends upstream, and the settings
that point ZtoApi at the fake speaking it.
"""
from dataclasses import dataclass

API_BASE = "/api/paas/v4"
API_KEY = "bench0000000000000000000000000000.fakeapikey00000"   # the fake's only Z.ai API key


@dataclass(frozen=True)
class Dialect:
    name: str
    title: str
    model: str            # what the client asks ZtoApi for
    upstream_model: str   # what ZtoApi sends upstream for it

    def ztoapi_env(self, fake_url):
        """ZtoApi's settings for this upstream, served by the fake at `fake_url`."""
        env = {"UPSTREAM_URL": f"{fake_url}/api/chat/completions"}
        if self.name == "api":
            return {**env, "UPSTREAMS": "api", "ZAI_API_KEY": API_KEY, "ZAI_API_BASE": fake_url + API_BASE}
        return {**env, "UPSTREAMS": "web", "ZAI_DIALECT": self.name}


DIALECTS = {
    "2025": Dialect("2025", "chat.z.ai, 2025 dialect", "GLM-4.5", "0727-360B-API"),
    "2026": Dialect("2026", "chat.z.ai, 2026 dialect (chat created first)", "GLM-4.7", "glm-4.7"),
    "api": Dialect("api", "Z.ai's official API", "GLM-4.7", "glm-4.7"),
}
