"""One model list from every upstream in UPSTREAMS.

Two upstreams serve the same model when they give it the same public name, whatever the case:
chat.z.ai's GLM-4.7 is the API's glm-4.7 (README "Upstreams" has the table). Such a model, and
its -Thinking and -Search variants, lists both upstreams in UPSTREAMS order and keeps the API's
id for the API; a model only one upstream serves lists that one. A name the web chat retired
that the API still serves is served again. Each upstream's listing comes with its variants
already (ztoapi.zai.models.with_variants): they are listed as they are, never made again.
"""
from dataclasses import replace

from ztoapi.catalog import VARIANT_SUFFIXES


def base_name(model_id):
    """A public name without its -Thinking or -Search suffix, in lower case."""
    for suffix in VARIANT_SUFFIXES:
        if model_id.endswith(suffix):
            return model_id[:-len(suffix)].lower()
    return model_id.lower()


def merged(order, listings):
    """(models, retired) of all upstreams; `listings` maps an upstream's name to its
    (models, retired), `order` is UPSTREAMS."""
    web_models, retired = listings.get("web", ((), {}))
    api_models = listings.get("api", ((), {}))[0]
    if not api_models:
        return tuple(web_models), retired
    if not web_models:
        return tuple(api_models), {}
    api_by_name = {model.id.lower(): model for model in api_models}
    both = tuple(name for name in order if name in ("web", "api"))
    models = []
    for model in web_models:
        api = api_by_name.get(base_name(model.id))
        models.append(replace(model, upstreams=both, api_id=api.api_id) if api else model)
    web_ids = {model.id.lower() for model in web_models}
    api_only = [model for model in api_models if model.id.lower() not in web_ids]
    models = models + api_only if order[0] == "web" else api_only + models
    served = {model.id.lower() for model in models}
    return tuple(models), {name: target for name, target in retired.items() if name not in served}

