"""The model tables of both dialects, name matching, aliases, upstream discovery, and the
per-request decisions."""
import pytest

from config.settings import Settings
from ztoapi.catalog import Catalog
from ztoapi.catalog import parse_aliases
from ztoapi.errors import ApiError
from ztoapi.pipeline.request import chat_request
from ztoapi.zai.models import MODELS_2025 as MODELS
from ztoapi.zai.models import MODELS_2026
from ztoapi.zai.models import RETIRED
from ztoapi.zai.models import WebModels
from ztoapi.zai.models import from_entries

USER = [{"role": "user", "content": "hi"}]


def catalog_2025(aliases=()):
    return Catalog(lambda: (MODELS, {}), aliases)


def catalog_2026(models=MODELS_2026, aliases=()):
    return Catalog(lambda: (models, RETIRED), aliases)


def test_documented_three_come_first_then_air_and_variants():
    assert [m.id for m in MODELS] == [
        "GLM-4.5", "GLM-4.6", "GLM-4.5V", "GLM-4.5-Air", "GLM-4.5-Thinking", "GLM-4.5-Search",
        "GLM-4.6-Thinking", "GLM-4.6-Search", "GLM-4.5-Air-Thinking", "GLM-4.5-Air-Search"]


@pytest.mark.parametrize("name, model_id, upstream_id", [
    ("GLM-4.5", "GLM-4.5", "0727-360B-API"), ("glm-4.5", "GLM-4.5", "0727-360B-API"),
    ("0727-360b-api", "GLM-4.5", "0727-360B-API"), ("glm4.6", "GLM-4.6", "GLM-4-6-API-V1"),
    ("GLM-4-6", "GLM-4.6", "GLM-4-6-API-V1"), ("glm-4.5v", "GLM-4.5V", "glm-4.5v"),
    ("glm-4.5-air", "GLM-4.5-Air", "0727-106B-API"), ("glm-4.6-search", "GLM-4.6-Search", "GLM-4-6-API-V1"),
    ("GLM-4.5-AIR-THINKING", "GLM-4.5-Air-Thinking", "0727-106B-API"),
])
def test_names_match_case_insensitively_with_aliases(name, model_id, upstream_id):
    model = catalog_2025().find(name)
    assert (model.id, model.upstream_id) == (model_id, upstream_id)


def test_unknown_model_is_404_not_a_fallback():
    with pytest.raises(ApiError) as caught:
        catalog_2025().get_or_404("gpt-4o")
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")
    assert caught.value.message == "The model `gpt-4o` does not exist or you do not have access to it."


def test_cards_report_capabilities():
    cards = {m.id: m.card()["capabilities"] for m in MODELS}
    assert cards["GLM-4.5V"] == {"vision": True, "thinking": True, "thinking_forced": False, "search": False,
                                 "reasoning_effort": False}
    assert cards["GLM-4.6-Thinking"]["thinking_forced"] is True
    assert cards["GLM-4.5-Search"]["search"] is True


def upstream_entry(upstream_id, name, active=True, vision=False, **capabilities):
    return {"id": upstream_id, "name": name,
            "info": {"is_active": active, "created_at": 1750000000,
                     "meta": {"capabilities": {"vision": vision, **capabilities}}}}


def test_upstream_discovery_adds_models_the_2025_table_lacks_and_is_cached():
    calls = []

    def discover():
        calls.append(1)
        return [upstream_entry("0727-360B-API", "GLM-4.5"), upstream_entry("0808-360B-DR", "Z1-Rumination"),
                upstream_entry("old-model", "Old", active=False), upstream_entry("glm-9v", "GLM-9V", vision=True)]
    now = [0.0]
    web = WebModels(discover, "upstream", clock=lambda: now[0])
    catalog = Catalog(lambda: (web.models("2025"), {}))
    ids = [m.id for m in catalog.models()]
    assert ids == [m.id for m in MODELS] + ["Z1-Rumination", "GLM-9V"]
    assert catalog.find("z1-rumination").upstream_id == "0808-360B-DR"
    assert catalog.find("0808-360b-dr").id == "Z1-Rumination"
    assert catalog.find("GLM-9V").vision is True
    assert catalog.find("Old") is None
    catalog.models()
    assert len(calls) == 1
    now[0] += 601
    catalog.models()
    assert len(calls) == 2


def test_2025_with_auto_source_reads_no_list():
    def discover():
        raise AssertionError("the 2025 dialect keeps to its table unless MODELS_SOURCE=upstream")
    assert WebModels(discover, "auto").models("2025") == MODELS


def test_upstream_discovery_failure_keeps_the_built_in_tables():
    def discover():
        raise ConnectionError("unreachable")
    web = WebModels(discover, "upstream")
    assert web.models("2025") == MODELS
    assert web.models("2026") == MODELS_2026


ENTRIES_2026 = [
    upstream_entry("x-preview-l", "GLM-5.3-Flash", think=True, web_search=True),
    upstream_entry("glm-5.2", "GLM-5.2", think=True, web_search=True, reasoning_effort=True),
    upstream_entry("GLM-5v-Turbo", "GLM-5V-Turbo", vision=True, think=True),
    upstream_entry("glm-4.7", "GLM-4.7", think=True, web_search=False),
    upstream_entry("0727-360B-API", "GLM-4.5", think=True, web_search=True),
    upstream_entry("zero", "Z1-32B", think=False, web_search=False),
    upstream_entry("retired", "Gone", active=False),
]


def test_the_2026_list_is_chat_z_ai_s_names_then_variants_by_capability():
    models = from_entries(ENTRIES_2026)
    assert [m.id for m in models] == [
        "GLM-5.3-Flash", "GLM-5.2", "GLM-5V-Turbo", "GLM-4.7", "GLM-4.5", "Z1-32B",
        "GLM-5.3-Flash-Thinking", "GLM-5.3-Flash-Search", "GLM-5.2-Thinking", "GLM-5.2-Search",
        "GLM-4.7-Thinking", "GLM-4.5-Thinking", "GLM-4.5-Search"]
    catalog = catalog_2026(models)
    assert catalog.find("x-preview-l").id == "GLM-5.3-Flash"
    assert catalog.find("glm-5.3-flash").upstream_id == "x-preview-l"
    assert catalog.find("glm-5v-turbo").vision is True
    assert catalog.find("GLM-5.2").reasoning_effort is True
    assert catalog.find("GLM-4.7").reasoning_effort is False
    assert catalog.find("Z1-32B").can_think is False
    assert catalog.find("Gone") is None


def test_the_2026_list_is_read_once_and_used_for_that_dialect():
    calls = []
    web = WebModels(lambda: calls.append(1) or ENTRIES_2026, "auto")
    assert [m.id for m in web.models("2026")][:2] == ["GLM-5.3-Flash", "GLM-5.2"]
    assert web.models("2026") is web.models("2026")
    assert len(calls) == 1


@pytest.mark.parametrize("name, successor", [("GLM-4.6", "GLM-4.7"), ("glm-4.5v", "GLM-4.6V"),
                                             ("GLM-4-6-API-V1", "GLM-4.7")])
def test_a_name_chat_z_ai_retired_is_404_naming_its_successor(name, successor):
    with pytest.raises(ApiError) as caught:
        catalog_2026().get_or_404(name)
    assert (caught.value.status, caught.value.code, caught.value.param) == (404, "model_not_found", "model")
    assert f"`{name}` is no longer offered by chat.z.ai" in caught.value.message
    assert f"continues as {successor}" in caught.value.message
    assert "MODEL_ALIASES" in caught.value.message


def test_glm_4_5_keeps_working_in_2026_while_chat_z_ai_lists_it():
    assert catalog_2026().find("GLM-4.5").upstream_id == "0727-360B-API"


def test_model_aliases_map_a_retired_name_on_purpose():
    catalog = catalog_2026(aliases=parse_aliases("GLM-4.6=glm-4.7, GLM-4.5V=GLM-4.6V\nmine=nothing"))
    assert (catalog.find("glm-4.6").id, catalog.find("glm-4.6").upstream_id) == ("GLM-4.6", "glm-4.7")
    assert catalog.find("GLM-4.5V").vision is True
    assert catalog.find("mine") is None
    assert "GLM-4.6" in [m.id for m in catalog.models()]


def decide(body, model="GLM-4.5", **settings):
    settings = Settings.from_env({}, **settings)
    return chat_request({"model": model, "messages": USER, **body}, settings, catalog_2025().find(model))


@pytest.mark.parametrize("body, model, default, thinks", [
    ({}, "GLM-4.5", True, True),
    ({}, "GLM-4.5", False, False),
    ({}, "GLM-4.5-Thinking", False, True),
    ({"reasoning_effort": "none"}, "GLM-4.5-Thinking", True, False),
    ({"reasoning_effort": "minimal"}, "GLM-4.5", True, False),
    ({"reasoning_effort": "low"}, "GLM-4.5", False, True),
    ({"thinking": {"type": "disabled"}, "reasoning_effort": "high"}, "GLM-4.5", True, False),
    ({"thinking": {"type": "enabled"}}, "GLM-4.5", False, True),
    ({"enable_thinking": False, "thinking": {"type": "enabled"}}, "GLM-4.5-Thinking", True, False),
    ({"enable_thinking": True, "reasoning_effort": "none"}, "GLM-4.5", False, True),
])
def test_thinking_precedence(body, model, default, thinks):
    assert decide(body, model, enable_thinking=default).enable_thinking is thinks


def test_search_variant_and_web_search_field_turn_search_on():
    assert decide({}, "GLM-4.6-Search").web_search is True
    assert decide({"web_search": True}).web_search is True
    assert decide({}).web_search is False


def test_model_defaults_fill_in_unset_params():
    assert decide({}).params == {"top_p": 0.95, "temperature": 0.6}
    assert decide({"temperature": 0.1}, "GLM-4.5V").params == {"top_p": 0.6, "temperature": 0.1}


def test_think_tags_mode_header_overrides_the_setting():
    settings = Settings.from_env({})
    chat = chat_request({"model": "GLM-4.5", "messages": USER}, settings, catalog_2025().find("GLM-4.5"),
                        think_mode="Strip")
    assert chat.think_mode == "strip"
    with pytest.raises(ApiError) as caught:
        chat_request({"model": "GLM-4.5", "messages": USER}, settings, catalog_2025().find("GLM-4.5"),
                     think_mode="loud")
    assert (caught.value.status, caught.value.param) == (400, "X-Think-Tags-Mode")


def test_retired_variants_name_their_successor_s_variant():
    with pytest.raises(ApiError) as caught:
        catalog_2026().get_or_404("GLM-4.6-Thinking")
    assert "continues as GLM-4.7-Thinking" in caught.value.message


def test_a_successor_chat_z_ai_no_longer_offers_is_not_recommended():
    models = tuple(m for m in MODELS_2026 if not m.id.startswith("GLM-4.7"))
    with pytest.raises(ApiError) as caught:
        catalog_2026(models).get_or_404("GLM-4.6")
    assert caught.value.message == "The model `GLM-4.6` does not exist or you do not have access to it."


def test_an_alias_brings_its_target_s_variants():
    catalog = catalog_2026(aliases=parse_aliases("GLM-4.6=glm-4.7"))
    thinking = catalog.find("GLM-4.6-Thinking")
    assert (thinking.id, thinking.upstream_id, thinking.thinking) == ("GLM-4.6-Thinking", "glm-4.7", True)


def test_the_documented_names_stay_on_their_ids_whatever_chat_z_ai_calls_them():
    models = from_entries([upstream_entry("0727-360B-API", "GLM-4.5 (legacy)", think=True),
                           upstream_entry("0727-106B-API", "GLM-4.5-Air", think=True)])
    catalog = catalog_2026(models)
    assert catalog.find("GLM-4.5").upstream_id == "0727-360B-API"
    assert catalog.find("glm-4.5-air").upstream_id == "0727-106B-API"
