"""The model table, name matching, upstream discovery, and the per-request decisions."""
import pytest

from config.settings import Settings
from ztoapi.catalog import MODELS
from ztoapi.catalog import Catalog
from ztoapi.chat.request import chat_request
from ztoapi.errors import ApiError

USER = [{"role": "user", "content": "hi"}]


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
    model = Catalog().find(name)
    assert (model.id, model.upstream_id) == (model_id, upstream_id)


def test_unknown_model_is_404_not_a_fallback():
    with pytest.raises(ApiError) as caught:
        Catalog().get_or_404("gpt-4o")
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")


def test_cards_report_capabilities():
    cards = {m.id: m.card()["capabilities"] for m in MODELS}
    assert cards["GLM-4.5V"] == {"vision": True, "thinking": True, "thinking_forced": False, "search": False}
    assert cards["GLM-4.6-Thinking"]["thinking_forced"] is True
    assert cards["GLM-4.5-Search"]["search"] is True


def upstream_entry(upstream_id, name, active=True, vision=False):
    return {"id": upstream_id, "name": name,
            "info": {"is_active": active, "created_at": 1750000000,
                     "meta": {"capabilities": {"vision": vision}}}}


def test_upstream_discovery_adds_models_the_table_lacks_and_is_cached():
    calls = []

    def discover():
        calls.append(1)
        return [upstream_entry("0727-360B-API", "GLM-4.5"), upstream_entry("0808-360B-DR", "Z1-Rumination"),
                upstream_entry("old-model", "Old", active=False), upstream_entry("glm-9v", "GLM-9V", vision=True)]
    now = [0.0]
    catalog = Catalog(discover, clock=lambda: now[0])
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


def test_upstream_discovery_failure_keeps_the_built_in_table():
    def discover():
        raise ConnectionError("unreachable")
    assert Catalog(discover).models() == MODELS


def decide(body, model="GLM-4.5", **settings):
    settings = Settings.from_env({}, **settings)
    return chat_request({"model": model, "messages": USER, **body}, settings, Catalog().find(model))


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
    chat = chat_request({"model": "GLM-4.5", "messages": USER}, settings, Catalog().find("GLM-4.5"),
                        think_mode="Strip")
    assert chat.think_mode == "strip"
    with pytest.raises(ApiError) as caught:
        chat_request({"model": "GLM-4.5", "messages": USER}, settings, Catalog().find("GLM-4.5"),
                     think_mode="loud")
    assert (caught.value.status, caught.value.param) == (400, "X-Think-Tags-Mode")
