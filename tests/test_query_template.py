"""A query template writes exactly what urlencode writes for the same fields."""
from datetime import datetime
from datetime import timezone
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from ztoapi.zai.browser import fingerprint
from ztoapi.zai.browser import page_state
from ztoapi.zai.query import QueryTemplate

texts = st.text(max_size=20)


@given(st.dictionaries(texts, st.one_of(st.none(), texts, st.integers()), max_size=8), st.data())
def test_a_filled_template_is_what_urlencode_writes(fields, data):
    values = {name: data.draw(st.one_of(texts, st.integers())) for name, value in fields.items() if value is None}
    whole = {name: values[name] if value is None else value for name, value in fields.items()}
    assert QueryTemplate(fields).fill(**values) == urlencode(whole)


def test_the_2026_query_of_a_completion():
    now = datetime(2026, 12, 3, 9, 30, 5, 123000, tzinfo=timezone.utc)
    fields = {"timestamp": None, "token": None, **fingerprint("https://chat.z.ai"), "signature_timestamp": None}
    values = {"timestamp": 1796290205123, "token": "a.b.c", "signature_timestamp": 1796290205123,
              **page_state("https://chat.z.ai", "c-1", now)}
    query = QueryTemplate(fields).fill(**values)
    assert query == urlencode({name: values.get(name, value) for name, value in fields.items()})
    assert "&current_url=https%3A%2F%2Fchat.z.ai%2Fc%2Fc-1&pathname=%2Fc%2Fc-1&host=chat.z.ai&" in query
    assert "&local_time=2026-12-03T09%3A30%3A05.123Z&utc_time=Thu%2C+03+Dec+2026+09%3A30%3A05+GMT&" in query
