"""GET /v1/models and /v1/models/{id}: OpenAI's model objects, or Anthropic's when the request
carries `anthropic-version` (as the Anthropic SDKs and Claude Code send it): `type` "model", `id`,
`display_name`, `created_at` (RFC 3339), newest first, paged with `limit`, `after_id` and
`before_id` into `data`, `has_more`, `first_id` and `last_id`."""
from datetime import datetime
from datetime import timezone

from flask import Blueprint
from flask import current_app
from flask import request

from ztoapi import auth
from ztoapi.anthropic_messages.errors import MISSING_KEY
from ztoapi.errors import ApiError
from ztoapi.errors import protocol_of

bp = Blueprint("models", __name__)
DEFAULT_PAGE = 20
MOST_PER_PAGE = 1000


@bp.before_request
def check_api_key():
    if request.method == "OPTIONS":
        return
    if anthropic() and auth.presented_key(request.headers) is None:
        raise ApiError(401, MISSING_KEY)
    auth.check_access(request.headers)


def anthropic():
    return protocol_of(request.path, request.headers) == "anthropic"


@bp.get("/models")
def list_models():
    models = current_app.extensions["catalog"].models()
    if anthropic():
        newest_first = sorted(models, key=lambda model: model.created, reverse=True)
        return anthropic_page([anthropic_card(model) for model in newest_first], request.args)
    return {"object": "list", "data": [model.card() for model in models]}


@bp.get("/models/<path:model_id>")
def get_model(model_id):
    model = current_app.extensions["catalog"].get_or_404(model_id)
    return anthropic_card(model) if anthropic() else model.card()


def anthropic_card(model):
    created = datetime.fromtimestamp(model.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "model", "id": model.id, "display_name": model.id, "created_at": created}


def anthropic_page(cards, args):
    """One page of Anthropic's list: `limit` (1-1000, default 20), `after_id` or `before_id`."""
    limit = args.get("limit", str(DEFAULT_PAGE))
    if not limit.lstrip("-").isdigit():
        raise ApiError(400, "limit: Input should be a valid integer, unable to parse string as an integer")
    limit = int(limit)
    if limit < 1:
        raise ApiError(400, "limit: Input should be greater than or equal to 1")
    if limit > MOST_PER_PAGE:
        raise ApiError(400, f"limit: Input should be less than or equal to {MOST_PER_PAGE}")
    ids = [card["id"] for card in cards]
    after, before = args.get("after_id"), args.get("before_id")
    for name, value in (("after_id", after), ("before_id", before)):
        if value is not None and value not in ids:
            raise ApiError(400, f"{name}: no model with id {value!r}")
    if before is not None:
        end = ids.index(before)
        page = cards[max(0, end - limit):end]
        more = end - limit > 0
    else:
        start = ids.index(after) + 1 if after is not None else 0
        page = cards[start:start + limit]
        more = start + limit < len(cards)
    return {"data": page, "has_more": more, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None}
