"""dedup: which items are the same article. For now: canonical URLs (stories come with issue 4)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url


def canonical_url(url: str | None) -> str | None:
    """The identity of a link: scheme and host normalised, fragment dropped, tracking parameters
    (utm_*, fbclid, gclid, yclid, mc_cid, …) stripped. http and https count as one.

    None for what is not an http(s) URL (a `tag:` GUID, a `javascript:` link).
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    try:
        canonical = normalize_url(urlunsplit(parts._replace(fragment="")), strict=False)
    except ValueError:
        return None
    return "https://" + canonical[len("http://"):] if canonical.startswith("http://") else canonical
