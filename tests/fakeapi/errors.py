"""Error bodies of the fake Z.ai API: {"error": {"code": "<digits>", "message": ...}} with their HTTP statuses."""

import time
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))
MISSING_KEY = "Authentication parameter not received in Header"
BAD_KEY = "Authorization Token is invalid, please ensure that the Authorization Token is correctly provided."
UNKNOWN_MODEL = "Unknown Model, please check the model code."
EMPTY_INPUT = "Input cannot be empty"
BAD_PARAMS = "Incorrect API call parameters, please check the documentation."
JSON_SCHEMA = "response_format type json_schema is not supported"
CONCURRENCY = ("High concurrency usage of this API, please reduce concurrency or contact customer service to "
               "increase limits")
BALANCE = "Insufficient balance or no resource package. Please recharge."
PROMPT_TOO_LONG = "Prompt exceeds max length"
SENSITIVE = "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"
OVERLOADED = "The service may be temporarily overloaded, please try again later"
INTERNAL = "Internal Error"
MID_STREAM = {"error": {"code": "500", "message": INTERNAL}}


def body(code: str, message: str) -> dict:
    """The error envelope (code is a string of digits, as on the wire)."""
    return {"error": {"code": code, "message": message}}


class ApiError(Exception):
    """An error answer: HTTP status plus JSON payload."""

    def __init__(self, status: int, code: str, message: str, payload: dict | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.payload = payload or body(code, message)


def invalid(field: str) -> ApiError:
    """400 1214 for a field present with a value the API does not take."""
    return ApiError(400, "1214", f"Invalid {field} parameter. Please check the documentation.")


def missing(field: str) -> ApiError:
    """400 1213 for a required field that is absent."""
    return ApiError(400, "1213", f"{field} parameter not received properly")


def unsupported(message: str = BAD_PARAMS) -> ApiError:
    """400 1210: a well-formed value this model or endpoint does not support."""
    return ApiError(400, "1210", message)


def usage_limit(now: float | None = None) -> str:
    """The 1308 message; the limit resets 5 hours from now (Beijing time, as the id stamps)."""
    reset = datetime.fromtimestamp(now if now is not None else time.time(), BEIJING) + timedelta(hours=5)
    return f"Usage limit reached for 5 hour. Your limit will reset at {reset:%Y-%m-%d %H:%M:%S}"


def http_fault(fault: str) -> ApiError:
    """The answer to a pre-stream HTTP fault (one of HTTP_FAULTS)."""
    if fault == "http429_1302":
        return ApiError(429, "1302", CONCURRENCY)
    if fault == "http429_1113":
        return ApiError(429, "1113", BALANCE)
    if fault == "http429_1308":
        return ApiError(429, "1308", usage_limit())
    if fault == "http400_1261":
        return ApiError(400, "1261", PROMPT_TOO_LONG)
    if fault == "http400_1301":
        return ApiError(400, "1301", SENSITIVE,
                        {"contentFilter": [{"level": 1, "role": "user"}], **body("1301", SENSITIVE)})
    if fault == "http503_1305":
        return ApiError(503, "1305", OVERLOADED)
    return ApiError(500, "500", INTERNAL)


HTTP_FAULTS = ("http429_1302", "http429_1113", "http429_1308", "http400_1261", "http400_1301", "http500",
               "http503_1305")
