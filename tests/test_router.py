"""UPSTREAMS routing and the merged model list, over upstreams that answer as they are told."""
from types import SimpleNamespace

import pytest

from ztoapi import signals
from ztoapi.catalog import Model
from ztoapi.errors import ApiError
from ztoapi.upstream.catalogue import merged
from ztoapi.upstream.router import Router
from ztoapi.upstream.router import fails_over
from ztoapi.zaiapi.models import models_of

WEB_MODELS = (Model("GLM-4.7", "glm-4.7", 1), Model("GLM-4.7-Thinking", "glm-4.7", 1, thinking=True),
              Model("GLM-4.6V", "glm-4.6v", 1, vision=True), Model("GLM-5.3-Flash", "x-preview-l", 1))
API_MODELS = models_of([("glm-4.7", 2), ("glm-4.7-flash", 2), ("glm-4.6", 2), ("glm-4.6v", 2)])   # with variants


class Upstream:
    """Answers `open` with its next scripted outcome: a reply object, or an ApiError to raise."""

    def __init__(self, name, outcomes=(), models=(), ready=True):
        self.name, self.outcomes, self.opened = name, list(outcomes), []
        self.listing = (models, {"glm-4.6": "GLM-4.7"} if name == "web" else {})
        self.ready = ready

    def open(self, chat):
        self.opened.append(chat)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    def models(self):
        return self.listing

    def status(self):
        return {"ready": self.ready, "reason": "ok" if self.ready else f"{self.name} is down",
                **({"dialect": "2026", "dialect_source": "config"} if self.name == "web" else {})}


def chat_for(upstreams=("web", "api"), messages=()):
    return SimpleNamespace(model=SimpleNamespace(upstreams=upstreams),
                           native={"messages": list(messages) or [{"role": "user", "content": "hi"}]})


def captcha():
    return ApiError(403, "chat.z.ai asks for a CAPTCHA.", code="upstream_captcha_required")


def test_the_first_upstream_answers_when_it_can():
    web, api = Upstream("web", ["web reply"]), Upstream("api", ["api reply"])
    assert Router(("web", "api"), {"web": web, "api": api}).open(chat_for()) == "web reply"
    assert api.opened == []


@pytest.mark.parametrize("error", [
    captcha(),
    ApiError(405, "chat.z.ai's firewall refused.", code="upstream_blocked"),
    ApiError(403, "GLM-5.3 needs a signed-in account.", code="model_requires_login"),
    ApiError(503, "No usable chat.z.ai credential.", code="upstream_credential_unavailable"),
    ApiError(502, "chat.z.ai failed.", code="upstream_error"),
    ApiError(504, "chat.z.ai did not answer.", code="upstream_timeout"),
])
def test_a_web_refusal_before_the_first_byte_goes_to_the_api_once(error):
    web, api = Upstream("web", [error]), Upstream("api", ["api reply"])
    heard = []
    router = Router(("web", "api"), {"web": web, "api": api})
    signals.upstream_failed_over.connect(lambda sender, **kw: heard.append(kw), sender=router, weak=False)
    assert router.open(chat_for()) == "api reply"
    assert len(web.opened) == len(api.opened) == 1 and web.opened[0] is api.opened[0]
    assert heard == [{"source": "web", "target": "api"}]


def test_a_client_error_is_not_sent_elsewhere():
    bad = ApiError(400, "Invalid content.", code="invalid_request_content")
    token = ApiError(401, "Your X-ZAI-Token was refused.", code="upstream_token_rejected")
    for error in (bad, token):
        web, api = Upstream("web", [error]), Upstream("api", ["api reply"])
        with pytest.raises(ApiError) as caught:
            Router(("web", "api"), {"web": web, "api": api}).open(chat_for())
        assert caught.value is error and api.opened == []
    assert not fails_over(bad) and not fails_over(token) and fails_over(captcha())


def test_when_both_refuse_the_first_error_says_what_the_second_answered():
    api_error = ApiError(502, "Z.ai's API refused our key.", code="upstream_unauthorized")
    web, api = Upstream("web", [captcha()]), Upstream("api", [api_error])
    with pytest.raises(ApiError) as caught:
        Router(("web", "api"), {"web": web, "api": api}).open(chat_for())
    assert caught.value.status == 403 and caught.value.code == "upstream_captcha_required"
    assert caught.value.message == ("chat.z.ai asks for a CAPTCHA. (Z.ai's API, tried next, failed too: "
                                    "Z.ai's API refused our key.)")


def test_a_model_only_one_upstream_serves_goes_there_without_failover():
    web, api = Upstream("web", [captcha()]), Upstream("api", ["api reply"])
    router = Router(("web", "api"), {"web": web, "api": api})
    with pytest.raises(ApiError):
        router.open(chat_for(upstreams=("web",)))
    assert router.open(chat_for(upstreams=("api",))) == "api reply"
    assert len(web.opened) == 1


def test_api_first_never_falls_back_to_the_web_with_images_it_did_not_upload():
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}]
    router = Router(("api", "web"), {"web": Upstream("web"), "api": Upstream("api")})
    assert router.candidates(chat_for(upstreams=("api", "web"), messages=image)) == ["api"]
    assert router.candidates(chat_for(upstreams=("api", "web"))) == ["api", "web"]


def test_ready_when_one_upstream_can_serve():
    up, down = Upstream("web", ready=True), Upstream("api", ready=False)
    status = Router(("web", "api"), {"web": up, "api": down}).status()
    assert status["ready"] is True and status["reason"] == "ok"
    status = Router(("web", "api"), {"web": Upstream("web", ready=False), "api": down}).status()
    assert status["ready"] is False
    assert status["reason"] == "chat.z.ai's web chat: web is down; Z.ai's API: api is down"


def test_models_served_by_both_list_both_in_upstreams_order():
    models, retired = merged(("web", "api"), {"web": (WEB_MODELS, {"glm-4.6": "GLM-4.7"}),
                                              "api": (API_MODELS, {})})
    by_id = {model.id: model for model in models}
    assert by_id["GLM-4.7"].upstreams == ("web", "api") and by_id["GLM-4.7"].api_id == "glm-4.7"
    assert by_id["GLM-4.7-Thinking"].upstreams == ("web", "api") and by_id["GLM-4.7-Thinking"].api_id == "glm-4.7"
    assert by_id["GLM-4.6V"].upstreams == ("web", "api")
    assert by_id["GLM-5.3-Flash"].upstreams == ("web",) and by_id["GLM-5.3-Flash"].api_id == ""
    assert by_id["GLM-4.7-Flash"].upstreams == ("api",)
    assert {"GLM-4.7-Flash-Thinking", "GLM-4.7-Flash-Search", "GLM-4.6"} <= set(by_id)
    assert [model.id for model in models][:4] == [model.id for model in WEB_MODELS]
    assert retired == {}   # the API serves GLM-4.6 again
    models, _ = merged(("api", "web"), {"web": (WEB_MODELS, {}), "api": (API_MODELS, {})})
    assert models[0].id == "GLM-4.7-Flash"
    assert {model.id: model for model in models}["GLM-4.7"].upstreams == ("api", "web")


def test_each_model_is_listed_once_with_its_variants_made_once():
    models, _ = merged(("api",), {"api": (API_MODELS, {})})
    assert [model.id for model in models] == [
        "GLM-4.7", "GLM-4.7-Flash", "GLM-4.6", "GLM-4.6V", "GLM-4.7-Thinking", "GLM-4.7-Search",
        "GLM-4.7-Flash-Thinking", "GLM-4.7-Flash-Search", "GLM-4.6-Thinking", "GLM-4.6-Search"]
    models, _ = merged(("web", "api"), {"web": (WEB_MODELS, {}), "api": (API_MODELS, {})})
    assert [model.id for model in models] == [
        "GLM-4.7", "GLM-4.7-Thinking", "GLM-4.6V", "GLM-5.3-Flash", "GLM-4.7-Flash", "GLM-4.6",
        "GLM-4.7-Search", "GLM-4.7-Flash-Thinking", "GLM-4.7-Flash-Search", "GLM-4.6-Thinking", "GLM-4.6-Search"]
    assert {model.id: model for model in models}["GLM-4.7-Search"].upstreams == ("api",)


def test_the_merged_list_is_made_again_only_when_an_upstream_s_list_changes():
    web, api = Upstream("web", models=WEB_MODELS), Upstream("api", models=API_MODELS)
    router = Router(("web", "api"), {"web": web, "api": api})
    first = router.models()
    assert router.models() is first
    api.listing = (API_MODELS[:1], {})
    assert router.models() is not first and len(router.models()[0]) == len(WEB_MODELS)
