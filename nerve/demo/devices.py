"""The Segment `context` each kind of device sends: browsers (analytics.js), the shop's phone app
(analytics-swift / analytics-kotlin), the in-store kiosk and the tills.

Field names follow https://segment.com/docs/connections/spec/common/#context.
"""

from __future__ import annotations

from typing import Any

from nerve.demo.catalog import SHOP_NAME

DESKTOP_BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
)
MOBILE_BROWSERS = {
    "ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
}
APP_VERSION = {"version": "4.12.0", "build": "41200"}
# The user agents mail programs load a mail's images with (Gmail's through Google's image proxy).
MAIL_PROGRAMS = {
    "ios": (
        ("Apple Mail", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) "
         "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"),
        ("Gmail", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
         "(via ggpht.com GoogleImageProxy)"),
    ),
    "android": (
        ("Gmail", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
         "(via ggpht.com GoogleImageProxy)"),
        ("Outlook", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240405.002; wv) "
         "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile "
         "Safari/537.36"),
    ),
    "desktop": (
        ("Outlook", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)"),
        ("Thunderbird", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 "
         "Thunderbird/115.10.1"),
        ("Apple Mail", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko)"),
    ),
}  # fmt: skip
# Apple Mail Privacy Protection loads every image of a mail through Apple's proxies as the mail
# arrives, read or not, with exactly this user agent.
APPLE_PRIVACY_PROXY = "Mozilla/5.0"

_PHONES: dict[str, dict[str, Any]] = {
    "ios": {
        "device": {"manufacturer": "Apple", "model": "iPhone15,2", "name": "iPhone", "type": "ios"},
        "os": {"name": "iOS", "version": "17.4.1"},
        "screen": {"width": 393, "height": 852, "density": 3},
        "library": {"name": "analytics-swift", "version": "1.5.11"},
        "network": {"wifi": False, "cellular": True, "carrier": "Telekom.de"},
    },
    "android": {
        "device": {
            "manufacturer": "Google",
            "model": "Pixel 8",
            "name": "shiba",
            "type": "android",
        },
        "os": {"name": "Android", "version": "14"},
        "screen": {"width": 412, "height": 915, "density": 2.625},
        "library": {"name": "analytics-kotlin", "version": "1.16.0"},
        "network": {"wifi": False, "cellular": True, "carrier": "Vodafone.de"},
    },
}


def browser(user_agent: str, where: dict[str, Any]) -> dict[str, Any]:
    mobile = "Mobile" in user_agent
    return {
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "userAgent": user_agent,
        "screen": {"width": 390, "height": 844} if mobile else {"width": 1728, "height": 1117},
        **where,
    }


def phone_app(platform: str, device_id: str, where: dict[str, Any]) -> dict[str, Any]:
    phone = _PHONES[platform]
    return {
        "app": {"name": SHOP_NAME, "namespace": "example.strideandtrail.app", **APP_VERSION},
        **phone,
        "device": {**phone["device"], "id": device_id},
        **where,
    }


def kiosk(kiosk_id: str, location: dict[str, Any]) -> dict[str, Any]:
    return {
        "app": {"name": f"{SHOP_NAME} In-Store", "version": "2.3.0", "build": "230"},
        "device": {"id": f"kiosk-{kiosk_id.lower()}-01", "manufacturer": "Elo",
                   "model": "I-Series 4", "type": "android"},
        "os": {"name": "Android", "version": "12"},
        "screen": {"width": 1920, "height": 1080, "density": 1},
        "library": {"name": "analytics-kotlin", "version": "1.16.0"},
        **_in_store(location),
    }  # fmt: skip


def till(terminal_id: str, location: dict[str, Any]) -> dict[str, Any]:
    return {
        "app": {"name": f"{SHOP_NAME} POS", "version": "7.1.4", "build": "714"},
        "device": {"id": terminal_id, "manufacturer": "Apple", "model": "iPad13,18",
                   "type": "ios"},
        "os": {"name": "iPadOS", "version": "17.4"},
        "library": {"name": "analytics-swift", "version": "1.5.11"},
        **_in_store(location),
    }  # fmt: skip


def _in_store(location: dict[str, Any]) -> dict[str, Any]:
    place = {k: location[k] for k in ("city", "country", "latitude", "longitude")}
    return {
        "location": place,
        "locale": location["locale"],
        "timezone": location["timezone"],
        "ip": location["ip"],
    }
