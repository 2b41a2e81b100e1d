"""GET /v1/models and /v1/models/{id} in Anthropic's shape when asked with `anthropic-version`."""
from tests.conftest import KEY

ANTHROPIC = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
SDK = {"Authorization": f"Bearer {KEY}", "anthropic-version": "2026-10-21"}
OPENAI = {"Authorization": f"Bearer {KEY}"}


def test_the_list_has_anthropics_shape(client):
    rv = client.get("/v1/models", headers=ANTHROPIC)
    assert rv.status_code == 200
    body = rv.get_json()
    assert sorted(body) == ["data", "first_id", "has_more", "last_id"]
    assert body["data"][0] == {"type": "model", "id": "GLM-4.6", "display_name": "GLM-4.6",
                               "created_at": "2025-09-30T00:00:00Z"}
    assert body["first_id"] == "GLM-4.6"
    assert body["last_id"] == body["data"][-1]["id"]


def test_the_list_is_newest_first(client):
    data = client.get("/v1/models?limit=1000", headers=ANTHROPIC).get_json()["data"]
    created = [card["created_at"] for card in data]
    assert created == sorted(created, reverse=True)


def test_the_sdks_bearer_key_and_version_get_the_same_shape(client):
    body = client.get("/v1/models", headers=SDK).get_json()
    assert body["data"][0]["type"] == "model"


def test_one_model_has_anthropics_shape(client):
    rv = client.get("/v1/models/glm-4.5", headers=ANTHROPIC)
    assert rv.get_json() == {"type": "model", "id": "GLM-4.5", "display_name": "GLM-4.5",
                             "created_at": "2025-07-27T00:00:00Z"}


def test_without_anthropic_version_the_shape_is_openais(client):
    assert client.get("/v1/models", headers=OPENAI).get_json()["object"] == "list"
    assert client.get("/v1/models", headers={"x-api-key": KEY}).get_json()["object"] == "list"
    assert client.get("/v1/models/GLM-4.5", headers=OPENAI).get_json()["object"] == "model"


def test_a_page_and_the_next(client):
    first = client.get("/v1/models?limit=2", headers=ANTHROPIC).get_json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    second = client.get(f"/v1/models?limit=2&after_id={first['last_id']}", headers=ANTHROPIC).get_json()
    assert second["data"][0]["id"] not in [card["id"] for card in first["data"]]
    back = client.get(f"/v1/models?limit=2&before_id={second['first_id']}", headers=ANTHROPIC).get_json()
    assert back["data"] == first["data"]
    assert back["has_more"] is False


def test_the_last_page_has_no_more(client):
    everything = client.get("/v1/models?limit=1000", headers=ANTHROPIC).get_json()
    assert everything["has_more"] is False
    last = client.get(f"/v1/models?after_id={everything['last_id']}", headers=ANTHROPIC).get_json()
    assert last == {"data": [], "has_more": False, "first_id": None, "last_id": None}


def test_a_bad_limit_is_an_anthropic_400(client):
    rv = client.get("/v1/models?limit=0", headers=ANTHROPIC)
    assert rv.status_code == 400
    assert rv.get_json() == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "limit: Input should be greater than or equal to 1"}}
    assert client.get("/v1/models?limit=1001", headers=ANTHROPIC).get_json()["error"]["message"] == \
        "limit: Input should be less than or equal to 1000"
    assert client.get("/v1/models?limit=ten", headers=ANTHROPIC).get_json()["error"]["message"] == \
        "limit: Input should be a valid integer, unable to parse string as an integer"


def test_an_unknown_model_is_an_anthropic_404(client):
    rv = client.get("/v1/models/claude-x", headers=ANTHROPIC)
    assert rv.status_code == 404
    assert rv.get_json()["type"] == "error"
    assert rv.get_json()["error"]["type"] == "not_found_error"


def test_a_missing_key_is_an_anthropic_401(client):
    rv = client.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert rv.status_code == 401
    assert rv.get_json() == {"type": "error", "error": {
        "type": "authentication_error", "message": "x-api-key header is required (or Authorization: Bearer <key>)."}}


def test_a_wrong_key_is_an_anthropic_401(client):
    rv = client.get("/v1/models", headers={"x-api-key": "sk-wrong-key-123", "anthropic-version": "2023-06-01"})
    assert rv.status_code == 401
    assert rv.get_json()["error"]["type"] == "authentication_error"


def test_the_models_are_listed_under_the_anthropic_prefix_too(client):
    listed = client.get("/anthropic/v1/models", headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    assert listed.status_code == 200
    assert listed.get_json()["data"][0]["type"] == "model"
    missing = client.get("/anthropic/v1/models/nothing", headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    assert missing.status_code == 404 and missing.get_json()["type"] == "error"
