"""The common-shape fast path answers exactly as the chat schema does, or leaves it to the schema."""
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from tests.test_properties import PROPERTY
from ztoapi.openai_chat.fastpath import common
from ztoapi.openai_chat.schema import ChatCompletionRequest

SCHEMA = ChatCompletionRequest()
ANY = st.none() | st.booleans() | st.integers(-3, 10**8) | st.floats(-3, 3, allow_nan=False) | st.text(max_size=5)
MESSAGE = st.dictionaries(
    st.sampled_from(["role", "content", "name", "tool_calls", "tool_call_id", "extra"]),
    st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "robot"]) | ANY
    | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=5)}), max_size=2),
    max_size=4)
BODY = st.dictionaries(
    st.sampled_from(["model", "messages", "stream", "temperature", "top_p", "max_tokens", "user", "n", "tools",
                     "stop", "extra", "enable_thinking", "stream_options"]),
    st.lists(MESSAGE, max_size=3) | ANY | st.dictionaries(st.sampled_from(["include_usage", "x"]), ANY, max_size=2),
    max_size=8)
COMMON = st.fixed_dictionaries(
    {"model": st.text(max_size=8),
     "messages": st.lists(st.fixed_dictionaries(
         {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": st.text(max_size=20)}),
         min_size=1, max_size=4)},
    optional={"stream": st.booleans(), "temperature": st.floats(0, 2) | st.integers(0, 2),
              "top_p": st.floats(0, 1), "max_tokens": st.integers(1, 10**7), "user": st.text(max_size=5),
              "enable_thinking": st.booleans(), "stream_options": st.fixed_dictionaries(
                  {}, optional={"include_usage": st.booleans()})})


def schema_answer(body):
    try:
        return SCHEMA.load(body)
    except ValidationError:
        return "refused"


@PROPERTY
@given(st.one_of(BODY, COMMON))
def test_the_fast_path_accepts_only_what_the_schema_accepts_and_loads_it_alike(body):
    fast = common(body)
    if fast is not None:
        assert schema_answer(body) == fast


@PROPERTY
@given(COMMON)
def test_the_common_shape_takes_the_fast_path(body):
    assert common(body) == SCHEMA.load(body)


def test_anything_else_is_left_to_the_schema():
    base = {"model": "GLM-4.5", "messages": [{"role": "user", "content": "hi"}]}
    assert common(base) is not None
    for changed in ({"stream": "yes"}, {"temperature": 2.5}, {"temperature": True}, {"max_tokens": 1.0},
                    {"max_tokens": 0}, {"n": 1}, {"enable_thinking": 1}, {"stream_options": {"include_usage": 1}},
                    {"stream_options": {"include_obfuscation": False}}, {"messages": []}, {"messages": [{"role": "tool", "content": "x"}]},
                    {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
                    {"messages": [{"role": "user", "content": "hi", "extra": 1}]}, {"model": None}):
        assert common({**base, **changed}) is None, changed
    assert common([base]) is None
