"""The fake's model catalogues: Oct 2025 and 2026 (protocol notes §2.2; 2026 notes §5), Open WebUI-shaped."""

# (upstream id, display name, vision, active)
MODELS = (
    ("0727-360B-API", "GLM-4.5", False, True),
    ("0727-106B-API", "GLM-4.5-Air", False, True),
    ("glm-4.5v", "GLM-4.5V", True, True),
    ("GLM-4-6-API-V1", "GLM-4.6", False, True),
    ("main_chat", "GLM-4-32B", False, False),
)
MODELS_2026 = (
    ("x-preview-l", "GLM-5.3-Flash", False, True),
    ("glm-5.3", "GLM-5.3", False, True),
    ("glm-5.2", "GLM-5.2", False, True),
    ("GLM-5-Turbo", "GLM-5-Turbo", False, True),
    ("GLM-5v-Turbo", "GLM-5V-Turbo", True, True),
    ("glm-4.7", "GLM-4.7", False, True),
    ("glm-4.6v", "GLM-4.6V", True, True),
    ("glm-4-flash", "GLM-4-Flash", False, True),
    ("glm-4-air-250414", "GLM-4-Air", False, True),
    ("0727-106B-API", "GLM-4.5-Air", False, True),
    ("0727-360B-API", "GLM-4.5", False, True),
    ("GLM-4.1V-Thinking-FlashX", "GLM-4.1V-Thinking-FlashX", True, True),
    ("deep-research", "Z1-Rumination", False, True),
    ("zero", "Z1-32B", False, True),
    ("0808-360B-DR", "GLM-4.5-DR", False, True),
    ("glm-5", "GLM-5", False, False),
)
NO_THINK_2026 = {"glm-4-flash", "glm-4-air-250414"}
REASONING_EFFORT_2026 = {"glm-5.2"}
GUEST_MODELS_2026 = frozenset({"x-preview-l", "glm-4.7", "0727-360B-API", "0727-106B-API", "glm-4-flash"})
CATALOGUES = {"2025": MODELS, "2026": MODELS_2026}


def active(dialect: str) -> set[str]:
    """Upstream ids a completion may name in dialect."""
    return {m[0] for m in CATALOGUES[dialect] if m[3]}


def vision(dialect: str) -> set[str]:
    """Active vision model ids of dialect."""
    return {m[0] for m in CATALOGUES[dialect] if m[2] and m[3]}


def model_entry(model_id: str, name: str, vision: bool, active: bool, **capabilities) -> dict:
    """Return one Open WebUI-shaped /api/models entry (capabilities override the 2025 defaults)."""
    capabilities = {"vision": vision, "citations": False, "preview_mode": False, "web_search": True,
                    "language_detection": False, "restore_n_source": False, "mcp": True, "file_qa": True,
                    "returnFc": True, "returnThink": True, "think": True, **capabilities}
    meta = {"profile_image_url": "/static/favicon.png", "description": f"{name} by Z.ai", "hidden": False,
            "suggestion_prompts": [{"prompt": "Write a haiku about the sea"}], "capabilities": capabilities,
            "mcpServerIds": ["deep-web-search", "vibe-coding", "ppt-maker", "image-search"]}
    info = {"id": model_id, "user_id": "api", "base_model_id": None, "name": name,
            "params": {"top_p": 0.95, "temperature": 0.6, "max_tokens": 80000}, "meta": meta,
            "access_control": None, "is_active": active, "updated_at": 1759276800, "created_at": 1753574400}
    openai = {"id": model_id, "name": name, "owned_by": "openai", "openai": {"id": model_id}, "urlIdx": 1}
    return {"id": model_id, "name": name, "owned_by": "openai", "openai": openai, "urlIdx": 1, "info": info}


def entry_2026(model_id: str, name: str, vision: bool, active: bool) -> dict:
    """A 2026 entry: think/vision/web_search/mcp/returnFc plus reasoning_effort capabilities."""
    return model_entry(model_id, name, vision, active, think=model_id not in NO_THINK_2026, web_search=not vision,
                       reasoning_effort=model_id in REASONING_EFFORT_2026)


def catalogue(dialect: str) -> dict:
    """The GET /api/models body of dialect."""
    build = entry_2026 if dialect == "2026" else model_entry
    return {"data": [build(*m) for m in CATALOGUES[dialect]]}
