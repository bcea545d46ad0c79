"""Push VWO custom dimensions for a user: one file, standard library only.

Quick start::

    import vwo_push

    client = vwo_push.Client(123456, "your-sdk-key")
    client.push("browser", "chrome", "user-42")                  # one pair
    client.push({"browser": "chrome", "plan": "pro"}, "user-42")  # a map
    client.push_many([("user-42", "plan", "pro")])                # many rows, batched

`push` returns True only when VWO answered 2xx to every request it made, never
raises, and never takes longer than `timeout` seconds.  The requests are those
of the official SDK (vwo-python-sdk 1.68.2), byte for byte.

Importing this module loads nothing beyond what Python loads at start-up: the
network, JSON and logging modules are imported on first use, so that a cold
start (AWS Lambda) pays only for what it uses.
"""

from __future__ import annotations

import io
import os
import sys
import time

__version__ = "0.1.0"
__all__ = ["Client", "PushManyResult", "launch", "main", "push"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - seen by mypy only, to keep import cheap
    import http.client
    import logging
    import ssl
    import urllib.request
    from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

    _Row = Any
    _Outcome = Tuple[List[_Row], Optional[str]]

_logger: Optional[logging.Logger] = None


def _log() -> logging.Logger:
    """The `vwo_push` logger, with its NullHandler, made on first use."""
    global _logger
    if _logger is None:
        import logging

        logger = logging.getLogger("vwo_push")
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        _logger = logger
    return _logger


# ---------------------------------------------------------------------------
# 1. Protocol constants (../shared/protocol.md)
# ---------------------------------------------------------------------------

_HOST = "https://dev.visualwebsiteoptimizer.com"
_PUSH_PATH = "/server-side/push"
_EVENTS_PATH = "/events/t"
_BATCH_PATH = "/server-side/batch-events"
_SDK_NAME = "vwo-python-sdk"
_SDK_VERSION = "1.68.2"
_SYNC_EVENT = "vwo_syncVisitorProp"
_ENV_PROP = "vwo_fs_environment"  # carries the SDK key in event-architecture bodies
_USER_AGENT = "vwo-push/" + __version__
_MAX_TEXT = 255
_MAX_BATCH = 5000
_RETRY_STATUSES = frozenset((408, 429, 500, 502, 503, 504))
_MAX_BODY = 1 << 20  # an answer body is read for keep-alive only; more is not worth waiting for
_REDACTED = "****"

# urllib.parse.quote_plus for ASCII text, as one str.translate: the tags JSON is always ASCII
# (ensure_ascii), and quote_plus's per-byte loop was a fifth of the cost of building a push.
_FORM_ENCODE = {c: "%%%02X" % c for c in range(128)
                if chr(c) not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"}
_FORM_ENCODE[ord(" ")] = "+"

# uuid.NAMESPACE_URL; the visitor id is uuid5(uuid5(uuid5(URL, vwo), account), user).
_NAMESPACE_URL = bytes.fromhex("6ba7b8119dad11d180b400c04fd430c8")


# ---------------------------------------------------------------------------
# 2. Validation: each check raises ValueError naming what it got and what it takes
# ---------------------------------------------------------------------------

def _describe(value: object) -> str:
    """A short description of a value that never shows its text."""
    if isinstance(value, str):
        return "a str of %d characters" % len(value)
    return "a value of type %s" % type(value).__name__


def _check_text(name: str, value: object, limit: Optional[int] = _MAX_TEXT) -> str:
    """A non-empty str, UTF-8 encodable, of at most `limit` characters."""
    if not isinstance(value, str) or not value or (limit is not None and len(value) > limit):
        most = "" if limit is None else " of at most %d characters" % limit
        raise ValueError("%s must be a non-empty str%s, got %s" % (name, most, _describe(value)))
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("%s must be valid Unicode text (it holds a lone surrogate)" % name) from None
    return value


def _check_pair(key: object, value: object) -> Tuple[str, str]:
    """One custom dimension: key and value are str of 1 to 255 characters."""
    key = _check_text("custom dimension key", key)
    if key == _ENV_PROP:
        raise ValueError("custom dimension key %r is reserved: it carries the SDK key" % _ENV_PROP)
    return key, _check_text("value of custom dimension %r" % key[:40], value)


def _check_account_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return str(int(value))
    raise ValueError("account_id must be a positive int or a str of digits, got %r" % (value,))


def _check_sdk_key(value: object) -> str:
    if isinstance(value, str) and value and all("!" <= c <= "~" for c in value):
        return value
    raise ValueError("sdk_key must be a non-empty str of printable ASCII without spaces")


def _check_number(name: str, value: object, *, positive: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        import math

        number = float(value)
        if math.isfinite(number) and (number > 0 or (not positive and number == 0)):
            return number
    accepted = "a positive finite number" if positive else "a finite number >= 0"
    raise ValueError("%s must be %s, got %r" % (name, accepted, value))


def _check_prefix(value: object) -> str:
    if value is None:
        return ""
    ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    if isinstance(value, str) and value and all(c in ok for c in value):
        return "/" + value
    raise ValueError("collection_prefix must be None or one path segment of letters, digits, "
                     "'-' and '_', got %r" % (value,))


def _check_endpoint(value: object) -> str:
    """scheme://host[:port], https unless the host is loopback."""
    if value is None:
        return _HOST
    from urllib.parse import urlsplit

    problem = "must be a str"
    if isinstance(value, str):
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises ValueError on a bad port
        except ValueError as exc:
            problem = "is not a URL (%s)" % exc
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "must be http(s)://host[:port]"
            elif parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
                problem = "must have no path, query, fragment or user name: only scheme, host and port"
            elif parts.scheme == "http" and not _is_loopback(parts.hostname):
                problem = "must be https:// (plain http is allowed for loopback hosts only)"
            else:
                return "%s://%s" % (parts.scheme, parts.netloc)
    raise ValueError("endpoint %s, got %r" % (problem, value))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("%s must be True or False, got %r" % (name, value))


# ---------------------------------------------------------------------------
# 3. Request building: both call forms meet in one list of pairs
# ---------------------------------------------------------------------------

def _one_pair(custom_dimension_key: str, custom_dimension_value: object,
              user_id: object) -> Tuple[object, List[Tuple[object, object]]]:
    """push(key, value, user_id)."""
    return user_id, [(custom_dimension_key, custom_dimension_value)]


def _map_of_pairs(custom_dimension_map: Mapping[object, object],
                  user_id: object) -> Tuple[object, List[Tuple[object, object]]]:
    """push(map, user_id)."""
    return user_id, list(custom_dimension_map.items())


def _no_form(first: object, *args: object, **kwargs: object) -> Tuple[object, List[Tuple[object, object]]]:
    """Anything else: push takes a str key or a mapping first."""
    raise TypeError("push() takes a str key or a mapping first, got %s" % type(first).__name__)


_forms: Optional[Callable[..., Tuple[object, List[Tuple[object, object]]]]] = None


def _call_form(first: object, *args: object, **kwargs: object) -> Tuple[object, List[Tuple[object, object]]]:
    """Dispatch on the first argument's type: str is one pair, a Mapping is a map."""
    global _forms
    if _forms is None:  # built on first use: functools and collections cost a cold start ~3 ms
        import functools
        from collections.abc import Mapping

        forms = functools.singledispatch(_no_form)
        forms.register(str, _one_pair)
        forms.register(Mapping, _map_of_pairs)
        _forms = forms
    return _forms(first, *args, **kwargs)


def _read_call(args: Sequence[object], kwargs: Dict[str, object]) -> Tuple[str, List[Tuple[str, str]]]:
    """The validated user id and pairs of any call form of push(); raises on bad input."""
    kwargs = dict(kwargs)
    for old, new in (("tag_key", "custom_dimension_key"), ("tag_value", "custom_dimension_value")):
        if old in kwargs:
            if new in kwargs:
                raise TypeError("push() got both %s and %s" % (old, new))
            kwargs[new] = kwargs.pop(old)
    if not args:  # singledispatch picks by the first positional argument
        for name in ("custom_dimension_map", "custom_dimension_key"):
            if name in kwargs:
                args = (kwargs.pop(name),)
                if name == "custom_dimension_map" and isinstance(args[0], str):
                    raise TypeError("custom_dimension_map must be a mapping, got a str")
                break
        else:
            raise TypeError("push() needs custom_dimension_key or custom_dimension_map")
    try:
        user_id, pairs = _call_form(*args, **kwargs)
    except TypeError as exc:  # name the call form, not the private function behind it
        message = str(exc).replace("_one_pair()", "push(custom_dimension_key, custom_dimension_value, user_id)")
        raise TypeError(message.replace("_map_of_pairs()", "push(custom_dimension_map, user_id)")) from None
    if not pairs:
        raise ValueError("custom_dimension_map must not be empty")
    checked = [_check_pair(key, value) for key, value in pairs]
    return _check_text("user_id", user_id, limit=None), checked


def _uuid5(namespace: bytes, name: str) -> bytes:
    """uuid.uuid5(namespace, name).bytes, without importing uuid."""
    import hashlib

    digest = bytearray(hashlib.sha1(namespace + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return bytes(digest)


def _account_namespace(account_id: str) -> bytes:
    return _uuid5(_uuid5(_NAMESPACE_URL, "https://vwo.com"), account_id)


def _random() -> str:
    import random

    return repr(random.random())


def _tags(key: str, value: str) -> str:
    """json.dumps({"u": {key: value}}) with the json module's defaults, as the SDK sends it.

    Put together from the two encoded strings: the same text at a fraction of the cost.
    """
    import json

    return '{"u": {' + json.dumps(key) + ": " + json.dumps(value) + "}}"


# ---------------------------------------------------------------------------
# 4. Transport: keep-alive inside urllib, one deadline for every byte
# ---------------------------------------------------------------------------

class _DeadlineReader(io.RawIOBase):
    """Reads a socket so that no read, however the server dribbles, passes the deadline."""

    def __init__(self, sock: Any, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(left)
        return int(self._sock.recv_into(buffer))


def _deadline_response(deadline: float) -> Callable[..., http.client.HTTPResponse]:
    """A response_class for http.client whose reads stop at `deadline`."""
    import http.client

    def make(sock: Any, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        response = http.client.HTTPResponse(sock, *args, **kwargs)
        response.fp.close()  # gives back the socket's makefile() reference
        response.fp = io.BufferedReader(_DeadlineReader(sock, deadline))
        return response

    return make


def _dropped(sock: Any) -> bool:
    """True when an idle connection is readable: the server closed it (or broke protocol)."""
    import select

    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _closed_while_idle(exc: OSError) -> bool:
    import ssl

    return isinstance(exc, (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError))


class _KeepAliveHandler:
    """An urllib handler for http and https that keeps connections open between requests.

    urllib's own AbstractHTTPHandler.do_open sends `Connection: close` on every
    request, so each push would pay a TCP (and TLS) handshake.  This handler
    takes its place; ProxyHandler still runs before it, so proxies from the
    environment and CONNECT tunnels work, and https verifies certificates with
    the client's SSL context.  It quacks like urllib.request.BaseHandler rather
    than subclassing it, so that importing this module does not import urllib.
    """

    handler_order = 500

    def __init__(self, ssl_context: Optional[ssl.SSLContext]) -> None:
        import _thread

        self._context = ssl_context
        self._idle: Dict[Tuple[str, str, Optional[str]], List[http.client.HTTPConnection]] = {}
        self._lock = _thread.allocate_lock()
        self.parent: Any = None

    def add_parent(self, parent: Any) -> None:
        self.parent = parent

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.close()

    def __lt__(self, other: Any) -> bool:
        return self.handler_order < getattr(other, "handler_order", 500)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._exchange(req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._exchange(req)

    def _exchange(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        """Send one request and read its answer within req.timeout seconds."""
        deadline = time.monotonic() + (req.timeout or 0.0)
        tunnel = getattr(req, "_tunnel_host", None)  # set by ProxyHandler for https over a proxy
        key = (req.type, req.host, tunnel)
        conn = self._checkout(key)
        if conn is not None:
            try:
                return self._roundtrip(key, conn, req, deadline)
            except OSError as exc:
                # A connection the server closed while idle fails before any byte of an
                # answer (reset, broken pipe, http.client's RemoteDisconnected, or a TLS
                # EOF): open a new one and send again.  This is not a retry.
                if not _closed_while_idle(exc):
                    raise
        return self._roundtrip(key, self._connect(req, tunnel), req, deadline)

    def _checkout(self, key: Tuple[str, str, Optional[str]]) -> Optional[http.client.HTTPConnection]:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or (conn.sock is not None and not _dropped(conn.sock)):
                return conn
            conn.close()

    def _connect(self, req: urllib.request.Request, tunnel: Optional[str]) -> http.client.HTTPConnection:
        import http.client

        conn: http.client.HTTPConnection
        if req.type == "https":
            if self._context is None:  # once: loading the CA store costs milliseconds
                import ssl

                self._context = ssl.create_default_context()  # system store, or SSL_CERT_FILE
            conn = http.client.HTTPSConnection(req.host, context=self._context)
        else:
            conn = http.client.HTTPConnection(req.host)
        if tunnel:
            auth = req.headers.get("Proxy-authorization")
            conn.set_tunnel(tunnel, headers={"Proxy-Authorization": auth} if auth else None)
        return conn

    def _roundtrip(self, key: Tuple[str, str, Optional[str]], conn: http.client.HTTPConnection,
                   req: urllib.request.Request, deadline: float) -> http.client.HTTPResponse:
        left = deadline - time.monotonic()
        if left <= 0:
            conn.close()
            raise TimeoutError("timed out")
        conn.timeout = left
        if conn.sock is not None:
            conn.sock.settimeout(left)
        conn.response_class = _deadline_response(deadline)  # type: ignore[assignment]
        headers = {k: v for k, v in req.header_items() if k != "Proxy-authorization"}
        try:
            conn.request(req.get_method(), req.selector, req.data, headers)
            response = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        self._finish(key, conn, response)
        return response

    def _finish(self, key: Tuple[str, str, Optional[str]], conn: http.client.HTTPConnection,
                response: http.client.HTTPResponse) -> None:
        """Read the answer's body within the deadline; keep the connection if it is clean."""
        import contextlib
        import http.client

        # The status line decides; a body cut short or stalled only costs the connection.
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
            response.read(_MAX_BODY)
        if response.isclosed() and conn.sock is not None:
            with self._lock:
                self._idle.setdefault(key, []).append(conn)
        else:
            response.close()
            conn.close()


def _opener(ssl_context: Optional[ssl.SSLContext]) -> urllib.request.OpenerDirector:
    """Proxies from the environment, then keep-alive http(s); no redirects, no error raising."""
    import urllib.request

    opener = urllib.request.OpenerDirector()
    opener.add_handler(urllib.request.ProxyHandler())
    opener.add_handler(_KeepAliveHandler(ssl_context))  # type: ignore[arg-type]
    return opener


def _fresh(req: urllib.request.Request) -> urllib.request.Request:
    """A copy to send: ProxyHandler rewrites the request it is given, so a retry needs a clean one."""
    import urllib.request

    return urllib.request.Request(req.full_url, data=req.data, headers=dict(req.header_items()),
                                  origin_req_host=req.origin_req_host, method=req.get_method())


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    from email.utils import mktime_tz, parsedate_tz

    try:
        parsed = parsedate_tz(value)
        return None if parsed is None else max(0.0, mktime_tz(parsed) - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _secret_forms(sdk_key: str) -> List[str]:
    """The SDK key as it appears in a URL, a header or a JSON body, longest first."""
    from urllib.parse import quote, quote_plus

    forms = {sdk_key, quote_plus(sdk_key), quote(sdk_key), sdk_key.replace("\\", "\\\\").replace('"', '\\"')}
    return sorted(forms, key=len, reverse=True)


def _redact(text: str, secrets: List[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text


# ---------------------------------------------------------------------------
# 5. Client API, with the bulk path (push_many)
# ---------------------------------------------------------------------------

class Client:
    """Pushes custom dimensions for one VWO account.

    A client may be shared by many threads; it keeps its connections open
    between requests.
    """

    def __init__(self, account_id: Union[int, str], sdk_key: str, *, event_arch: bool = False,
                 collection_prefix: Optional[str] = None, endpoint: Optional[str] = None,
                 timeout: float = 10.0, retries: int = 3, backoff: float = 0.5,
                 dry_run: bool = False, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        """Check the configuration; nothing is sent and no connection is opened.

        Args:
            account_id: the VWO account id, a positive int or a str of digits.
            sdk_key: the SDK key of the account's environment.
            event_arch: True for accounts with the event architecture (one POST a push).
            collection_prefix: the data-residency path segment, such as "eu01".
            endpoint: "scheme://host[:port]" replacing VWO's (https, or http for loopback).
            timeout: seconds that bound a whole push, retries and waits included.
            retries: extra attempts after a retryable failure.
            backoff: base of the exponential backoff between attempts, in seconds.
            dry_run: validate and build requests, send nothing.
            ssl_context: used for https instead of the default (system store or SSL_CERT_FILE).

        Raises:
            ValueError: a setting is out of its range; the message says which.
        """
        try:
            self._configure(account_id, sdk_key, event_arch, collection_prefix, endpoint, timeout, retries,
                            backoff, dry_run, ssl_context)
        except ValueError as exc:  # a key passed in the wrong place must not show in the message
            forms = _secret_forms(sdk_key) if isinstance(sdk_key, str) and sdk_key else []
            raise ValueError(_redact(str(exc), forms)) from None
        import _thread

        self._opener_: Optional[urllib.request.OpenerDirector] = None
        self._opener_lock = _thread.allocate_lock()

    def _configure(self, account_id: object, sdk_key: object, event_arch: object, collection_prefix: object,
                   endpoint: object, timeout: object, retries: object, backoff: object, dry_run: object,
                   ssl_context: object) -> None:
        """Check each setting and keep it in the form the requests use."""
        self._account_id = _check_account_id(account_id)
        self._sdk_key = _check_sdk_key(sdk_key)
        self._event_arch = _check_flag("event_arch", event_arch)
        endpoint = _check_endpoint(endpoint)
        netloc = endpoint.split("://", 1)[1]
        host, colon, port = netloc.rpartition(":")
        self._host = (host if colon and port.isdigit() else netloc).lower()  # as urllib's request_host
        self._base = endpoint + _check_prefix(collection_prefix)
        self._timeout = _check_number("timeout", timeout, positive=True)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError("retries must be an int >= 0, got %r" % (retries,))
        self._retries = retries
        self._backoff = _check_number("backoff", backoff, positive=False)
        self._dry_run = _check_flag("dry_run", dry_run)
        if ssl_context is not None:
            import ssl

            if not isinstance(ssl_context, ssl.SSLContext):
                # design.md: bad configuration is a ValueError, whatever its kind
                raise ValueError("ssl_context must be an ssl.SSLContext or None")
        self._ssl_context: Optional[ssl.SSLContext] = ssl_context
        self._namespace = _account_namespace(self._account_id)
        from urllib.parse import quote_plus

        self._env = quote_plus(self._sdk_key)
        self._secrets = _secret_forms(self._sdk_key)

    def __repr__(self) -> str:
        return "vwo_push.Client(account_id=%s, sdk_key=%r, event_arch=%r, base=%r, dry_run=%r)" % (
            self._account_id, _REDACTED, self._event_arch, self._redact(self._base), self._dry_run)

    # Hooks that tests replace: the wall clock for timestamps, sleeping, jitter.
    def _now(self) -> float:
        return time.time()

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _jitter(self) -> float:
        import random

        return 0.5 + random.random() / 2

    def _redact(self, text: str) -> str:
        """The text with the SDK key, in every form it travels in, shown as ****."""
        return _redact(text, self._secrets)

    def _show(self, req: urllib.request.Request) -> None:
        """What a dry run does with each request; the command line prints them."""
        logger = _log()
        if logger.isEnabledFor(10):  # logging.DEBUG; redacting costs more than the rest of a dry run
            logger.debug("dry run: %s %s", req.get_method(), self._redact(req.full_url))

    # -- building ------------------------------------------------------------

    def build_requests(self, *args: Any, **kwargs: Any) -> List[urllib.request.Request]:
        """The requests `push` would send for these arguments, without sending them.

        Args:
            Those of `push`.

        Returns:
            One GET a pair for standard accounts, one POST for event-architecture ones.

        Raises:
            ValueError: an invalid key, value, map or user id.
            TypeError: no call form of `push` takes these arguments.
        """
        try:
            return [req for _, req in self._prepare(args, kwargs)]
        except ValueError as exc:  # the key, passed as a value by mistake, stays out of the message
            raise ValueError(self._redact(str(exc))) from None
        except TypeError as exc:
            raise TypeError(self._redact(str(exc))) from None

    def _prepare(self, args: Sequence[object], kwargs: Dict[str, object]
                 ) -> List[Tuple[List[str], urllib.request.Request]]:
        """Each request with the dimension keys it carries."""
        user_id, pairs = _read_call(args, kwargs)
        u = self._visitor_id(user_id)
        now = self._now()
        if self._event_arch:
            return [([key for key, _ in pairs], self._event_request(u, pairs, now))]
        return [([key], self._push_request(u, key, value, now)) for key, value in pairs]

    def _visitor_id(self, user_id: str) -> str:
        """`u` and `visId`: 32 upper-case hex digits; a wrong one loses the push silently."""
        return _uuid5(self._namespace, user_id).hex().upper()

    def _request(self, url: str, body: Optional[bytes] = None,
                 headers: Optional[Dict[str, str]] = None) -> urllib.request.Request:
        import urllib.request

        all_headers = {"User-Agent": _USER_AGENT}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        # origin_req_host given spares Request a full urlparse of the URL: a third of a dry run.
        return urllib.request.Request(url, data=body, headers=all_headers, origin_req_host=self._host,
                                      method="GET" if body is None else "POST")

    def _push_request(self, u: str, key: str, value: str, now: float) -> urllib.request.Request:
        """Standard accounts: GET /server-side/push, parameters in the SDK's order."""
        url = "%s%s?random=%s&sdk=%s&sdk-v=%s&ap=server&sId=%d&u=%s&account_id=%s&env=%s" \
              "&visitor_ua=&visitor_ip=&tags=%s" % (
                  self._base, _PUSH_PATH, _random(), _SDK_NAME, _SDK_VERSION, int(now), u,
                  self._account_id, self._env, _tags(key, value).translate(_FORM_ENCODE))
        return self._request(url)

    def _event_request(self, u: str, pairs: List[Tuple[str, str]], now: float) -> urllib.request.Request:
        """Event-architecture accounts: one POST /events/t carrying every pair."""
        import json

        ms = int(now * 1000)
        url = "%s%s?en=%s&a=%s&env=%s&eTime=%d&random=%s&p=FS&visitor_ua=&visitor_ip=" % (
            self._base, _EVENTS_PATH, _SYNC_EVENT, self._account_id, self._env, ms, _random())
        props = {_ENV_PROP: self._sdk_key}
        props.update(pairs)
        body = {"d": {"msgId": "%s-%d" % (u, ms), "visId": u, "sessionId": int(now),
                      "event": {"props": {"vwo_sdkName": _SDK_NAME, "vwo_sdkVersion": _SDK_VERSION,
                                          "vwo_envKey": self._sdk_key, "isCustomEvent": True},
                                "name": _SYNC_EVENT, "time": ms},
                      "visitor": {"props": props}}}
        return self._request(url, json.dumps(body).encode("ascii"))

    # -- sending -------------------------------------------------------------

    def push(self, *args: Any, **kwargs: Any) -> bool:
        """Push custom dimensions for a user; never raises.

        Call forms, positional or by keyword (`tag_key`/`tag_value` work too)::

            push(custom_dimension_key, custom_dimension_value, user_id)
            push(custom_dimension_map, user_id)

        Returns:
            True when VWO answered 2xx to every request (or, in a dry run, when the
            input is valid); False otherwise, with a WARNING on the `vwo_push`
            logger saying why.  Invalid input sends nothing.
        """
        deadline = time.monotonic() + self._timeout
        try:
            prepared = self._prepare(args, kwargs)
        except (TypeError, ValueError) as exc:
            _log().warning("push not sent: %s", self._redact(str(exc)))
            return False
        except Exception as exc:  # noqa: BLE001 - the edge: whatever the arguments did, push does not raise
            _log().warning("push not sent: %s: %s", type(exc).__name__, self._redact(str(exc)))
            return False
        try:
            failed = [(keys, reason) for keys, req in prepared
                      for reason in [self._deliver(req, deadline)] if reason is not None]
        except Exception as exc:  # noqa: BLE001 - the edge again: an unexpected error is a False, not a crash
            _log().warning("push failed: %s: %s", type(exc).__name__, self._redact(str(exc)))
            return False
        if failed:
            keys = [key for some, _ in failed for key in some]
            _log().warning("push not accepted for %d of %d request(s); dimension keys %s: %s",
                           len(failed), len(prepared), self._redact(", ".join(map(repr, keys))),
                           self._redact(failed[0][1]))
            return False
        return True

    def _trace(self, req: urllib.request.Request, outcome: str) -> None:
        """One DEBUG line an attempt, the key redacted (only when someone listens: redacting costs)."""
        logger = _log()
        if logger.isEnabledFor(10):  # logging.DEBUG
            logger.debug("%s %s -> %s", req.get_method(), self._redact(req.full_url), outcome)

    def _send_once(self, req: urllib.request.Request, left: float) -> Tuple[int, Optional[str]]:
        """One attempt: the status and Retry-After of the answer."""
        if self._opener_ is None:
            with self._opener_lock:
                if self._opener_ is None:
                    self._opener_ = _opener(self._ssl_context)
        response = self._opener_.open(req, timeout=left)
        return response.status, response.headers.get("Retry-After")

    def _deliver(self, req: urllib.request.Request, deadline: float) -> Optional[str]:
        """Send with retries until `deadline`; None when accepted, else why not.

        `req` is the client's own (build_requests hands out others): it may be rewritten by a proxy.
        """
        if self._dry_run:
            self._show(req)
            return None
        import http.client
        import ssl

        attempt = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed out after %d attempt(s)" % attempt
            wait = None
            try:  # ProxyHandler rewrites the request it sends: a retry sends a clean copy
                status, retry_after = self._send_once(req if attempt == 0 else _fresh(req), left)
            except ssl.SSLCertVerificationError as exc:
                reason = "certificate not verified: %s" % exc.verify_message
                self._trace(req, reason)
                return reason
            except (OSError, http.client.HTTPException) as exc:
                reason = "%s: %s" % (type(exc).__name__, self._redact(str(exc)) or "no detail")
                self._trace(req, reason)
            else:
                self._trace(req, str(status))
                if 200 <= status < 300:
                    return None
                reason = "HTTP %d" % status
                if status not in _RETRY_STATUSES:
                    return reason
                wait = _retry_after(retry_after)
            if attempt >= self._retries:
                return reason
            if wait is None:
                wait = self._backoff * (2 ** attempt) * self._jitter()
            if wait >= deadline - time.monotonic():
                return "%s; no time left for a retry in %.2fs" % (reason, wait)
            self._sleep(wait)
            attempt += 1

    # -- bulk ----------------------------------------------------------------

    def push_many(self, rows: Iterable[_Row], *, batch_size: int = 1000,
                  on_failure: Optional[Callable[[_Row, str], object]] = None) -> PushManyResult:
        """Push many (user_id, key, value) rows through VWO's batch-events endpoint.

        Rows are read lazily and sent `batch_size` events a request, so memory
        stays flat whatever their number; `timeout` bounds each batch.

        Args:
            rows: any iterable of (user_id, key, value), a generator included.  If
                iterating it raises, the rows read so far are sent (and failures
                reported) before the exception propagates.
            batch_size: events a request, 1 to 5000.
            on_failure: called as on_failure(row, reason) for each row not accepted;
                without it those rows are kept in the result's `failures`.

        Returns:
            A PushManyResult counting the rows accepted and not accepted.

        Raises:
            ValueError: batch_size is out of range.
        """
        result = PushManyResult()
        for batch, reason in self._batches(rows, batch_size):
            if reason is None:
                result.accepted += len(batch)
                continue
            result.not_accepted += len(batch)
            for row in batch:
                if on_failure is None:
                    result.failures.append((row, reason))
                else:
                    on_failure(row, reason)
        return result

    def _batches(self, rows: Iterable[_Row], batch_size: int) -> Iterator[_Outcome]:
        """Outcomes of rows, a batch (or an invalid row) at a time: (rows, None if accepted else why)."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= _MAX_BATCH:
            raise ValueError("batch_size must be an int from 1 to %d, got %r" % (_MAX_BATCH, batch_size))
        batch: List[_Row] = []
        events: List[str] = []
        user: object = None  # exports list a user's keys together: their visitor id is made once
        u = ""
        now = int(self._now())
        iterator = iter(rows)
        while True:
            try:
                row = next(iterator)
            except StopIteration:
                break
            except Exception:  # the rows broke off: what was read is sent and reported first
                if batch:
                    yield from self._send_batch(batch, events)
                raise
            try:
                user_id, key, value = row
                key, value = _check_pair(key, value)
                if type(user_id) is not str or user_id != user:
                    u = self._visitor_id(_check_text("user_id", user_id, limit=None))
                    user = user_id
            except Exception as exc:  # noqa: BLE001 - a row is whatever the caller's iterable yields
                yield [row], "invalid row: %s" % self._redact(str(exc) or type(exc).__name__)
                continue
            # "t" is the tags JSON as a JSON string; that JSON is printable ASCII (ensure_ascii),
            # so json.dumps of it would escape only backslashes and quotes, as these replaces do.
            t = _tags(key, value).replace("\\", "\\\\").replace('"', '\\"')
            events.append('{"u": "%s", "sId": %d, "visitor_ua": "", "visitor_ip": "", "t": "%s", "eT": 3}'
                          % (u, now, t))
            batch.append(row)
            if len(batch) == batch_size:
                yield from self._send_batch(batch, events)
                batch, events, now = [], [], int(self._now())
        if batch:
            yield from self._send_batch(batch, events)

    def _send_batch(self, batch: List[_Row], events: List[str]) -> Iterator[_Outcome]:
        """POST one batch; a 413 (too large) splits it in halves, sent in turn."""
        url = "%s%s?a=%s&sdk=%s&sdk-v=%s&env=%s" % (
            self._base, _BATCH_PATH, self._account_id, _SDK_NAME, _SDK_VERSION, self._env)
        body = ('{"ev": [' + ", ".join(events) + "]}").encode("ascii")
        reason = self._deliver(self._request(url, body, {"Authorization": self._sdk_key}),
                               time.monotonic() + self._timeout)
        if reason == "HTTP 413" and len(batch) > 1:
            half = len(batch) // 2
            yield from self._send_batch(batch[:half], events[:half])
            yield from self._send_batch(batch[half:], events[half:])
            return
        if reason is not None:
            _log().warning("batch of %d event(s) not accepted: %s", len(batch), reason)
        yield batch, reason


class PushManyResult:
    """What push_many did: counts of rows accepted and not accepted, and the failures kept.

    `failures` holds (row, reason) for each row not accepted when push_many was
    given no on_failure callback; otherwise it stays empty.
    """

    __slots__ = ("accepted", "failures", "not_accepted")

    def __init__(self) -> None:
        self.accepted = 0
        self.not_accepted = 0
        self.failures: List[Tuple[_Row, str]] = []

    def __repr__(self) -> str:
        return "PushManyResult(accepted=%d, not_accepted=%d, failures=<%d>)" % (
            self.accepted, self.not_accepted, len(self.failures))


def launch(settings_file: Union[str, bytes, Dict[str, Any]], **options: Any) -> Client:
    """A Client configured from a VWO settings file, as the official SDK's launch.

    Args:
        settings_file: the settings JSON (str or bytes) or its dict: accountId,
            sdkKey, isEventArchEnabled, collectionPrefix.
        **options: Client options, which override the settings;
            is_development_mode= means dry_run=.

    Returns:
        A Client.

    Raises:
        ValueError: the settings are not JSON, miss accountId or sdkKey, or hold a bad value.
        TypeError: an option that Client does not take.
    """
    if isinstance(settings_file, (str, bytes)):
        import json

        try:
            settings = json.loads(settings_file)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ValueError("settings_file is not valid JSON: %s" % exc) from None
    else:
        settings = settings_file
    if not isinstance(settings, dict):
        raise ValueError("settings_file must hold a JSON object, got %s" % type(settings).__name__)
    if "is_development_mode" in options:
        if "dry_run" in options:
            raise TypeError("launch() got both is_development_mode and dry_run")
        options["dry_run"] = options.pop("is_development_mode")
    config: Dict[str, Any] = {"account_id": settings.get("accountId"), "sdk_key": settings.get("sdkKey"),
                              "event_arch": settings.get("isEventArchEnabled", False) is True,
                              "collection_prefix": settings.get("collectionPrefix") or None}
    if settings.get("isEventArchEnabled") not in (None, True, False):
        raise ValueError("isEventArchEnabled must be true or false")
    config.update(options)
    return Client(**config)


_default_client: Optional[Client] = None


def _env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError("%s must be true or false, got %r" % (name, value))


def _client_from_env(**options: Any) -> Client:
    """A Client from VWO_ACCOUNT_ID, VWO_SDK_KEY, VWO_EVENT_ARCH, VWO_COLLECTION_PREFIX, VWO_ENDPOINT."""
    env = os.environ
    config: Dict[str, Any] = {
        "account_id": env.get("VWO_ACCOUNT_ID", ""), "sdk_key": env.get("VWO_SDK_KEY", ""),
        "event_arch": _env_flag("VWO_EVENT_ARCH"),
        "collection_prefix": env.get("VWO_COLLECTION_PREFIX") or None,
        "endpoint": env.get("VWO_ENDPOINT") or None}
    config.update({k: v for k, v in options.items() if v is not None})
    return Client(**config)


def push(*args: Any, **kwargs: Any) -> bool:
    """Client.push on a default client configured from the environment on first use.

    The variables: VWO_ACCOUNT_ID, VWO_SDK_KEY (both needed), VWO_EVENT_ARCH,
    VWO_COLLECTION_PREFIX, VWO_ENDPOINT.  Like Client.push it never raises:
    a missing or bad variable gives False and a WARNING.
    """
    global _default_client
    client = _default_client
    if client is None:
        try:
            client = _client_from_env()
        except ValueError as exc:
            _log().warning("push not sent: the environment does not configure vwo_push: %s", exc)
            return False
        _default_client = client  # a race makes two equal clients; the last one stays
    return client.push(*args, **kwargs)


# ---------------------------------------------------------------------------
# 6. Command line
# ---------------------------------------------------------------------------

_USAGE = """\
vwo-push [options] KEY VALUE USER_ID       push one pair
vwo-push [options] USER_ID KEY=VALUE...    push a map
vwo-push [options] --file PATH|-           push many rows (CSV user_id,key,value or JSON Lines)"""


def _parser() -> Any:
    import argparse

    parser = argparse.ArgumentParser(
        prog="vwo-push", usage=_USAGE,
        description="Push VWO custom dimensions. The account and key come from the flags or "
                    "from VWO_ACCOUNT_ID / VWO_SDK_KEY (and VWO_EVENT_ARCH, "
                    "VWO_COLLECTION_PREFIX, VWO_ENDPOINT).")
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    add = parser.add_argument
    add("--account-id", help="VWO account id (default: $VWO_ACCOUNT_ID)")
    add("--sdk-key", help="SDK key (default: $VWO_SDK_KEY)")
    add("--event-arch", action="store_true", default=None, help="the account uses the event architecture")
    add("--collection-prefix", help="data-residency prefix, such as eu01")
    add("--endpoint", help="scheme://host[:port] instead of VWO's")
    add("--timeout", type=float, help="seconds that bound each push (each batch with --file); default 10")
    add("--retries", type=int, help="extra attempts after a retryable failure; default 3")
    add("--dry-run", action="store_true", help="print the requests instead of sending them")
    add("--file", metavar="PATH", help="push the rows of a CSV or JSON Lines file; - for stdin")
    add("--batch-size", type=int, default=1000, help="events a request with --file, 1 to 5000; default 1000")
    add("--failed", metavar="PATH", help="write the rows not accepted here, in the input's format")
    add("--quiet", action="store_true", help="print only errors and rows not accepted")
    add("--verbose", action="store_true", help="print one line per request and its outcome")
    add("--version", action="version", version="vwo-push " + __version__)
    return parser


class _Usage(Exception):
    """Bad usage on the command line: exit status 2."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The vwo-push command line.

    Args:
        argv: the arguments, without the program name; default sys.argv[1:].

    Returns:
        0 when everything was accepted, 1 when something was not, 2 for bad
        usage found before anything was sent.
    """
    parser = _parser()
    try:
        opts = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits for --help, --version and bad usage
        return int(exc.code or 0)
    logger = _log()
    level, handlers = logger.level, list(logger.handlers)
    try:
        return _run(opts)
    except _Usage as exc:
        print("vwo-push: %s" % exc, file=sys.stderr)
        return 2
    finally:  # main may be called again in the same process: leave the logger as it was
        logger.setLevel(level)
        logger.handlers[:] = handlers


def _run(opts: Any) -> int:
    if opts.quiet and opts.verbose:
        raise _Usage("--quiet and --verbose do not go together")
    try:
        client = _client_from_env(
            account_id=opts.account_id, sdk_key=opts.sdk_key, event_arch=opts.event_arch,
            collection_prefix=opts.collection_prefix, endpoint=opts.endpoint,
            timeout=opts.timeout, retries=opts.retries, dry_run=opts.dry_run or None)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    if opts.dry_run:
        client._show = lambda req: _print_request(client, req)  # type: ignore[method-assign]
    _log_to_stderr(client, opts)
    if opts.file is not None:
        if opts.args:
            raise _Usage("--file takes no other arguments")
        return _run_file(client, opts)
    if opts.failed is not None:
        raise _Usage("--failed goes with --file")
    args = opts.args
    if len(args) >= 2 and all("=" in arg for arg in args[1:]):
        pairs: Dict[str, str] = {}
        for arg in args[1:]:
            key, _, value = arg.partition("=")
            if key in pairs:
                raise _Usage(client._redact("key %r is given twice" % key))
            pairs[key] = value
        call: Tuple[Any, ...] = (pairs, args[0])
    elif len(args) == 3:
        call = tuple(args)
    else:
        raise _Usage("expected KEY VALUE USER_ID, USER_ID KEY=VALUE... or --file PATH (see --help)")
    try:
        client.build_requests(*call)
    except (TypeError, ValueError) as exc:
        raise _Usage(client._redact(str(exc))) from None
    ok = client.push(*call)
    if not ok:
        print("vwo-push: not accepted", file=sys.stderr)
    elif not opts.quiet:
        print("vwo-push: %s" % ("dry run: valid, nothing sent" if opts.dry_run else "accepted"), file=sys.stderr)
    return 0 if ok else 1


def _print_request(client: Client, req: urllib.request.Request) -> None:
    print("%s %s" % (req.get_method(), client._redact(req.full_url)))
    if req.data is not None:
        print(client._redact(bytes(req.data).decode("utf-8")))  # type: ignore[arg-type]


def _log_to_stderr(client: Client, opts: Any) -> None:
    """The library's records on stderr: WARNING and up, every attempt with --verbose."""
    import logging

    class Redacting(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return client._redact(super().format(record))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Redacting("vwo-push: %(message)s"))
    logger = _log()
    logger.addHandler(handler)
    quiet_library = opts.file is not None and not opts.verbose  # --file reports rows itself
    logger.setLevel(logging.DEBUG if opts.verbose else logging.ERROR if quiet_library else logging.WARNING)


# -- --file ----------------------------------------------------------------------

class _FileRow:
    """A row of an input file: unpacks as (user_id, key, value) and remembers where it came from."""

    __slots__ = ("fields", "line", "record")

    def __init__(self, line: int, fields: Tuple[object, object, object], record: Any) -> None:
        self.line = line
        self.fields = fields
        self.record = record  # the CSV row (all columns) or the JSON line, to write back on failure

    def __iter__(self) -> Iterator[object]:
        return iter(self.fields)


class _Input:
    """Reads CSV or JSON Lines rows, reporting malformed ones and writing them to --failed."""

    def __init__(self, stream: Any, failed: Any, out: _Report) -> None:
        import csv

        self._stream = stream
        self._failed = failed
        self._out = out
        first = stream.readline()
        self.jsonl = first.lstrip().startswith("{")
        self._first = first
        self.header: List[str] = []
        if not self.jsonl:
            self.header = next(csv.reader([first]), [])
            missing = [name for name in ("user_id", "key", "value") if name not in self.header]
            if missing:
                raise _Usage("the CSV header must name user_id, key and value; missing %s" % ", ".join(missing))
            self._columns = [self.header.index(name) for name in ("user_id", "key", "value")]
            self._writer = csv.writer(failed, lineterminator="\n") if failed is not None else None
            self._header_written = False

    def rows(self) -> Iterator[_FileRow]:
        import csv
        import itertools

        if self.jsonl:
            lines = itertools.chain([self._first], self._stream)
            for number, text in enumerate(lines, 1):
                if text.strip():
                    row = self._json_row(number, text)
                    if row is not None:
                        yield row
            return
        reader = csv.reader(self._stream)
        width = len(self.header)
        while True:
            number = reader.line_num + 2  # the header was line 1, read before the reader began
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # its text is lost to the parser: named, not written back
                self._out.malformed(_FileRow(number, ("", "", ""), None), "malformed CSV: %s" % exc)
                continue
            if not record:
                continue
            if len(record) < width:
                self.reject(_FileRow(number, ("", "", ""), record),
                            "expected %d columns, got %d" % (width, len(record)))
                continue
            yield _FileRow(number, (record[self._columns[0]], record[self._columns[1]],
                                    record[self._columns[2]]), record)

    def _json_row(self, number: int, text: str) -> Optional[_FileRow]:
        import json

        try:
            record = json.loads(text)
        except ValueError as exc:
            self.reject(_FileRow(number, ("", "", ""), text), "not JSON: %s" % exc)
            return None
        if not isinstance(record, dict) or not {"user_id", "key", "value"} <= record.keys():
            self.reject(_FileRow(number, ("", "", ""), text), 'expected {"user_id": ..., "key": ..., "value": ...}')
            return None
        return _FileRow(number, (record["user_id"], record["key"], record["value"]), text)

    def reject(self, row: _FileRow, reason: str) -> None:
        """A row read but not accepted: say so once per row and write it to --failed."""
        self._out.malformed(row, reason)
        self.write_failed(row)

    def write_failed(self, row: _FileRow) -> None:
        if self._failed is None or row.record is None:
            return
        if self.jsonl:
            text = row.record
            self._failed.write(text if text.endswith("\n") else text + "\n")
            return
        if self._writer is None:
            return
        if not self._header_written:
            self._writer.writerow(self.header)
            self._header_written = True
        self._writer.writerow(row.record)


class _Report:
    """What the command line says on stderr about a --file run."""

    def __init__(self, client: Client, quiet: bool) -> None:
        self._client = client
        self._tty = sys.stderr.isatty() and not quiet
        self._shown = 0.0
        self.read = self.accepted = self.not_accepted = 0

    def say(self, text: str) -> None:
        if self._tty:
            sys.stderr.write("\r\x1b[K")
        print("vwo-push: %s" % self._client._redact(text), file=sys.stderr)

    def malformed(self, row: _FileRow, reason: str) -> None:
        """A row the file holds but that never became (user_id, key, value): read, and not accepted."""
        self.read += 1
        self.row_failed(row, reason)

    def row_failed(self, row: _FileRow, reason: str) -> None:
        self.not_accepted += 1
        self.say("line %d: %s" % (row.line, reason))

    def batch(self, rows: List[_FileRow], reason: Optional[str]) -> None:
        if reason is None:
            self.accepted += len(rows)
        elif len(rows) == 1:
            self.row_failed(rows[0], reason)
        else:
            self.not_accepted += len(rows)
            lines = sorted(row.line for row in rows)
            self.say("%d rows (lines %d-%d) not accepted: %s" % (len(rows), lines[0], lines[-1], reason))
        self.progress()

    def counted(self, rows: Iterator[_FileRow]) -> Iterator[_FileRow]:
        for row in rows:
            self.read += 1
            yield row

    def progress(self) -> None:
        if self._tty and time.monotonic() - self._shown > 0.2:
            self._shown = time.monotonic()
            sys.stderr.write("\r\x1b[Kvwo-push: %d rows read, %d accepted, %d not accepted"
                             % (self.read, self.accepted, self.not_accepted))
            sys.stderr.flush()

    def summary(self) -> None:
        if self._tty:
            sys.stderr.write("\r\x1b[K")
        print("vwo-push: %d rows read, %d accepted, %d not accepted%s"
              % (self.read, self.accepted, self.not_accepted,
                 " (dry run: valid rows counted as accepted, nothing sent)" if self._client._dry_run else ""),
              file=sys.stderr)


def _run_file(client: Client, opts: Any) -> int:
    if not 1 <= opts.batch_size <= _MAX_BATCH:
        raise _Usage("--batch-size must be from 1 to %d" % _MAX_BATCH)
    import contextlib

    with contextlib.ExitStack() as files:
        try:
            if opts.file == "-":
                stream = files.enter_context(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline=""))
            else:
                stream = files.enter_context(open(opts.file, encoding="utf-8-sig", newline=""))
        except OSError as exc:
            raise _Usage("cannot read %s: %s" % (opts.file, exc.strerror or exc)) from None
        failed = None
        if opts.failed is not None:
            try:
                failed = files.enter_context(open(opts.failed, "w", encoding="utf-8", newline=""))
            except OSError as exc:
                raise _Usage("cannot write %s: %s" % (opts.failed, exc.strerror or exc)) from None
        report = _Report(client, opts.quiet)
        try:
            source = _Input(stream, failed, report)
        except (OSError, UnicodeDecodeError) as exc:
            raise _Usage("cannot read %s: %s" % (opts.file, exc)) from None
        try:
            for rows, reason in client._batches(report.counted(source.rows()), opts.batch_size):
                report.batch(rows, reason)
                if reason is not None:
                    for row in rows:
                        source.write_failed(row)
        except (OSError, UnicodeDecodeError) as exc:  # the input broke off: the rows read were sent first
            report.say("stopped after %d rows: cannot read the rest of %s: %s" % (report.read, opts.file, exc))
            report.not_accepted += 1  # the unread rest, which has no count: the exit status says 1
        report.summary()
    return 0 if report.not_accepted == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
