"""The Netron web app as this package serves it: private, consent-free, never "out of date".

Both ways of serving the viewer (the Jupyter server extension and the kernel's loopback
fallback) use this module, so they serve the same bytes with the same headers. It imports
neither tornado nor jupyter_server.

What changes against the stock app shipped in the ``netron`` wheel:

* ``index.html`` loses ``<meta name="date">``: without it Netron takes "now" as its build
  date, so its 180-day "Please update to the newest version" loop can never start, whatever
  the browser's clock says (rewriting the date to the server's day would still break when
  the browser's clock runs ahead of the server's).
* ``index.html`` loses ``<meta name="version">``: Netron only starts its Google Analytics
  telemetry (and writes ``_ga`` cookies, possibly for the parent domain) for a "packaged"
  version. The version is kept as ``<meta name="netron-version">`` for the curious.
* ``browser.js`` skips the cookie-consent step, which would otherwise ask ipinfo.io where
  the user is and show "This app uses cookies...". A ``consent`` cookie scoped to the
  viewer's path does the same where cookies work (same-origin Jupyter); the patch also
  covers cross-site frames (VS Code, Colab) where browsers drop such cookies.
* ``index.html`` loads :data:`OVERLAY_SCRIPT`, this package's overlay painter
  (``js/src/overlay_frame.js``), served beside the app's own files: it colours the graph's
  nodes with what the widget sends it by postMessage, which works whether the viewer is of
  the notebook's origin or the kernel's loopback server.
* Every response carries :data:`CONTENT_SECURITY_POLICY`, whose ``connect-src 'self' blob:
  data:`` makes the browser refuse any request to another host, patched or not.
"""

from __future__ import annotations

import functools
import mimetypes
import re
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "VIEWER_ROUTE",
    "DEFAULT_HEIGHT",
    "MARKER_HEADER",
    "OVERLAY_SCRIPT",
    "asset",
    "asset_names",
    "consent_cookie",
    "netron_dir",
    "netron_version",
    "patch_status",
    "security_headers",
]

#: Where the Jupyter server extension serves the viewer, relative to the server's base URL.
VIEWER_ROUTE = "tfl-jupyter/netron/"
#: Height of a viewer in pixels (it can be made taller, resized or shown full screen).
DEFAULT_HEIGHT = 520

#: The name the overlay painter is served under, beside Netron's files.
OVERLAY_SCRIPT = "tfl_jupyter_overlay.js"
_OVERLAY_BUNDLE = Path(__file__).resolve().parent.parent / "static" / "netron_overlay.js"

#: Response header that tells the front-end "this is the viewer, not a login page".
MARKER_HEADER = ("X-TFL-Jupyter-Viewer", "netron")

#: The policy for every viewer response. ``frame-ancestors`` is added per server.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self' blob:",
    "connect-src 'self' blob: data:",
    "img-src 'self' blob: data:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
])

_SERVED_SUFFIXES = (".js", ".json", ".css", ".html", ".png", ".ico")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")

_MAY_SHOW = "the viewer may show it"
# (pattern, replacement, what it is for, what a miss means) applied to the stock files. A
# pattern that no longer matches (a newer netron) is reported with a warning; the CSP
# header still keeps the app private.
_PATCHES: Dict[str, Tuple[Tuple[str, str, str, str], ...]] = {
    "index.html": (
        (r'<meta name="date" content="[^"]*">\s*', "", "180-day update check", _MAY_SHOW),
        (r'<meta name="version" (content="[^"]*")>', r'<meta name="netron-version" \1>',
         "telemetry", _MAY_SHOW),
        (r'(<script type="text/javascript" src="index.js"></script>)',
         rf'\1\n<script type="text/javascript" src="{OVERLAY_SCRIPT}" defer></script>',
         "overlay painter", "the graph shows no overlays"),
    ),
    "browser.js": (
        (r"if \(this\._getCookie\('consent'\) \|\| this\._getCookie\('_ga'\)\) \{",
         "if (true) { // tfl_jupyter: no consent dialog, no ipinfo.io look-up",
         "cookie-consent dialog", _MAY_SHOW),
    ),
}


def netron_dir() -> Path:
    """The directory of the installed ``netron`` package's web app.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ModuleNotFoundError
        ``netron`` is not installed; the message says how to install it.
    """
    try:
        import netron
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the graph viewer needs the 'netron' package: pip install netron") from exc
    return Path(netron.__file__).resolve().parent


def netron_version() -> str:
    """The installed ``netron`` version, e.g. ``"9.3.3"``."""
    from netron import __version__

    return __version__


@functools.lru_cache(maxsize=1)
def asset_names() -> frozenset:
    """Names of the files the viewer may serve: the web app's files, never its Python."""
    return frozenset(
        path.name for path in netron_dir().iterdir()
        if path.is_file() and path.suffix in _SERVED_SUFFIXES and _SAFE_NAME.match(path.name))


def asset(name: str) -> Optional[Tuple[bytes, str]]:
    """Content and media type of one viewer file, patched where needed.

    Parameters
    ----------
    name : str
        A file name of the web app (``"index.html"``, ``"view.js"``) or
        :data:`OVERLAY_SCRIPT`; ``""`` is ``index.html``.

    Returns
    -------
    tuple of (bytes, str) or None
        None when ``name`` is not a file of the web app (the caller answers 404).
    """
    name = name or "index.html"
    if name == OVERLAY_SCRIPT:
        return _OVERLAY_BUNDLE.read_bytes(), _media_type(name)
    if name not in asset_names():
        return None
    if name in _PATCHES:
        return _patched(name), _media_type(name)
    return (netron_dir() / name).read_bytes(), _media_type(name)


def patch_status() -> List[Tuple[str, str, bool]]:
    """Whether each patch of the stock web app applies to the installed ``netron``.

    A patch that does not apply (a newer netron changed the code it rewrites) makes
    :func:`asset` warn and serve that part unpatched.

    Returns
    -------
    list of (str, str, bool)
        ``(file name, what the patch is for, applied)`` for every patch, in order.
    """
    return [(name, purpose, applied)
            for name in _PATCHES for purpose, _, applied in _apply_patches(name)[1]]


@functools.lru_cache(maxsize=None)
def _patched(name: str) -> bytes:
    text, applied = _apply_patches(name)
    for purpose, missed, ok in applied:
        if not ok:
            warnings.warn(
                f"tfl_jupyter: could not patch the {purpose} in netron {netron_version()}'s "
                f"{name}; {missed}", RuntimeWarning, stacklevel=2)
    return text.encode("utf-8")


def _apply_patches(name: str) -> Tuple[str, List[Tuple[str, str, bool]]]:
    """The patched text of ``name`` and, per patch, ``(purpose, what a miss means, applied)``."""
    text = (netron_dir() / name).read_text(encoding="utf-8")
    applied = []
    for pattern, replacement, purpose, missed in _PATCHES[name]:
        text, count = re.subn(pattern, replacement, text, count=1)
        applied.append((purpose, missed, count == 1))
    return text, applied


def _media_type(name: str) -> str:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        media_type = "text/javascript"  # some systems map .js to text/plain
    if media_type.startswith("text/") or media_type == "application/json":
        media_type += "; charset=utf-8"
    return media_type


def security_headers(frame_ancestors: Optional[str]) -> Dict[str, str]:
    """Headers for every viewer response.

    Parameters
    ----------
    frame_ancestors : str or None
        The CSP ``frame-ancestors`` sources, e.g. ``"'self'"``; None for no restriction.

    Returns
    -------
    dict
    """
    policy = CONTENT_SECURITY_POLICY
    if frame_ancestors is not None:
        policy += f"; frame-ancestors {frame_ancestors}"
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",  # the loopback URL carries a token
        "X-Content-Type-Options": "nosniff",
        MARKER_HEADER[0]: MARKER_HEADER[1],
    }


def consent_cookie(path: str) -> str:
    """A ``Set-Cookie`` value that keeps Netron's consent dialog away, for ``path`` only."""
    return f"consent=tfl_jupyter; Path={path}; Max-Age=31536000; SameSite=Strict"
