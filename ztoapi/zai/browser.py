"""The browser chat.z.ai's page runs in, as its requests show it: headers, fingerprint, device id.

Only what the page itself sends: a current desktop Chrome on Windows. chat.z.ai's firewall answers
a non-browser User-Agent with its 405 page (since July 2026), so the User-Agent and the client
hints must agree with each other.
"""
import hashlib
from datetime import datetime
from datetime import timezone
from email.utils import format_datetime

CHROME = "156"
USER_AGENT = (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              f"Chrome/{CHROME}.0.0.0 Safari/537.36")
BROWSER_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept-Language": "en-US,en;q=0.9",
    "sec-ch-ua": f'"Chromium";v="{CHROME}", "Not?A_Brand";v="24", "Google Chrome";v="{CHROME}"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Windows"',
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
}
PAGE_TITLE = "Z.ai - Free AI Chatbot & Agent powered by GLM"
# the page's fingerprint query fields that do not change between requests (a 1920×1080 screen)
SCREEN = {
    "user_agent": USER_AGENT, "language": "en-US", "languages": "en-US,en",
    "timezone": "UTC", "cookie_enabled": "true", "screen_width": "1920", "screen_height": "1080",
    "screen_resolution": "1920x1080", "viewport_height": "945", "viewport_width": "1920",
    "viewport_size": "1920x945", "color_depth": "24", "pixel_ratio": "1",
}


def fingerprint(origin):
    """The browser fields of a 2026 completion's query string, in the page's order; None marks
    the fields each request fills in (`page_state`)."""
    host = origin.split("://", 1)[-1]
    return {
        **SCREEN,
        "current_url": None, "pathname": None,
        "host": host, "hostname": host.split(":")[0], "protocol": origin.split("://")[0] + ":",
        "title": PAGE_TITLE, "timezone_offset": "0", "local_time": None, "utc_time": None,
        "is_mobile": "false", "is_touch": "false", "max_touch_points": "0",
        "browser_name": "Chrome", "os_name": "Windows",
    }


def page_state(origin, chat_id, now):
    """The fingerprint fields that change: the chat's address and the clock."""
    return {"current_url": f"{origin}/c/{chat_id}", "pathname": f"/c/{chat_id}",
            "local_time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "utc_time": format_datetime(now, usegmt=True)}


def utc_now():
    return datetime.now(timezone.utc)


def device_id(token):
    """The X-Device-Id of a credential: stable for it (a browser keeps its own), derived, not random."""
    return "uid_" + hashlib.sha256(b"ztoapi-device:" + token.encode()).hexdigest()[:16]
