"""ApiError in Anthropic's shape: {"type": "error", "error": {"type", "message"}}, same status."""
TYPES_BY_STATUS = {400: "invalid_request_error", 401: "authentication_error",
                   403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                   429: "rate_limit_error", 529: "overloaded_error"}


def error_type(status):
    return TYPES_BY_STATUS.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def error_body(error):
    return {"type": "error", "error": {"type": error_type(error.status), "message": error.message}}

