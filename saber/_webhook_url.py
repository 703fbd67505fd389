"""Webhook URLs: checked where they are given, and redacted wherever they are printed."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["check_url", "redact"]


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook (a phrase to follow the field's name), or None. The URL is
    never quoted back whole: it may hold a token."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # a port that is no number raises here
    except ValueError:  # that port, or an unclosed [IPv6] bracket
        return "must be an http(s) URL with a valid host and port"
    if not parts.hostname or not parts.netloc:
        return "must be an http(s) URL like https://host/path"
    if parts.scheme not in ("http", "https"):
        return f"must be an http(s) URL, got scheme {parts.scheme!r}"
    return None


def redact(url: str) -> str:
    """The URL as it may be printed: no user or password, no query, and no path segment long
    enough to be a token (Slack's and Discord's webhooks carry their secret in the path)."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is no number: nothing of it is worth showing
        return "(an unreadable URL)"
    host = f"[{host}]" if ":" in host else host
    netloc = ("***@" if "@" in parts.netloc else "") + host + (f":{port}" if port else "")
    path = "/".join("***" if len(segment) >= 16 else segment for segment in parts.path.split("/"))
    return f"{parts.scheme}://{netloc}{path}{'?***' if parts.query else ''}"
