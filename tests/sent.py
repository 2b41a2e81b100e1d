"""What the fake chat.z.ai received, read the same way whichever dialect ZtoApi spoke.

In the 2026 dialect the conversation travels folded into one user message (ztoapi.zai.transcript);
`last_chat` unfolds it again, so a test can assert on the turns it sent in either dialect.
"""
from tests.fakezai.transcript import sections

COMPLETION_PATHS = ("/api/chat/completions", "/api/v2/chat/completions")


def completions(fake):
    """Every completion request the fake received, in order."""
    return [r for r in fake.requests if r["path"] in COMPLETION_PATHS]


def chat_bodies(fake):
    return [unfolded(r["body"]) for r in completions(fake)]


def last_chat(fake):
    """The body of the last completion, its `messages` the conversation it carried."""
    return unfolded(completions(fake)[-1]["body"])


def unfolded(body):
    """A 2026 body with its one folded message written out as turns again (`folded` keeps the
    text that was sent, which is also what was signed)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not (isinstance(body, dict) and "current_user_message_id" in body and messages):
        return body
    content = messages[0]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    turns = [{"role": role, "content": section} for role, section in sections(text)] or \
        [{"role": "user", "content": text}]
    if not isinstance(content, str):   # the last user turn's images travel with it
        last = max(i for i, turn in enumerate(turns) if turn["role"] == "user")
        turns[last]["content"] = [{"type": "text", "text": turns[last]["content"]}, *content[1:]]
    return {**body, "messages": turns, "folded": text}




def attempts_by_token(fake):
    """How many chat attempts each token made: its first request of each (a completion in 2025,
    a chat creation in 2026), whatever the upstream answered."""
    path = "/api/v1/chats/new" if fake.dialect == "2026" else "/api/chat/completions"
    counts = {}
    for request in fake.requests:
        if request["method"] == "POST" and request["path"] == path:
            token = request["headers"].get("authorization", "").removeprefix("Bearer ")
            counts[token] = counts.get(token, 0) + 1
    return counts


# what a test asks for in each dialect: chat.z.ai retired GLM-4.6 and GLM-4.5V in 2026
MODELS = {
    "2025": {"second": "GLM-4.6", "second_upstream": "GLM-4-6-API-V1",
             "vision": "GLM-4.5V", "vision_upstream": "glm-4.5v"},
    "2026": {"second": "GLM-4.7", "second_upstream": "glm-4.7",
             "vision": "GLM-4.6V", "vision_upstream": "glm-4.6v"},
}


def models_of(fake):
    return MODELS[fake.dialect]
