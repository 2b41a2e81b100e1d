"""Validating request bodies with marshmallow, and how their failures read to clients.

Leaf error messages are written as "<code>|<message>", where the message may name the failing
field as <param>; `load_or_400` turns the first one into an OpenAI-shaped ApiError. A problem may
also carry the words Anthropic uses for it, naming the field as <path> (`messages.0.content`).
The fields here never coerce a value and bound what they read (array lengths, nesting depth).
"""
import re

from marshmallow import ValidationError
from marshmallow import fields

from ztoapi.errors import ApiError
from ztoapi.fairness import breathe

TYPE_NAMES = ((bool, "a boolean"), (int, "an integer"), (float, "a decimal"), (str, "a string"),
              (list, "an array"), (dict, "an object"), (type(None), "null"))
JSON_ERROR = ("We could not parse the JSON body of your request. (HINT: This likely means you "
              "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
              "but what was sent was not valid JSON.)")
# Limits every surface shares, as OpenAI sets them:
MAX_NAME = 64            # API reference, function `name`: "a maximum length of 64"
MAX_IMAGES = 500         # vision guide: "Up to 500 individual images per request"
# ...and where OpenAI documents none, limits no real client reaches:
MAX_PARTS = 2048         # content parts of one message (500 images and their captions fit twice)
MAX_DEPTH = 64           # nesting of free-form JSON (schemas, tool inputs); orjson refuses past 254
NAME = re.compile(r"[A-Za-z0-9_-]+")


class Problem(str):
    """A leaf error message, with the same problem as Anthropic words it (or None)."""

    anthropic = None


def problem(code, message, anthropic=None):
    text = Problem(f"{code or ''}|{message}")
    text.anthropic = anthropic
    return text


def type_name(value):
    return next(name for kind, name in TYPE_NAMES if isinstance(value, kind))


OBJECT_EXPECTED = {"type": problem(
    "invalid_type", "Invalid type for '<param>': expected an object, but got something else instead.")}
REQUIRED = problem("missing_required_parameter", "Missing required parameter: '<param>'.")


def too_deep(value, limit=MAX_DEPTH):
    """True when arrays and objects in `value` nest more than `limit` levels (checked without
    recursion, so that no depth can exhaust the stack)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                pending.append((child, depth + 1))
        breathe()
    return False


def at_most(values, most):
    """A 400 for an array longer than `most`, before any of its items is read."""
    if len(values) > most:
        raise ValidationError(problem(
            "array_above_max_length",
            f"Invalid '<param>': array too long. Expected an array with maximum length {most}, "
            f"but got an array with length {len(values)} instead.",
            f"<path>: List should have at most {most} items after validation, not {len(values)}"))


class Typed(fields.Field):
    """A field that accepts only JSON values of the given kinds, never coercing (but a whole
    number written 1.0 is an integer, as JSON Schema has it). Arrays and objects may nest at most
    MAX_DEPTH levels."""

    def __init__(self, kinds, expected, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)
        self.kinds = kinds
        self.expected = expected
        self.error_messages["required"] = REQUIRED
        self.error_messages["null"] = problem(
            "invalid_type", f"Invalid type for '<param>': expected {expected}, but got null instead.")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and float not in self.kinds and int in self.kinds and value.is_integer():
            return int(value)
        is_bool = isinstance(value, bool)
        if not isinstance(value, self.kinds) or (is_bool and bool not in self.kinds):
            raise ValidationError(problem(
                "invalid_type",
                f"Invalid type for '<param>': expected {self.expected}, but got {type_name(value)} instead."))
        if isinstance(value, (dict, list)) and too_deep(value):
            raise ValidationError(problem(
                "invalid_value", f"Invalid '<param>': nested too deeply (more than {MAX_DEPTH} levels).",
                f"<path>: nested too deeply (more than {MAX_DEPTH} levels)"))
        return value


def Decimal(**kwargs):
    return Typed((int, float), "a decimal", **kwargs)


def Integer(**kwargs):
    return Typed((int,), "an integer", **kwargs)


def Boolean(**kwargs):
    return Typed((bool,), "a boolean", **kwargs)


def String(**kwargs):
    return Typed((str,), "a string", **kwargs)


def Object(**kwargs):
    return Typed((dict,), "an object", **kwargs)


def Array(**kwargs):
    return Typed((list,), "an array", **kwargs)


def between(low, high, kind="decimal"):
    """A validator with OpenAI's messages for numbers out of range."""
    def validate(value):
        if value is None:
            return
        if value > high:
            raise ValidationError(problem(
                f"{kind}_above_max_value",
                f"Invalid '<param>': {kind} above maximum value. Expected a value <= {high}, "
                f"but got {value} instead."))
        if value < low:
            raise ValidationError(problem(
                f"{kind}_below_min_value",
                f"Invalid '<param>': {kind} below minimum value. Expected a value >= {low}, "
                f"but got {value} instead."))
    return validate


def one_of(choices):
    def validate(value):
        if value is not None and value not in choices:
            supported = ", ".join(f"'{choice}'" for choice in choices)
            raise ValidationError(problem(
                "invalid_value", f"Invalid value: '{value}'. Supported values are: {supported}."))
    return validate


def function_name(value):
    """1 to 64 ASCII letters, digits, underscores or dashes, as both APIs require."""
    pattern = f"^[a-zA-Z0-9_-]{{1,{MAX_NAME}}}$"
    if len(value) > MAX_NAME:
        raise ValidationError(problem(
            "string_above_max_length",
            f"Invalid '<param>': string too long. Expected a string with maximum length {MAX_NAME}, "
            f"but got a string with length {len(value)} instead.",
            f"<path>: String should match pattern '{pattern}'"))
    if not NAME.fullmatch(value):
        raise ValidationError(problem(
            "invalid_value", f"Invalid '<param>': '{value}'. Expected a string of 1 to {MAX_NAME} "
                             "letters, digits, underscores or dashes.",
            f"<path>: String should match pattern '{pattern}'"))


def non_empty_array(value):
    if value == []:
        raise ValidationError(problem(
            "empty_array", "Invalid '<param>': empty array. Expected an array with minimum length 1, "
                           "but got an empty array instead."))


def each_item(values, check):
    """[check(item) for each item]; the first problem is raised under its item's index."""
    results = []
    for index, item in enumerate(values):
        breathe()
        try:
            results.append(check(item))
        except ValidationError as error:
            raise ValidationError({index: error.messages}) from None
    return results


class Items(fields.List):
    """An array of at most `most` items, each loaded by `inner`: a longer one is refused before
    any item is read, and the first bad item is the one reported."""

    def __init__(self, inner, most, **kwargs):
        super().__init__(inner, **kwargs)
        self.most = most

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        at_most(value, self.most)
        return each_item(value, lambda item: self.inner.deserialize(item, **kwargs))


def block_type(block, kinds):
    """The `type` of a content part or block, which must be an object of one of `kinds`."""
    if not isinstance(block, dict):
        raise ValidationError(problem(
            "invalid_type", f"Invalid type for '<param>': expected an object, but got "
                            f"{type_name(block)} instead."))
    kind = block.get("type")
    if kind is None:
        raise ValidationError({"type": [REQUIRED]})
    if kind not in kinds:
        raise ValidationError({"type": [problem(
            "invalid_value", f"Invalid value: '{kind}'. Supported values are: {supported(kinds)}.")]})
    return kind


def supported(values):
    return ", ".join(f"'{value}'" for value in values)


def not_a_string(name, value):
    return ValidationError({name: [problem(
        "invalid_type", f"Invalid type for '<param>': expected a string, but got {type_name(value)} "
                        "instead.")]})


def count_parts(messages, kind):
    """How many content parts (or blocks) of type `kind` validated messages hold."""
    count = 0
    for message in messages:
        breathe()
        if isinstance(message.get("content"), list):
            count += sum(1 for part in message["content"] if part["type"] == kind)
    return count


def load_or_400(schema, body):
    """Validate `body` with `schema`; the first problem becomes a 400 ApiError, in Anthropic's
    words when the schema says so (`anthropic_words`)."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid type for request body: expected an object, but got "
                            f"{type_name(body)} instead.", code="invalid_type")
    try:
        return schema.load(body)
    except ValidationError as error:
        path, leaf = _first_problem(error.messages)
        raise _as_api_error(path, leaf, getattr(schema, "anthropic_words", False)) from None


def _first_problem(messages, path=()):
    if isinstance(messages, dict):
        key = next(iter(messages))
        return _first_problem(messages[key], path if key == "_schema" else path + (key,))
    if isinstance(messages, list):
        return _first_problem(messages[0], path)
    return path, messages


def _as_api_error(path, leaf, anthropic=False):
    param = ""
    for key in path:
        param += f"[{key}]" if isinstance(key, int) else (f".{key}" if param else key)
    if anthropic and getattr(leaf, "anthropic", None):
        return ApiError(400, leaf.anthropic.replace("<path>", ".".join(str(key) for key in path)))
    code, _, message = leaf.partition("|") if "|" in leaf else ("", "", leaf)
    if not message:
        message = leaf
    return ApiError(400, message.replace("<param>", param), code=code or None, param=param or None)
