# Copyright 2026 the vwo-push authors. SPDX-License-Identifier: Apache-2.0 (see LICENSE).
"""Push VWO custom dimensions (and FME visitor attributes) for a user: one file, standard library only.

Quick start::

    import logging
    import vwo_push

    logging.basicConfig()   # the library logs why a push failed; nothing is shown without a handler

    with vwo_push.Client(123456, "your-sdk-key") as client:
        client.push("browser", "chrome", "user-42")                  # one pair
        client.push({"browser": "chrome", "plan": "pro"}, "user-42")  # a map
        client.push_many([("user-42", "plan", "pro")])                # many rows, batched

`push` returns True only when VWO answered 2xx to every request it made, never
raises, and returns within `timeout` seconds (plus at most 0.25 s).  The requests
are those of the official SDKs: vwo-python-sdk 1.68.2, and vwo-fme-python-sdk
1.65.0 for clients made with fme=True.

The file reads in the order data flows through it; `grep -n "^# [0-9]" vwo_push.py`
lists the sections: 1 protocol, 2 validation, 3 call forms, 4 transport, 5 client,
6 bulk, 7 command line.  Importing it loads nothing beyond what Python loads at
start-up: the network, JSON and logging modules are imported on first use.
"""

from __future__ import annotations

import _thread
import io
import os
import sys
import time

__version__ = "0.2.0"
__all__ = ["Client", "PushManyResult", "launch", "main", "push"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - seen by type checkers only, to keep the import cheap
    import http.client
    import logging
    import socket
    import ssl
    import urllib.request
    from typing import (
        Any,
        Callable,
        Dict,
        Iterable,
        Iterator,
        List,
        Mapping,
        Optional,
        Sequence,
        Tuple,
        Union,
        overload,
    )

    _Value = Union[str, int, float]  # str for FullStack accounts; FME attributes also take int, float and bool
    _Context = Tuple[str, Optional[str], Optional[str], int]  # FME: id, user_agent, ip_address, session_id (0: now)
    _Call = Tuple[Any, List[Tuple[Any, Any]], str, bool]  # who, pairs, the argument holding the values, one pair?
    _Row = Any
    _Outcome = Tuple[int, int, Optional[str]]  # events [start:end] of a batch, and None if accepted or why not
else:
    def overload(function):  # at run time the last definition wins; type checkers read typing.overload
        return function

_logger: Optional[logging.Logger] = None


def _log() -> logging.Logger:
    """The `vwo_push` logger with its NullHandler and its redacting filter, made on first use."""
    global _logger
    if _logger is None:
        import logging

        logger = logging.getLogger("vwo_push")
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        if not any(isinstance(f, _Redactor) for f in logger.filters):
            logger.addFilter(_Redactor())
        _logger = logger
    return _logger


_REDACTED = "****"
_secret_users: Dict[str, int] = {}  # SDK key -> how many live clients use it: the keys redaction hides


class _Redactor:
    """The logging filter on `vwo_push`: every record loses the SDK keys in use and proxy credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _redact(record.getMessage()), ()
        return True


def _remember_secret(sdk_key: str) -> None:
    _secret_users[sdk_key] = _secret_users.get(sdk_key, 0) + 1


def _forget_secret(sdk_key: str) -> None:
    users = _secret_users.get(sdk_key, 0) - 1
    if users > 0:
        _secret_users[sdk_key] = users
    else:
        _secret_users.pop(sdk_key, None)


def _secret_forms(secret: str) -> List[str]:
    """A secret as it travels: raw (a header), in a query (two encodings), in JSON."""
    from urllib.parse import quote, quote_plus, unquote

    encode_basestring_ascii = _json_string()
    forms = {secret, unquote(secret), quote_plus(secret), quote(secret, safe=""), quote(secret, safe=_FME_SAFE),
             encode_basestring_ascii(secret)[1:-1]}
    return [form for form in forms if len(form) >= 4]  # shorter ones would blank out every log line


def _proxy_credentials() -> List[str]:
    """user:password@ of every proxy setting in the environment, and the password alone."""
    found = []
    for name, value in list(os.environ.items()):
        if name.lower().endswith("_proxy") and "@" in value:
            userinfo = value.split("//", 1)[-1].rpartition("@")[0]
            found += _secret_forms(userinfo) + _secret_forms(userinfo.partition(":")[2])
    return found


def _redact(text: str, *extra: str) -> str:
    """`text` with every secret shown as ****: the one place redaction happens."""
    forms = [form for key in (*_secret_users, *extra) if key for form in _secret_forms(key)]
    for form in sorted(forms + _proxy_credentials(), key=len, reverse=True):
        text = text.replace(form, _REDACTED)
    if "@" in text:  # credentials in any URL, whatever their origin
        import re

        text = re.sub(r"(//)[^/@\s]+@", r"\1****@", text)
    return text


def _error_text(exc: BaseException) -> str:
    """What an exception says, redacted; never raises, whatever its __str__ does."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not escape
        text = "(its message cannot be shown)"
    if not isinstance(exc, (ValueError, TypeError)) or not text:
        text = "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
    return _redact(text)


# ---------------------------------------------------------------------------
# 1. Protocol: the requests VWO expects (../shared/protocol.md), built by pure functions
# ---------------------------------------------------------------------------

_HOST = "https://dev.visualwebsiteoptimizer.com"
_SDK_NAME, _SDK_VERSION = "vwo-python-sdk", "1.68.2"
_FME_SDK_NAME, _FME_SDK_VERSION = "vwo-fme-python-sdk", "1.65.0"
_PUSH_PATH = "/server-side/push"
_EVENTS_PATH = "/events/t"
_BATCH_PATH = "/server-side/batch-events"
_FME_BATCH_PATH = "/server-side/batch-events-v2"
_SYNC_EVENT = "vwo_syncVisitorProp"
_ENV_PROP = "vwo_fs_environment"  # carries the SDK key in event bodies: refused as a dimension key
_USER_AGENT = "vwo-push/" + __version__
_MAX_TEXT = 255
_MAX_BATCH = 5000
_RETRY_STATUSES = frozenset((408, 429, 500, 502, 503, 504))

# uuid.NAMESPACE_URL; the visitor id is uuid5(uuid5(uuid5(URL, "https://vwo.com"), account), user).
_NAMESPACE_URL = bytes.fromhex("6ba7b8119dad11d180b400c04fd430c8")

# urllib.parse.quote_plus for ASCII text, as one str.translate: the tags JSON is always ASCII
# (ensure_ascii), and quote_plus's per-byte loop was a fifth of the cost of building a push.
_FORM_ENCODE = {c: "%%%02X" % c for c in range(128)
                if chr(c) not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"}
_FORM_ENCODE[ord(" ")] = "+"

# FME query values: percent-encoded so that no value can add, split or cut parameters.  The
# characters the FME SDK sends raw and that delimit nothing in a query stay raw, so that a
# usual user agent is sent byte for byte as the SDK sends it.
_FME_SAFE = "/:@!$'()*,"


def _json_string() -> Callable[[str], str]:
    """json.dumps for one str, with the json module's defaults: its C encoder, without loading the json package."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # pragma: no cover - a Python built without the _json accelerator
        from json.encoder import encode_basestring_ascii
    return encode_basestring_ascii


def _uuid5(sha1: Callable[[bytes], Any], namespace: bytes, name: str) -> bytearray:
    """uuid.uuid5(namespace, name).bytes, without importing uuid."""
    digest = bytearray(sha1(namespace + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest


class _Wire:
    """protocol.md for one account: each request VWO expects, as URL, body and headers.

    Pure: the clock (`now`, unix seconds) and the random number are arguments, so the
    same inputs give the same bytes.  The parts that never change are made once here.
    """

    def __init__(self, account_id: str, sdk_key: str, base: str) -> None:
        from hashlib import sha1
        from urllib.parse import quote, quote_plus

        encode_basestring_ascii = _json_string()
        self.sha1 = sha1
        self.json_str = encode_basestring_ascii  # json.dumps(a str), with the json module's defaults
        self.quote = quote
        self.account_id = account_id
        self.sdk_key = sdk_key
        self.namespace = bytes(_uuid5(sha1, bytes(_uuid5(sha1, _NAMESPACE_URL, "https://vwo.com")), account_id))
        env = quote_plus(sdk_key)
        self.push_head = base + _PUSH_PATH + "?random="
        self.push_middle = "&sdk=%s&sdk-v=%s&ap=server&sId=" % (_SDK_NAME, _SDK_VERSION)
        self.push_tail = "&account_id=%s&env=%s&visitor_ua=&visitor_ip=&tags=" % (account_id, env)
        self.events_head = "%s%s?en=%s&a=%s&env=%s&eTime=" % (base, _EVENTS_PATH, _SYNC_EVENT, account_id, env)
        self.batch_url = "%s%s?a=%s&sdk=%s&sdk-v=%s&env=%s" % (base, _BATCH_PATH, account_id, _SDK_NAME,
                                                               _SDK_VERSION, env)
        key_json = encode_basestring_ascii(sdk_key)
        self.event_props = ('"event": {"props": {"vwo_sdkName": "%s", "vwo_sdkVersion": "%s", "vwo_envKey": %s, '
                            '"isCustomEvent": true}, "name": "%s", "time": ' % (_SDK_NAME, _SDK_VERSION, key_json,
                                                                                 _SYNC_EVENT))
        self.visitor_props = '"visitor": {"props": {"%s": %s' % (_ENV_PROP, key_json)
        fme_env = quote(sdk_key, safe=_FME_SAFE)
        self.fme_events_head = "%s%s?en=%s&a=%s&eTime=" % (base, _EVENTS_PATH, _SYNC_EVENT, account_id)
        self.fme_tail = "&sn=%s&sv=%s&env=%s" % (_FME_SDK_NAME, _FME_SDK_VERSION, fme_env)
        self.fme_batch_url = "%s%s?a=%s&env=%s&sn=%s&sv=%s" % (base, _FME_BATCH_PATH, account_id, fme_env,
                                                               _FME_SDK_NAME, _FME_SDK_VERSION)

    def visitor_id(self, user_id: str) -> str:
        """`u` and `visId`: 32 upper-case hex digits.  A wrong one loses every push silently."""
        return _uuid5(self.sha1, self.namespace, user_id).hex().upper()

    def tags(self, key: str, value: str) -> str:
        """json.dumps({"u": {key: value}}) with the json module's defaults, as the SDK sends it."""
        return '{"u": {' + self.json_str(key) + ": " + self.json_str(value) + "}}"

    def push_url(self, u: str, key: str, value: str, now: float, rand: float) -> str:
        """Standard accounts (section 1): one GET a pair, parameters in the SDK's order; tags form-encoded."""
        return "%s%r%s%d&u=%s%s%s" % (self.push_head, rand, self.push_middle, now, u, self.push_tail,
                                      self.tags(key, value).translate(_FORM_ENCODE))

    def event_arch(self, u: str, pairs: List[Tuple[str, Any]], now: float, rand: float) -> Tuple[str, bytes]:
        """Event-architecture accounts (section 2): one POST /events/t carrying every pair."""
        ms = int(now * 1000)
        url = "%s%d&random=%r&p=FS&visitor_ua=&visitor_ip=" % (self.events_head, ms, rand)
        props = "".join(", %s: %s" % (self.json_str(k), self.json_str(v)) for k, v in dict(pairs).items())
        body = '{"d": {"msgId": "%s-%d", "visId": "%s", "sessionId": %d, %s%d}, %s%s}}}}' % (
            u, ms, u, now, self.event_props, ms, self.visitor_props, props)
        return url, body.encode("ascii")

    def batch_event(self, u: str, key: str, value: str, sid: int) -> str:
        """Section 3: one event of a batch, as JSON text; `t` is the tags JSON as a JSON string."""
        # The tags JSON (as tags() makes it; inline, for bulk runs it per row) is printable ASCII:
        # json.dumps of it would escape only backslashes and quotes, as these replaces do.
        t = ('{"u": {' + self.json_str(key) + ": " + self.json_str(value) + "}}").replace(
            "\\", "\\\\").replace('"', '\\"')
        return '{"u": "%s", "sId": %d, "visitor_ua": "", "visitor_ip": "", "t": "%s", "eT": 3}' % (u, sid, t)

    def fme_body(self, u: str, pairs: List[Tuple[str, Any]], context: _Context, ms: int) -> str:
        """Section 4: the FME event body, as JSON text; values keep their JSON type."""
        import json

        props = {_ENV_PROP: self.sdk_key}
        props.update(pairs)
        data: Dict[str, Any] = {
            "msgId": "%s-%d" % (u, ms), "visId": u, "sessionId": context[3] or ms // 1000,
            "event": {"props": {"vwo_sdkName": _FME_SDK_NAME, "vwo_sdkVersion": _FME_SDK_VERSION,
                                "vwo_envKey": self.sdk_key, "isCustomEvent": True, _ENV_PROP: self.sdk_key},
                      "name": _SYNC_EVENT, "time": ms}}
        if context[1] is not None:
            data["visitor_ua"] = context[1]
        if context[2] is not None:
            data["visitor_ip"] = context[2]
        data["visitor"] = {"props": props}
        return json.dumps({"d": data}, allow_nan=False)

    def fme_event(self, u: str, pairs: List[Tuple[str, Any]], context: _Context, now: float,
                  rand: float) -> Tuple[str, bytes, Dict[str, Any]]:
        """Section 4: one POST /events/t a call, with the FME SDK's query and headers."""
        ms = int(now * 1000)
        ua, ip = context[1], context[2]
        url = "%s%d&random=%r&p=FS&visitor_ua=%s&visitor_ip=%s%s" % (
            self.fme_events_head, ms, rand, self.quote(str(ua), safe=_FME_SAFE),
            self.quote(str(ip), safe=_FME_SAFE), self.fme_tail)
        headers: Dict[str, Any] = {}
        if ua is not None and ua.strip():
            headers["X-Device-User-Agent"] = _header_value(ua.strip())
        if ip is not None and ip.strip():
            headers["VWO-X-Forwarded-For"] = _header_value(ip.strip())
        return url, self.fme_body(u, pairs, context, ms).encode("ascii"), headers

    def batch(self, events: List[str], fme: bool) -> Tuple[str, bytes, Dict[str, Any]]:
        """Sections 3 and 4: one POST carrying many events (at most 5000)."""
        body = ('{"ev": [' + ", ".join(events) + "]}").encode("ascii")
        return (self.fme_batch_url if fme else self.batch_url), body, {"Authorization": self.sdk_key}


def _header_value(text: str) -> Union[str, bytes]:
    """A header value as http.client sends it: ASCII as is, anything else as UTF-8 bytes (not Latin-1)."""
    return text if text.isascii() else text.encode("utf-8")


_Request: Any = None  # urllib.request.Request, once urllib is imported


def _request_class() -> Any:
    global _Request
    from urllib.request import Request

    _Request = Request
    return Request


def _request(url: str, body: Optional[bytes] = None, headers: Optional[Dict[str, Any]] = None,
             origin: str = "") -> urllib.request.Request:
    """The urllib Request for a URL built here: User-Agent, and Content-Type for a JSON body.

    urllib's constructor parses the URL back into the parts this module just put
    together, through half a dozen calls: a third of building a push.  The request is
    made with the attributes that constructor sets (a test compares the two on every
    Python that CI runs), from parts known without parsing.
    """
    Request = _Request or _request_class()
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    all_headers: Dict[str, Any] = {"User-agent": _USER_AGENT}  # capitalised, as Request.add_header does
    if body is not None:
        all_headers["Content-type"] = "application/json"
    if headers:
        all_headers.update((name.capitalize(), value) for name, value in headers.items())
    req: urllib.request.Request = Request.__new__(Request)
    req.__dict__.update(_full_url=url, fragment=None, type=scheme, host=host, selector="/" + path,
                        headers=all_headers, unredirected_hdrs={}, _data=body, _tunnel_host=None,
                        origin_req_host=origin, unverifiable=False, method="GET" if body is None else "POST")
    return req


# ---------------------------------------------------------------------------
# 2. Validation: each check names the argument and what is wrong, never the caller's text
# ---------------------------------------------------------------------------

def _describe(value: object) -> str:
    """What a value is, without its text: a key passed by mistake must not leak, not even in part."""
    if isinstance(value, str):
        return "a str of %d characters" % len(value)
    return "a value of type %s" % type(value).__name__


def _text_problem(value: object, limit: Optional[int] = _MAX_TEXT) -> Optional[str]:
    """None for a non-empty str of valid Unicode within `limit` characters; else what is wrong."""
    if isinstance(value, str) and value and (limit is None or len(value) <= limit):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text, but holds a lone surrogate"
        return None
    most = "" if limit is None else " of at most %d characters" % limit
    return "must be a non-empty str%s, got %s" % (most, _describe(value))


def _typed_problem(value: object) -> Optional[str]:
    """FME attribute values: str as above, int, finite float or bool (each keeps its JSON type)."""
    if isinstance(value, (bool, int)):
        if isinstance(value, bool) or value.bit_length() <= 13_000:  # int-to-str stops at 4300 digits
            return None
        return "must be an int of at most 3900 digits"
    if isinstance(value, float):
        return None if value - value == 0 else "must be a finite float, got NaN or infinity"
    if isinstance(value, str):
        return _text_problem(value)
    return "must be a str, int, float or bool, got %s" % _describe(value)


def _plain(value: object) -> bool:
    """The common valid text, checked fast: an ASCII str of 1 to 255 characters (the rest takes _text_problem)."""
    return type(value) is str and 0 < len(value) <= _MAX_TEXT and value.isascii()


def _check(value: object, name: str, problem: Optional[str]) -> None:
    if problem is not None:
        raise ValueError("%s %s" % (name, problem))


def _check_key(key: object, name: str) -> None:
    """A dimension or attribute key: a str of 1 to 255 characters, and not the one that carries the SDK key."""
    _check(key, name, _text_problem(key))
    if key == _ENV_PROP:
        raise ValueError("%s is the reserved key %r, which carries the SDK key" % (name, _ENV_PROP))


def _check_user_id(user_id: object) -> str:
    _check(user_id, "user_id", _text_problem(user_id, None))
    return user_id  # type: ignore[return-value]  # checked: a str


def _check_context(context: object) -> _Context:
    """The FME SDK's context: a mapping with a str id; user_agent, ip_address and session_id optional."""
    from collections.abc import Mapping

    if not isinstance(context, Mapping):
        raise ValueError("context must be a mapping such as {'id': user_id}, got %s" % _describe(context))
    _check(context.get("id"), "context['id']", _text_problem(context.get("id"), None))
    seen: List[Optional[str]] = []
    for name in ("user_agent", "ip_address"):
        value = context.get(name)
        if value is not None:
            _check(value, "context[%r]" % name, None if isinstance(value, str) else "must be a str")
            if any(c in value for c in "\r\n\x00"):  # it travels in a header too
                raise ValueError("context[%r] must not hold line breaks or NUL" % name)
            _check(value, "context[%r]" % name, _text_problem(value or " ", None))
        seen.append(value)
    session = context.get("session_id")
    if session is None:
        session = 0
    elif not isinstance(session, int) or isinstance(session, bool) or session < 0:
        raise ValueError("context['session_id'] must be an int >= 0 (0 means now), got %s" % _describe(session))
    return context["id"], seen[0], seen[1], int(session)


def _check_account_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return str(int(value))  # the visitor id hashes this text: "000123" and 123 must agree
    raise ValueError("account_id must be a positive int or a str of digits, got %s" % _describe(value))


def _check_sdk_key(value: object) -> str:
    if isinstance(value, str) and value and all("!" <= c <= "~" for c in value):
        return value
    raise ValueError("sdk_key must be a non-empty str of printable ASCII without spaces (it travels in a header)")


def _shown(value: object) -> str:
    """A setting's value in a message: a number as it is, anything else only described."""
    is_number = isinstance(value, (int, float)) and type(value) in (int, float, bool)
    return repr(value) if is_number else _describe(value)


def _check_number(name: str, value: object, *, low: float, high: float, low_ok: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if (number > low or (low_ok and number == low)) and number <= high:  # NaN fails both
            return number
    raise ValueError("%s must be a number %s %g and at most %g, got %s" % (
        name, ">=" if low_ok else ">", low, high, _shown(value)))


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise ValueError("%s must be an int from %d to %d, got %s" % (name, low, high, _shown(value)))


def _check_flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("%s must be True or False, got %s" % (name, _shown(value)))


def _check_prefix(value: object) -> str:
    if value is None:
        return ""
    ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    if isinstance(value, str) and value and all(c in ok for c in value):
        return "/" + value
    raise ValueError("collection_prefix must be None or one path segment of letters, digits, '-' and '_', "
                     "got %s" % _describe(value))


def _check_endpoint(value: object) -> Tuple[str, str]:
    """scheme://host[:port], https unless the host is loopback; and the host as urllib names it."""
    if value is None:
        return _HOST, _HOST.split("://")[1]
    from urllib.parse import urlsplit

    problem = "must be a str"
    if isinstance(value, str):
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises ValueError for a port that is not a number in range
        except ValueError:
            problem = "is not a URL with a valid port"
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "must be http(s)://host[:port]"
            elif parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
                problem = "must have no path, query, fragment or user name: only scheme, host and port"
            elif parts.scheme == "http" and not _is_loopback(parts.hostname):
                problem = "must be https:// (plain http is allowed for loopback hosts only)"
            else:
                netloc = parts.netloc.lower()
                host, colon, port = netloc.rpartition(":")
                return "%s://%s" % (parts.scheme, parts.netloc), host if colon and port.isdigit() else netloc
    raise ValueError("endpoint %s, got %s" % (problem, _describe(value)))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_batch_events(value: object) -> Optional[Dict[str, Any]]:
    """The official SDK's batch_events dict, with its names, defaults and bounds; plus max_queue_size."""
    if value is None:
        return None
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        raise ValueError("batch_events must be a dict or None, got %s" % _describe(value))
    unknown = sorted(str(k) for k in value if k not in _BATCH_DEFAULTS)
    if unknown:
        raise ValueError("batch_events has unknown key(s) %s; it takes %s" % (
            ", ".join(map(repr, unknown)), ", ".join(_BATCH_DEFAULTS)))
    options = dict(_BATCH_DEFAULTS)
    options.update((k, v) for k, v in value.items() if v is not None or k == "flush_callback")
    options["events_per_request"] = _check_int("batch_events['events_per_request']",
                                               options["events_per_request"], 1, _MAX_BATCH)
    options["request_time_interval"] = _check_number("batch_events['request_time_interval']",
                                                     options["request_time_interval"], low=1, high=86400, low_ok=True)
    options["max_queue_size"] = _check_int("batch_events['max_queue_size']", options["max_queue_size"], 1, 10_000_000)
    if options["flush_callback"] is not None and not callable(options["flush_callback"]):
        raise ValueError("batch_events['flush_callback'] must be callable or None")
    return options


_BATCH_DEFAULTS: Dict[str, Any] = {"events_per_request": 100, "request_time_interval": 600, "flush_callback": None,
                                   "max_queue_size": 10_000}


# ---------------------------------------------------------------------------
# 3. Call forms: singledispatch on the first argument; str is one pair, a Mapping is a map
# ---------------------------------------------------------------------------
# Each registered function takes its form's real parameters, so keywords bind as in any
# call, checks the keys and the user (or FME context), and gives (who, pairs, name, single).
# Values are checked by the client, whose account type decides what a value may be.

def _push_pair(custom_dimension_key: object, custom_dimension_value: object, user_id: object) -> _Call:
    """push(custom_dimension_key, custom_dimension_value, user_id)"""
    if not _plain(custom_dimension_key) or custom_dimension_key == _ENV_PROP:
        _check_key(custom_dimension_key, "custom_dimension_key")
    if type(user_id) is not str or not user_id or not user_id.isascii():
        _check_user_id(user_id)
    return user_id, [(custom_dimension_key, custom_dimension_value)], "custom_dimension_value", True


def _push_map(custom_dimension_map: Mapping[object, object], user_id: object) -> _Call:
    """push(custom_dimension_map, user_id)"""
    pairs = _map_pairs(custom_dimension_map, "custom_dimension_map")
    return _check_user_id(user_id), pairs, "custom_dimension_map", False


def _attribute_pair(attribute_key: object, attribute_value: object, context: object) -> _Call:
    """set_attribute(attribute_key, attribute_value, context)"""
    _check_key(attribute_key, "attribute_key")
    return _check_context(context), [(attribute_key, attribute_value)], "attribute_value", True


def _attribute_map(attribute_map: Mapping[object, object], context: object) -> _Call:
    """set_attribute(attribute_map, context)"""
    return _check_context(context), _map_pairs(attribute_map, "attribute_map"), "attribute_map", False


def _map_pairs(mapping: Mapping[object, object], name: str) -> List[Tuple[str, Any]]:
    pairs = list(mapping.items())
    if not pairs:
        raise ValueError("%s must not be empty" % name)
    for number, (key, _) in enumerate(pairs, 1):
        if not _plain(key) or key == _ENV_PROP:
            _check_key(key, "the key of pair #%d of %s" % (number, name))  # the slow path names the pair
    return pairs  # type: ignore[return-value]  # keys checked: str


def _no_form(first: object, *args: object, **kwargs: object) -> _Call:
    raise TypeError("the first argument must be a str key or a mapping of pairs, got %s" % _describe(first))


_FORMS: Dict[str, Callable[..., _Call]] = {}


def _forms(kind: str) -> Callable[..., _Call]:
    """The dispatcher of `push` or `set_attribute` call forms, built on first use (functools costs a cold start)."""
    forms = _FORMS.get(kind)
    if forms is None:
        import functools
        from collections.abc import Mapping

        forms = functools.singledispatch(_no_form)
        forms.register(str, _push_pair if kind == "push" else _attribute_pair)
        forms.register(Mapping, _push_map if kind == "push" else _attribute_map)
        _FORMS[kind] = forms
    return forms


# Keyword-only calls: singledispatch needs the first argument in place, so the public edge
# moves it there, once.  tag_key/tag_value are the official SDK's names for the first two.
_FIRST_ARGUMENT = {"push": ("custom_dimension_key", "custom_dimension_map"),
                   "set_attribute": ("attribute_key", "attribute_map")}
_SDK_NAMES = {"tag_key": "custom_dimension_key", "tag_value": "custom_dimension_value"}


def _call_form(kind: str, args: Sequence[object], kwargs: Dict[str, Any]) -> _Call:
    """Bind a call of `push` or `set_attribute` to its form; raises TypeError or ValueError."""
    if kwargs and kind == "push" and ("tag_key" in kwargs or "tag_value" in kwargs):
        renamed = {_SDK_NAMES.get(name, name): value for name, value in kwargs.items()}
        if len(renamed) < len(kwargs):
            raise TypeError("push() got tag_key or tag_value together with its custom_dimension_ name")
        kwargs = renamed
    if not args:
        key_name, map_name = _FIRST_ARGUMENT[kind]
        if map_name in kwargs:
            kwargs = dict(kwargs)
            first = kwargs.pop(map_name)
            if isinstance(first, str):  # the pair form would be chosen and complain about other names
                raise TypeError("%s must be a mapping, got a str" % map_name)
        elif key_name in kwargs:
            kwargs = dict(kwargs)
            first = kwargs.pop(key_name)
        else:
            raise TypeError("%s() needs %s or %s" % (kind, key_name, map_name))
        return (_FORMS.get(kind) or _forms(kind))(first, **kwargs)
    return (_FORMS.get(kind) or _forms(kind))(*args, **kwargs)


# ---------------------------------------------------------------------------
# 4. Transport: urllib with keep-alive, one deadline for every phase, retries
# ---------------------------------------------------------------------------
# A push has one deadline.  Every phase asks `_left(deadline)` for the time it may take:
# name resolution (in a helper thread, so that the wait can be cut short), each address
# connected to, the proxy CONNECT, the TLS handshake, each chunk sent, each read of the
# answer.  Once the deadline has passed, `_left` raises and nothing more is sent.

_BODY_GRACE = 0.25  # seconds an answer's body may take after its status line: keep-alive only
_NEXT_ADDRESS = 0.25  # seconds before the next address of a name is tried beside a slow one
_MAX_IDLE = 8  # idle connections kept per origin
_MAX_BODY = 1 << 20  # an answer body is read for keep-alive only; more is not worth waiting for
_CHUNK = 1 << 14  # bytes handed to the socket at a time, each under the time left


def _left(deadline: float) -> float:
    """Seconds until `deadline`; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _Lookup:
    """One getaddrinfo under way in a helper thread; callers that need the same name wait on it."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = _thread.allocate_lock()
        self.done.acquire()  # released by the helper thread when the answer is in
        self.result: List[Any] = []
        self.error: Optional[BaseException] = None

    def run(self, host: str, port: int) -> None:
        import socket

        try:
            self.result = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting callers
            self.error = exc
        finally:
            with _lookups_lock:
                if _lookups.get((host, port)) is self:
                    del _lookups[(host, port)]
            self.done.release()


_lookups: Dict[Tuple[str, int], _Lookup] = {}
_lookups_lock = _thread.allocate_lock()


def _resolve(host: str, port: int, deadline: float) -> List[Any]:
    """getaddrinfo within the deadline: it cannot be interrupted, so it runs in a helper thread.

    A resolver that hangs costs one helper thread per name, not one per push: callers
    asking for a name already being looked up wait on that lookup.
    """
    import socket

    for family in (socket.AF_INET, socket.AF_INET6):  # an address needs no lookup
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # here, not in the helper thread: see _prepare_imports
    with _lookups_lock:
        lookup = _lookups.get((host, port))
        start = lookup is None
        if lookup is None:
            lookup = _lookups[(host, port)] = _Lookup()
    if start:
        import threading

        try:
            threading.Thread(target=lookup.run, args=(host, port), name="vwo_push lookup", daemon=True).start()
        except RuntimeError:  # no new threads at interpreter exit (CPython 3.12): look up here
            lookup.run(host, port)
    if not lookup.done.acquire(True, _left(deadline)):
        raise TimeoutError("timed out resolving %s" % host)
    lookup.done.release()
    if lookup.error is not None:
        error = lookup.error
        raise (type(error)(*error.args) if isinstance(error, OSError) else OSError("cannot resolve %s" % host))
    return lookup.result


def _open_socket(host: str, port: int, deadline: float) -> socket.socket:
    """A connected TCP socket to `host`, trying its addresses in turn within the deadline.

    An address that does not answer (a black-holed IPv6 route is the usual case) is
    given 0.25 s before the next one is tried beside it; the first to connect wins.
    """
    import errno
    import select
    import socket

    addresses = _resolve(host, port, deadline)
    if not addresses:
        raise OSError("getaddrinfo returned no address for %s" % host)
    pending: Dict[socket.socket, Any] = {}  # socket -> address, connecting
    error: Optional[OSError] = None
    next_start = 0.0
    try:
        while addresses or pending:
            left = _left(deadline)
            if addresses and (not pending or time.monotonic() >= next_start):
                family, kind, proto, _, address = addresses.pop(0)
                try:
                    sock = socket.socket(family, kind, proto)
                except OSError as exc:
                    error = exc
                    continue
                sock.setblocking(False)
                code = sock.connect_ex(address)
                if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                    sock.close()
                    error = OSError(code, os.strerror(code))
                    continue
                pending[sock] = address
                next_start = time.monotonic() + _NEXT_ADDRESS
            wait = min(left, max(0.0, next_start - time.monotonic())) if addresses else left
            if hasattr(select, "poll"):
                poller = select.poll()
                for sock in pending:
                    poller.register(sock, select.POLLOUT)
                ready = {fd for fd, _ in poller.poll(wait * 1000)}
                done = [sock for sock in pending if sock.fileno() in ready]
            else:  # pragma: no cover - Windows has no poll
                _, writable, failed = select.select([], list(pending), list(pending), wait)
                done = list(set(writable) | set(failed))
            for sock in done:
                del pending[sock]
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code == 0:
                    sock.setblocking(True)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    return sock
                sock.close()
                error = OSError(code, os.strerror(code))
                next_start = 0.0  # that one failed: try the next address now
        raise error or OSError("cannot connect to %s" % host)
    finally:
        for sock in pending:
            sock.close()


class _BoundedReader(io.RawIOBase):
    """What http.client reads an answer through: each read gets only the time left.

    A deadline per read, not a timeout per read: a server that sends a byte every
    so often cannot stretch the wait.  http.client asks its socket for `makefile`;
    it is handed this reader instead, whose `makefile` buffers itself.
    """

    def __init__(self, sock: socket.socket, conn: Any) -> None:
        super().__init__()
        self._sock = sock
        self._conn = conn  # its `deadline` may move (the body gets less time than the status line)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_left(self._conn.deadline))
        return self._sock.recv_into(buffer)


_connection_classes: List[Any] = []


def _connection_class(tls: bool) -> Any:
    """http.client's connection, with every phase under the connection's `deadline` (made on first use)."""
    if not _connection_classes:
        import http.client

        class Connection(http.client.HTTPConnection):
            deadline = 0.0
            tls: Optional[ssl.SSLContext] = None

            def connect(self) -> None:
                self.sock = _open_socket(self.host, self.port, self.deadline)
                if self._tunnel_host:  # type: ignore[attr-defined]
                    self._tunnel()  # type: ignore[attr-defined]  # CONNECT: sent and read below
                if self.tls is not None:
                    self.sock.settimeout(_left(self.deadline))  # bounds the whole handshake
                    name = self._tunnel_host or self.host  # type: ignore[attr-defined]
                    self.sock = self.tls.wrap_socket(self.sock, server_hostname=name)

            def send(self, data: Any) -> None:
                if self.sock is None:
                    self.connect()
                if len(data) <= _CHUNK:
                    self.sock.settimeout(_left(self.deadline))  # nothing is sent once it has passed
                    self.sock.sendall(data)
                    return
                view = memoryview(data)
                for start in range(0, len(view), _CHUNK):
                    self.sock.settimeout(_left(self.deadline))
                    self.sock.sendall(view[start:start + _CHUNK])

            def response_class(  # type: ignore[override]  # http.client calls it as it calls a class
                    self, sock: Any, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
                return http.client.HTTPResponse(_BoundedReader(sock, self), *args, **kwargs)  # type: ignore[arg-type]

        class TLSConnection(Connection):
            default_port = 443

        _connection_classes[:] = [Connection, TLSConnection]
    return _connection_classes[tls]


class _IdleClose(Exception):
    """A reused connection turned out closed by the server; `read` if the request may have been read."""

    def __init__(self, error: BaseException, read: bool) -> None:
        super().__init__(str(error))
        self.error, self.read = error, read


def _closed_while_idle(exc: BaseException) -> bool:
    import ssl

    return isinstance(exc, (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError))


def _dropped(conn: Any) -> bool:
    """True when the server closed an idle connection (or, where only poll can tell, sent unasked data).

    Linux keeps each connection's TCP state, and a FIN or RST from the server moves it
    out of ESTABLISHED; getsockopt reads it without giving up the GIL, where poll hands
    the GIL to another thread (13% of the pushes a second with four threads, measured).
    """
    import socket

    try:
        if hasattr(socket, "TCP_INFO"):
            state: bytes = conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)
            return state[0] != _TCP_ESTABLISHED
        import select  # pragma: no cover - other systems

        if not hasattr(select, "poll"):  # pragma: no cover - Windows
            return bool(select.select([conn.sock], [], [], 0)[0])
        poller = getattr(conn, "poller", None)  # pragma: no cover
        if poller is None:  # pragma: no cover - made once: a kept connection's socket never changes
            poller = conn.poller = select.poll()
            poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(0))  # pragma: no cover
    except (OSError, ValueError):
        return True


_TCP_ESTABLISHED = 1  # tcpi_state, the first byte of Linux's struct tcp_info


_transports: Any = None  # a WeakSet of every _Transport: closed at exit, reset after fork


class _Transport:
    """The urllib handler for http and https: kept-alive connections, every byte under one deadline.

    urllib's own AbstractHTTPHandler.do_open sends `Connection: close` with every request,
    so each push would pay a TCP (and TLS) handshake.  This handler takes its place in an
    OpenerDirector after ProxyHandler, so proxies from the environment (CONNECT tunnels
    included) work as for urlopen, and https verifies certificates with the SSL context.
    It quacks like urllib.request.BaseHandler rather than subclassing it, so that
    importing this module does not import urllib.
    """

    handler_order = 500

    def __init__(self, ssl_context: Optional[ssl.SSLContext]) -> None:
        global _transports
        self._context = ssl_context
        self._idle: Dict[Tuple[str, str, Optional[str]], List[Any]] = {}
        self._lock = _thread.allocate_lock()
        self._opener: Optional[urllib.request.OpenerDirector] = None
        self._proxied: frozenset[str] = frozenset()  # the schemes the environment proxies
        self.parent: Any = None
        if _transports is None:
            import weakref

            _transports = weakref.WeakSet()
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
        _transports.add(self)

    # -- what OpenerDirector calls ------------------------------------------------

    def add_parent(self, parent: Any) -> None:
        self.parent = parent

    def __lt__(self, other: Any) -> bool:
        return self.handler_order < getattr(other, "handler_order", 500)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._exchange(req, time.monotonic() + (req.timeout or 0.0))

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self._exchange(req, time.monotonic() + (req.timeout or 0.0))

    # -- one exchange ----------------------------------------------------------------

    def _exchange(self, req: urllib.request.Request, deadline: float) -> http.client.HTTPResponse:
        """Send `req` and read its answer by `deadline`, on a kept or a new connection."""
        if req.type not in ("http", "https") or not req.host:  # ProxyHandler passes such a proxy on
            raise _BadSetting("a proxy setting with %s" % ("no host" if req.host == "" else
                                                             "a scheme urllib cannot speak: %s" % req.type))
        tunnel: Optional[str] = req._tunnel_host  # type: ignore[attr-defined]  # set by ProxyHandler
        key = (req.type, req.host, tunnel)
        conn = self._checkout(key)
        if conn is not None:
            try:
                return self._roundtrip(key, conn, req, deadline, reused=True)
            except _IdleClose as idle:
                # The server closed the kept connection before answering.  A request that
                # never fully left is sent again on a new connection, without using a
                # retry; so is a GET.  A POST the server may have read counts as an attempt.
                if idle.read and req.get_method() != "GET":
                    raise idle.error from None
        conn = _connection_class(req.type == "https")(req.host)
        if req.type == "https":
            if self._context is None:  # once: loading the CA store costs milliseconds
                import ssl

                self._context = ssl.create_default_context()  # system store, or SSL_CERT_FILE
            conn.tls = self._context
        if tunnel:
            auth = req.headers.get("Proxy-authorization")
            conn.set_tunnel(tunnel, headers={"Proxy-Authorization": auth} if auth else None)
        return self._roundtrip(key, conn, req, deadline, reused=False)

    def _roundtrip(self, key: Tuple[str, str, Optional[str]], conn: Any, req: urllib.request.Request,
                   deadline: float, reused: bool) -> http.client.HTTPResponse:
        conn.deadline = deadline
        headers = req.headers
        if key[2] and "Proxy-authorization" in headers:  # it went to the proxy in the CONNECT
            headers = {k: v for k, v in headers.items() if k != "Proxy-authorization"}
        sent = False
        try:
            conn.request(req.get_method(), req.selector, req.data, headers)
            sent = True
            response: http.client.HTTPResponse = conn.getresponse()
        except BaseException as exc:
            conn.close()
            if reused and _closed_while_idle(exc):
                raise _IdleClose(exc, read=sent) from None
            raise
        # The status line decides.  The body is read for keep-alive only, for at most
        # 0.25 s: a body that stalls costs the connection, not the push or its time.
        conn.deadline = min(deadline, time.monotonic() + _BODY_GRACE)
        try:  # noqa: SIM105 - contextlib.suppress would import contextlib, a cold start's worth
            # read() when the length is known: read(amt) allocates amt bytes on Python 3.8
            response.read() if response.length is not None and response.length <= _MAX_BODY else \
                response.read(_MAX_BODY)
        except Exception:  # noqa: BLE001 - a body cut short or stalled: only the connection is lost
            pass
        if response.isclosed() and conn.sock is not None:
            with self._lock:
                idle = self._idle.setdefault(key, [])
                if len(idle) < _MAX_IDLE:
                    idle.append(conn)
                    conn = None
        if conn is not None:
            response.close()
            conn.close()
        return response

    def _checkout(self, key: Tuple[str, str, Optional[str]]) -> Any:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or not _dropped(conn):
                return conn
            conn.close()

    def close(self) -> None:
        """Close the idle connections (those in use close when their answer is read)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        _close_all(idle)

    def __del__(self) -> None:  # a client dropped without close(): no ResourceWarning for its sockets
        _close_all(getattr(self, "_idle", {}))

    def after_fork(self) -> None:
        """In a forked child: the parent's connections and lock are the parent's, never used here."""
        idle, self._idle = self._idle, {}
        self._lock = _thread.allocate_lock()
        _close_all(idle)  # this process's copies only: nothing goes on the wire

    # -- sending with retries -----------------------------------------------------------

    def _attempt(self, req: urllib.request.Request, deadline: float) -> http.client.HTTPResponse:
        """One attempt, its answer read: through ProxyHandler when the environment proxies the scheme."""
        opener = self._opener
        if opener is None:
            import urllib.request

            proxies = urllib.request.ProxyHandler()  # reads the environment's proxies, as urlopen does
            opener = urllib.request.OpenerDirector()
            opener.add_handler(proxies)
            opener.add_handler(self)  # type: ignore[arg-type]
            self._opener, self._proxied = opener, frozenset(proxies.proxies)  # type: ignore[attr-defined]
        if req.type not in self._proxied:  # what OpenerDirector.open would do, without its handler chains
            return self._exchange(req, deadline)
        response: Optional[http.client.HTTPResponse] = opener.open(req, timeout=deadline - time.monotonic())
        if response is None:  # a proxy URL with a scheme urllib has no handler for
            raise _BadSetting("no handler for %s URLs (check the *_PROXY settings)" % req.type)
        return response

    def deliver(self, req: urllib.request.Request, deadline: float, retries: int, backoff: float,
                sleep: Callable[[float], None], jitter: Callable[[], float]) -> Optional[str]:
        """Send `req` with retries until `deadline`: None when accepted (2xx), else why not."""
        attempt = 0
        original = req
        while True:
            if time.monotonic() >= deadline:
                return "timed out" + (" after %d attempt(s)" % attempt if attempt else "")
            wait = None
            try:
                response = self._attempt(req, deadline)
            except Exception as exc:  # noqa: BLE001 - sorted into retried or not just below
                reason, final = _failure(exc)
                _trace(req, reason)
                if final:
                    return reason
            else:
                status = response.status
                _trace(req, str(status))
                if 200 <= status < 300:
                    return None
                reason = "HTTP %d" % status
                if status not in _RETRY_STATUSES:
                    return reason
                wait = _retry_after(response.getheader("Retry-After"))
            if attempt >= retries:
                return reason
            if wait is None:
                wait = backoff * (2 ** attempt) * jitter()
            if wait >= deadline - time.monotonic():
                return "%s; no time left to wait %.2f s for a retry" % (reason, wait)
            sleep(wait)
            attempt += 1
            # ProxyHandler rewrites the request it sends: a retry sends a clean copy, same body.
            headers = {k: v for k, v in original.header_items() if k != "Proxy-authorization"}
            req = _request(original.full_url, original.data, headers, original.origin_req_host)  # type: ignore[arg-type]


def _close_all(idle: Dict[Any, List[Any]]) -> None:
    """Close every connection of a pool's idle lists."""
    for connections in list(idle.values()):
        for conn in connections:
            conn.close()


class _BadSetting(Exception):
    """A setting the request cannot be sent with (a malformed proxy URL): not retried."""


def _failure(exc: BaseException) -> Tuple[str, bool]:
    """Why an attempt failed, and whether that is final (retrying would not help)."""
    import http.client
    import ssl
    import urllib.error

    text = _error_text(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate not verified: %s" % _redact(str(exc.verify_message)), True
    if isinstance(exc, ssl.SSLError) and not _closed_while_idle(exc):
        return "TLS error: %s" % text, True
    if isinstance(exc, (_BadSetting, urllib.error.URLError, http.client.InvalidURL, ValueError)):
        return "bad proxy or URL setting: %s" % text, True  # urllib raises these before any byte is sent
    if isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed: "):
        code = str(exc).split()[3]
        return "proxy answered CONNECT with %s" % code, not code.isdigit() or int(code) not in _RETRY_STATUSES
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return text, False
    return text, True  # not a network error: a bug somewhere, which retrying would repeat


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


def _trace(req: urllib.request.Request, outcome: str) -> None:
    """One DEBUG line an attempt (the filter hides the key); skipped unless someone listens."""
    logger = _logger
    if logger is None:
        if "logging" not in sys.modules:  # nobody has configured logging: nobody listens
            return
        logger = _log()
    if logger.isEnabledFor(10):  # logging.DEBUG
        logger.debug("%s %s -> %s", req.get_method(), req.full_url, outcome)


def _prepare_imports() -> None:
    """Import now what sending may import later, before a thread of ours starts.

    A fork while a thread is inside a first import leaves that module's import lock
    held in the child forever; our threads never import.
    """
    import email.utils  # noqa: F401 - Retry-After dates
    import encodings.idna  # noqa: F401 - names that are not ASCII
    import errno  # noqa: F401
    import http.client  # noqa: F401
    import json  # noqa: F401
    import select  # noqa: F401
    import socket  # noqa: F401
    import ssl  # noqa: F401
    import urllib.error
    import urllib.request  # noqa: F401

    _connection_class(True)
    _log()


def _after_fork_in_child() -> None:
    """After os.fork(), in the child: nothing of the parent's (socket, lock, lookup, queue) is used."""
    global _lookups, _lookups_lock
    _lookups, _lookups_lock = {}, _thread.allocate_lock()
    for transport in list(_transports or ()):
        transport.after_fork()
    for batcher in list(_batchers or ()):
        batcher.after_fork()


# ---------------------------------------------------------------------------
# 5. Client: configuration, push and set_attribute, batch mode, close; launch and push
# ---------------------------------------------------------------------------

class Client:
    """Pushes custom dimensions (or, with fme=True, FME visitor attributes) for one VWO account.

    A client may be shared by threads; it keeps connections open between requests, so
    close() it, or use `with`, when done.  It pickles as its configuration, so it can be
    handed to a process pool, where it opens its own connections.
    """

    def __init__(self, account_id: Union[int, str], sdk_key: str, *, event_arch: bool = False, fme: bool = False,
                 collection_prefix: Optional[str] = None, endpoint: Optional[str] = None, timeout: float = 10.0,
                 retries: int = 3, backoff: float = 0.5, dry_run: bool = False,
                 ssl_context: Optional[ssl.SSLContext] = None,
                 batch_events: Optional[Mapping[str, Any]] = None) -> None:
        """Check the configuration; nothing is sent and no connection is opened.

        Args:
            account_id: the VWO account id, a positive int or a str of digits.
            sdk_key: the SDK key of the account's environment.
            event_arch: True for accounts with the event architecture (one POST a push).
            fme: True for Feature Management and Experimentation accounts (the FME SDK's wire).
            collection_prefix: the data-residency path segment, such as "eu01".
            endpoint: "scheme://host[:port]" instead of VWO's (https, or http for loopback).
            timeout: seconds that bound a whole push, retries and waits included (at most a day).
            retries: extra attempts after a retryable failure (at most 100).
            backoff: base of the exponential backoff between attempts, in seconds.
            dry_run: validate and build requests, send nothing (each is logged at INFO).
            ssl_context: used for https instead of the default (system store or SSL_CERT_FILE).
            batch_events: batch mode, as the official SDK's launch takes it: {"events_per_request":
                100, "request_time_interval": 600, "flush_callback": None, "max_queue_size": 10000}.

        Raises:
            ValueError: a setting is out of its range; the message says which, never the key.
        """
        options = {"account_id": account_id, "sdk_key": sdk_key, "event_arch": event_arch, "fme": fme,
                   "collection_prefix": collection_prefix, "endpoint": endpoint, "timeout": timeout,
                   "retries": retries, "backoff": backoff, "dry_run": dry_run, "ssl_context": ssl_context,
                   "batch_events": batch_events}
        try:
            self._configure(options)
        except ValueError as exc:  # a key passed in the wrong place must not show in the message
            raise ValueError(_redact(str(exc), sdk_key if isinstance(sdk_key, str) else "")) from None

    def _configure(self, options: Dict[str, Any]) -> None:
        """Check every setting, then take shape: nothing is made before all of them passed."""
        account_id = _check_account_id(options["account_id"])
        sdk_key = _check_sdk_key(options["sdk_key"])
        event_arch = _check_flag("event_arch", options["event_arch"])
        fme = _check_flag("fme", options["fme"])
        if fme and event_arch:
            raise ValueError("event_arch does not apply to FME clients (fme=True)")
        endpoint, host = _check_endpoint(options["endpoint"])
        prefix = _check_prefix(options["collection_prefix"])
        timeout = _check_number("timeout", options["timeout"], low=0, high=86400, low_ok=False)
        retries = _check_int("retries", options["retries"], 0, 100)
        backoff = _check_number("backoff", options["backoff"], low=0, high=86400, low_ok=True)
        dry_run = _check_flag("dry_run", options["dry_run"])
        if options["ssl_context"] is not None:
            import ssl

            if not isinstance(options["ssl_context"], ssl.SSLContext):
                raise ValueError("ssl_context must be an ssl.SSLContext or None")
        batch = _check_batch_events(options["batch_events"])
        import random
        import weakref

        options.update(account_id=account_id, timeout=timeout, backoff=backoff, batch_events=batch)
        self._options = options
        self._fme, self._event_arch, self._dry_run = fme, event_arch, dry_run
        self._timeout, self._retries, self._backoff = timeout, retries, backoff
        self._host = host
        self._wire = _Wire(account_id, sdk_key, endpoint + prefix)
        self._random = random.random
        self._value_problem = _typed_problem if fme else _text_problem
        self._transport = _Transport(options["ssl_context"])
        self._closed = False
        _remember_secret(sdk_key)
        weakref.finalize(self, _forget_secret, sdk_key)
        _close_at_exit()
        self._batcher = None if batch is None else _Batcher(self, batch)

    def __repr__(self) -> str:
        options = self._options
        return _redact("vwo_push.Client(account_id=%s, sdk_key=%r, fme=%r, event_arch=%r, endpoint=%r, "
                       "collection_prefix=%r, dry_run=%r, batch_mode=%r)" % (
                           options["account_id"], _REDACTED, self._fme, self._event_arch, options["endpoint"],
                           options["collection_prefix"], self._dry_run, self._batcher is not None))

    def __getstate__(self) -> Dict[str, Any]:
        """What pickles: the configuration, never a connection or the queue."""
        if self._options["ssl_context"] is not None:
            raise TypeError("a Client with an ssl_context cannot be pickled (an SSLContext cannot cross "
                            "processes); set SSL_CERT_FILE in the environment instead")
        return {name: value for name, value in self._options.items() if name != "ssl_context"}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        Client.__init__(self, **state)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Hooks that tests replace: the wall clock for timestamps, sleeping, jitter.
    def _now(self) -> float:
        return time.time()

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _jitter(self) -> float:
        return 0.5 + self._random() / 2

    # -- the public calls -------------------------------------------------------------

    @overload
    def push(self, custom_dimension_key: str, custom_dimension_value: _Value, user_id: str) -> bool: ...

    @overload
    def push(self, custom_dimension_map: Mapping[str, _Value], user_id: str) -> bool: ...  # noqa: F811

    @overload
    def push(self, *, tag_key: str, tag_value: _Value, user_id: str) -> bool: ...  # noqa: F811

    def push(self, *args: Any, **kwargs: Any) -> bool:  # noqa: F811
        """Push custom dimensions for a user; never raises.

        Call forms, positional or by keyword (the official SDK's tag_key/tag_value too)::

            push(custom_dimension_key, custom_dimension_value, user_id)
            push(custom_dimension_map, user_id)

        Returns:
            True when VWO answered 2xx to every request (in batch mode: when the events
            were queued; in a dry run: when the input is valid); False otherwise, with
            one WARNING on the `vwo_push` logger saying why.  Invalid input sends nothing.
        """
        return self._submit("push", args, kwargs)

    @overload
    def set_attribute(self, attribute_key: str, attribute_value: _Value, context: Mapping[str, Any]) -> bool: ...

    @overload
    def set_attribute(  # noqa: F811
            self, attribute_map: Mapping[str, _Value], context: Mapping[str, Any]) -> bool: ...

    def set_attribute(self, *args: Any, **kwargs: Any) -> bool:  # noqa: F811
        """The FME SDK's set_attribute, for clients made with fme=True; never raises.

        Call forms::

            set_attribute(attribute_key, attribute_value, context)
            set_attribute(attribute_map, context)

        context is {"id": user_id} with, optionally, "user_agent", "ip_address" and
        "session_id".  Values may be str (1 to 255 characters), int, finite float or bool.

        Returns:
            As push: True only when VWO accepted the attributes (or they were queued).
        """
        return self._submit("set_attribute", args, kwargs)

    @overload
    def build_requests(self, custom_dimension_key: str, custom_dimension_value: _Value,
                       user_id: str) -> List[urllib.request.Request]: ...

    @overload
    def build_requests(self, custom_dimension_map: Mapping[str, _Value],  # noqa: F811
                       user_id: str) -> List[urllib.request.Request]: ...

    def build_requests(self, *args: Any, **kwargs: Any) -> List[urllib.request.Request]:  # noqa: F811
        """The requests `push` would send for these arguments, without sending them.

        Returns:
            One GET a pair (standard accounts), or one POST (event architecture, FME); in
            batch mode, the batch-events POST that would carry this call's events.

        Raises:
            ValueError: an invalid key, value, map or user id.
            TypeError: no call form of `push` takes these arguments.
        """
        try:
            who, pairs = self._read("push", args, kwargs)
        except (TypeError, ValueError) as exc:
            raise type(exc)(_redact(str(exc))) from None
        if self._batcher is not None:
            url, body, headers = self._wire.batch(self._events(who, pairs), self._fme)
            return [_request(url, body, headers, self._host)]
        return [req for _, req in self._requests(who, pairs)]

    def push_many(self, rows: Iterable[_Row], *, batch_size: int = 1000,
                  on_failure: Optional[Callable[[_Row, str], object]] = None) -> PushManyResult:
        """Push many (user_id, key, value) rows through VWO's batch-events endpoint.

        Rows are read lazily and sent `batch_size` events a request, so memory stays flat
        whatever their number; `timeout` bounds each batch.  Network trouble never raises:
        it makes rows not accepted.

        Args:
            rows: an iterable of (user_id, key, value) sequences, or of mappings with those
                names (a csv.DictReader works).  Anything else is an invalid row, never sent.
                If iterating raises, the rows read so far are sent (and failures reported)
                before the exception propagates.
            batch_size: events a request, 1 to 5000.
            on_failure: called as on_failure(row, reason) for each row not accepted;
                without it those rows are kept in the result's `failures`.

        Returns:
            A PushManyResult counting the rows accepted and not accepted.

        Raises:
            ValueError: batch_size is out of range, or the client is closed.
        """
        batch_size = _check_int("batch_size", batch_size, 1, _MAX_BATCH)
        if self._closed:
            raise ValueError("the client is closed")
        return _push_many(self, rows, batch_size, on_failure)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Batch mode: send what is queued now (waiting for a batch in flight).

        Args:
            timeout: seconds that bound the whole flush; None gives each batch the client's timeout.

        Returns:
            True when every event queued before the call was accepted (True when none was).
        """
        if self._batcher is None:
            return True
        if timeout is not None:
            timeout = _check_number("timeout", timeout, low=0, high=86400, low_ok=True)
        return self._batcher.flush(timeout)

    def flush_events(self, mode: str = "sync") -> bool:
        """The official SDK's flush_events: "sync" flushes as flush(); "async" asks the sender and returns True."""
        if mode not in ("sync", "async"):
            raise ValueError("mode must be 'sync' or 'async'")
        if mode == "async" and self._batcher is not None:
            self._batcher.ask()
            return True
        return self.flush()

    def close(self) -> None:
        """Flush (batch mode), then close idle connections.  Later pushes return False.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._batcher is not None:
            self._batcher.close()
        self._transport.close()

    # -- from arguments to requests ----------------------------------------------------

    def _submit(self, kind: str, args: Sequence[object], kwargs: Dict[str, Any]) -> bool:
        """push and set_attribute: validate, then queue (batch mode) or send; never raises."""
        deadline = time.monotonic() + self._timeout
        try:
            if self._closed:
                raise ValueError("the client is closed")
            if kind == "set_attribute" and not self._fme:
                raise ValueError("set_attribute needs a client made with fme=True")
            who, pairs = self._read(kind, args, kwargs)
            if self._batcher is not None:
                return self._batcher.put(self._events(who, pairs))
            requests = self._requests(who, pairs)
        except Exception as exc:  # noqa: BLE001 - the edge: whatever the arguments did, nothing was sent
            _log().warning("%s not sent: %s", kind, _error_text(exc))
            return False
        failed = []
        try:
            if self._dry_run:
                for _, req in requests:
                    _show(req)
                return True
            for keys, req in requests:
                reason = self._transport.deliver(req, deadline, self._retries, self._backoff, self._sleep,
                                                 self._jitter)
                if reason is not None:
                    failed.append((keys, reason))
        except Exception as exc:  # noqa: BLE001 - the edge again: an unexpected error is a False, not a crash
            _log().warning("%s failed: %s", kind, _error_text(exc))
            return False
        if failed:
            keys = [key for some, _ in failed for key in some]
            _log().warning("%s not accepted (%d of %d request(s)); keys %s: %s", kind, len(failed), len(requests),
                           ", ".join(map(repr, keys)), failed[0][1])
            return False
        return True

    def _read(self, kind: str, args: Sequence[object], kwargs: Dict[str, Any]) -> Tuple[Any, List[Tuple[str, Any]]]:
        """The checked user (FME: context) and pairs of a call; raises TypeError or ValueError."""
        who, pairs, name, single = _call_form(kind, args, kwargs)
        problem = self._value_problem
        for number, (_, value) in enumerate(pairs, 1):
            text = None if _plain(value) else problem(value)
            if text is not None:
                raise ValueError("%s %s" % (name if single else "the value of pair #%d of %s" % (number, name), text))
        if self._fme and kind == "push":
            who = (who, None, None, 0)
        return who, pairs

    def _requests(self, who: Any, pairs: List[Tuple[str, Any]]) -> List[Tuple[List[str], urllib.request.Request]]:
        """The requests of one call, each with the keys it carries."""
        wire, now, host = self._wire, self._now(), self._host
        if self._fme:
            url, body, headers = wire.fme_event(wire.visitor_id(who[0]), pairs, who, now, self._random())
            return [([key for key, _ in pairs], _request(url, body, headers, host))]
        u = wire.visitor_id(who)
        if self._event_arch:
            url, body = wire.event_arch(u, pairs, now, self._random())
            return [([key for key, _ in pairs], _request(url, body, None, host))]
        return [([key], _request(wire.push_url(u, key, value, now, self._random()), None, None, host))
                for key, value in pairs]

    def _events(self, who: Any, pairs: List[Tuple[str, Any]]) -> List[str]:
        """The batch events of one call: one a pair (FME: one a call, as the FME SDK queues them)."""
        wire, now = self._wire, self._now()
        if self._fme:
            return [wire.fme_body(wire.visitor_id(who[0]), pairs, who, int(now * 1000))]
        u = wire.visitor_id(who)
        return [wire.batch_event(u, key, value, int(now)) for key, value in pairs]

    def _post(self, events: List[str], start: int = 0) -> Iterator[_Outcome]:
        """POST events through batch-events within one timeout; a 413 (too large) splits them in halves."""
        url, body, headers = self._wire.batch(events, self._fme)
        req = _request(url, body, headers, self._host)
        if self._dry_run:
            _show(req)
            reason = None
        else:
            reason = self._transport.deliver(req, time.monotonic() + self._timeout, self._retries, self._backoff,
                                             self._sleep, self._jitter)
        if reason == "HTTP 413" and len(events) > 1:
            half = len(events) // 2
            yield from self._post(events[:half], start)
            yield from self._post(events[half:], start + half)
            return
        if reason is not None:
            _log().warning("batch of %d event(s) not accepted: %s", len(events), reason)
        yield start, start + len(events), reason


def _show(req: urllib.request.Request) -> None:
    """A dry run's output: each request it would send, at INFO on the vwo_push logger (the key hidden)."""
    body = "" if req.data is None else "\n" + bytes(req.data).decode("ascii")  # type: ignore[arg-type]
    _log().info("dry run: %s %s%s", req.get_method(), req.full_url, body)


_exit_close_registered = False


def _close_at_exit() -> None:
    """Once: close every client's idle connections at interpreter exit (no ResourceWarning)."""
    global _exit_close_registered
    if not _exit_close_registered:
        import atexit

        atexit.register(lambda: [transport.close() for transport in list(_transports or ())])
        _exit_close_registered = True


_batchers: Any = None  # a WeakSet of every _Batcher: flushed at exit, reset after fork


class _Batcher:
    """Batch mode: push queues events and returns; one daemon thread sends them through batch-events.

    Events are numbered as they are queued.  The sender takes up to events_per_request of
    them when that many are queued, when the oldest has waited request_time_interval, or
    when a flush asks for everything queued before it.  `done` is the number below which
    every event's batch is over; each flush waits for it to pass its last event.
    """

    def __init__(self, client: Client, options: Dict[str, Any]) -> None:
        global _batchers
        self._client = client
        self._per_request: int = options["events_per_request"]
        self._interval: float = options["request_time_interval"]
        self._callback: Optional[Callable[[Optional[Exception], List[Dict[str, Any]]], object]] = \
            options["flush_callback"]
        self._max: int = options["max_queue_size"]
        self.timeout = client._timeout
        self._closed = False
        self._reset()
        if _batchers is None:
            import atexit
            import weakref

            _log()  # first: atexit runs handlers last-in first-out, and ours must log before logging shuts down
            _batchers = weakref.WeakSet()
            atexit.register(_flush_at_exit)
        _batchers.add(self)

    def _reset(self) -> None:
        import collections
        import threading

        self._cond = threading.Condition(threading.Lock())
        self._queue: Any = collections.deque()  # (number, time queued, event JSON)
        self._next = 0  # the number of the next event queued
        self._done = 0  # every event numbered below has had its batch sent (accepted or not)
        self._flush_to = -1  # the sender does not wait to fill a batch of events up to this number
        self._waiters: List[List[Any]] = []  # [last event number, all accepted] of each flush under way
        self._thread: Optional[threading.Thread] = None
        self._refused = 0  # events refused in the current overflow spell

    def after_fork(self) -> None:
        """In a forked child: the parent's queue is the parent's to send; no thread, nothing queued."""
        self._reset()

    def put(self, events: List[str]) -> bool:
        """Queue a call's events, all or none: False when they do not fit (a WARNING once per overflow spell)."""
        sender = None
        with self._cond:
            queued = len(self._queue) + len(events) <= self._max
            if queued:
                refused, self._refused = self._refused, 0
                now = time.monotonic()
                for event in events:
                    self._queue.append((self._next, now, event))
                    self._next += 1
                if len(self._queue) >= self._per_request:
                    self._cond.notify_all()
                if self._thread is None:
                    import threading

                    sender = self._thread = threading.Thread(target=self._run, name="vwo_push batch sender",
                                                             daemon=True)
            else:
                self._refused += len(events)
                refused = self._refused
        if not queued:
            if refused == len(events):
                _log().warning("batch queue full (%d events): push refused, and refused until there is room",
                               self._max)
            return False
        if refused:
            _log().warning("batch queue has room again; %d event(s) were refused while it was full", refused)
        if sender is not None:
            _prepare_imports()
            try:
                sender.start()
            except RuntimeError:  # no new threads at interpreter exit (CPython 3.12): flushes send themselves
                with self._cond:
                    self._thread = None
        return True

    def ask(self) -> List[Any]:
        """Ask the sender for everything queued now; gives a waiter to pass to wait()."""
        with self._cond:
            waiter = [self._next - 1, True]
            self._waiters.append(waiter)
            self._flush_to = max(self._flush_to, waiter[0])
            self._cond.notify_all()
        return waiter

    def wait(self, waiter: List[Any], deadline: Optional[float]) -> bool:
        """Wait until the flush `waiter` stands for is over, or `deadline`: True when all was accepted.

        Without a sender thread (it could not start at interpreter exit), the batches are sent here.
        """
        try:
            while True:
                with self._cond:
                    if self._done > waiter[0]:
                        return bool(waiter[1])
                    left = 1.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        return False
                    sender = self._thread
                    if sender is not None and sender.is_alive():
                        self._cond.wait(min(left, 1.0))
                        continue
                batch = self._take(False, waiter[0])
                if batch is None:  # the rest is in flight on another thread
                    with self._cond:
                        if self._done <= waiter[0]:
                            self._cond.wait(min(left, 1.0))
                    continue
                self._send(batch)
        finally:
            with self._cond:
                self._waiters.remove(waiter)

    def flush(self, timeout: Optional[float]) -> bool:
        return self.wait(self.ask(), None if timeout is None else time.monotonic() + timeout)

    def pending(self) -> int:
        return self._next - self._done

    def close(self) -> None:
        self.flush(None)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not _current_thread():
            thread.join(self.timeout)

    def _run(self) -> None:
        """The sender thread."""
        while True:
            batch = self._take(True, -1)
            if batch is None:
                return
            self._send(batch)

    def _take(self, wait: bool, last: int) -> Optional[List[Tuple[int, float, str]]]:
        """The next batch; None when the sender is to stop (or, not waiting, when nothing up to `last` is left)."""
        with self._cond:
            while True:
                queue = self._queue
                if queue and (not wait and queue[0][0] <= last):
                    break
                if queue and wait:
                    now = time.monotonic()
                    due = queue[0][1] + self._interval
                    if len(queue) >= self._per_request or queue[0][0] <= self._flush_to or self._closed or now >= due:
                        break
                    self._cond.wait(due - now)
                elif not wait or self._closed:
                    return None
                else:
                    self._cond.wait()
            return [queue.popleft() for _ in range(min(len(queue), self._per_request))]

    def _send(self, batch: List[Tuple[int, float, str]]) -> None:
        events = [event for _, _, event in batch]
        try:
            outcomes = list(self._client._post(events))
        except Exception as exc:  # noqa: BLE001 - nothing stops the sender
            outcomes = [(0, len(events), _error_text(exc))]
        if self._callback is not None:
            import json

            for start, end, reason in outcomes:
                try:
                    self._callback(None if reason is None else RuntimeError(reason),
                                   [json.loads(event) for event in events[start:end]])
                except Exception as exc:  # noqa: BLE001 - a callback's error is logged, never stops the sender
                    _log().warning("flush_callback raised %s", _error_text(exc))
        with self._cond:
            self._done = batch[-1][0] + 1
            for start, _, reason in outcomes:
                for waiter in self._waiters:
                    if reason is not None and batch[start][0] <= waiter[0]:
                        waiter[1] = False
            self._cond.notify_all()


def _current_thread() -> Any:
    import threading

    return threading.current_thread()


def _flush_at_exit() -> None:
    """At interpreter exit: every batch client's queue is sent, all together within the largest timeout."""
    batchers = [batcher for batcher in list(_batchers or ()) if batcher.pending()]
    if not batchers:
        return
    deadline = time.monotonic() + max(batcher.timeout for batcher in batchers)
    waiters = [(batcher, batcher.ask()) for batcher in batchers]
    for batcher, waiter in waiters:
        batcher.wait(waiter, deadline)
        if batcher.pending():
            _log().warning("%d queued event(s) not sent at exit: the time ran out", batcher.pending())


def launch(settings_file: Union[str, bytes, Mapping[str, Any]], **options: Any) -> Client:
    """A Client configured from a VWO settings file, as the official SDK's launch.

    Args:
        settings_file: the settings JSON (str or bytes) or its dict: accountId, sdkKey,
            isEventArchEnabled, collectionPrefix.
        **options: Client options, which override the settings; is_development_mode=
            means dry_run=; batch_events= as in the official SDK.

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
    from collections.abc import Mapping

    if not isinstance(settings, Mapping):
        raise ValueError("settings_file must hold a JSON object, got %s" % _describe(settings))
    if "is_development_mode" in options:
        if "dry_run" in options:
            raise TypeError("launch() got both is_development_mode and dry_run")
        options["dry_run"] = options.pop("is_development_mode")
    event_arch = settings.get("isEventArchEnabled")
    if event_arch not in (None, True, False):
        raise ValueError("isEventArchEnabled must be true or false")
    config: Dict[str, Any] = {"account_id": settings.get("accountId"), "sdk_key": settings.get("sdkKey"),
                              "collection_prefix": settings.get("collectionPrefix") or None}
    if not options.get("fme"):  # a FullStack setting; FME clients have no event architecture
        config["event_arch"] = event_arch is True
    config.update(options)
    return Client(**config)


def _env_flag(name: str, text: str) -> bool:
    if text.lower() in ("0", "false", "no", "off"):
        return False
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    raise ValueError("%s must be true or false, got %r" % (name, text))


def _env_seconds(name: str, text: str) -> float:
    try:
        return _check_number(name, float(text), low=0, high=86400, low_ok=False)
    except ValueError:
        raise ValueError("%s must be a number of seconds above 0 and at most 86400, got %r" % (name, text)) from None


_ENVIRONMENT: Tuple[Tuple[str, str, Optional[Callable[[str, str], Any]]], ...] = (
    ("account_id", "VWO_ACCOUNT_ID", None), ("sdk_key", "VWO_SDK_KEY", None),
    ("event_arch", "VWO_EVENT_ARCH", _env_flag), ("fme", "VWO_FME", _env_flag),
    ("collection_prefix", "VWO_COLLECTION_PREFIX", None), ("endpoint", "VWO_ENDPOINT", None),
    ("timeout", "VWO_TIMEOUT", _env_seconds))


def _options_from_environment(given: Dict[str, Any]) -> Dict[str, Any]:
    """Client options from the VWO_* variables; one that `given` sets is not read at all (it wins)."""
    options = {name: value for name, value in given.items() if value is not None}
    for name, variable, parse in _ENVIRONMENT:
        text = os.environ.get(variable, "").strip()
        if name not in options and text:
            options[name] = parse(variable, text) if parse else text
    return options


_default_client: Optional[Client] = None


def push(*args: Any, **kwargs: Any) -> bool:
    """Client.push on a default client, configured from the environment on first use.

    The variables: VWO_ACCOUNT_ID and VWO_SDK_KEY (both needed), VWO_EVENT_ARCH, VWO_FME,
    VWO_COLLECTION_PREFIX, VWO_ENDPOINT, VWO_TIMEOUT.  Like Client.push it never raises:
    a missing or bad variable gives False and a WARNING.
    """
    global _default_client
    client = _default_client
    if client is None:
        try:
            options = _options_from_environment({})
            for name, variable, _ in _ENVIRONMENT[:2]:
                if name not in options:
                    raise ValueError("%s is not set" % variable)
            client = Client(**options)
        except ValueError as exc:
            _log().warning("push not sent: the environment does not configure vwo_push: %s", _error_text(exc))
            return False
        _default_client = client  # a race makes two equal clients; the last one stays
    return client.push(*args, **kwargs)


# ---------------------------------------------------------------------------
# 6. Bulk: push_many streams rows into batches of events
# ---------------------------------------------------------------------------

class PushManyResult:
    """What push_many did: counts of rows accepted and not accepted, and the failures kept.

    `failures` holds (row, reason) for each row not accepted when push_many was given no
    on_failure callback; otherwise it stays empty.  accepted + not_accepted = rows read.
    """

    __slots__ = ("accepted", "failures", "not_accepted")

    def __init__(self) -> None:
        self.accepted = 0
        self.not_accepted = 0
        self.failures: List[Tuple[_Row, str]] = []

    def __repr__(self) -> str:
        return "PushManyResult(accepted=%d, not_accepted=%d, failures=<%d>)" % (
            self.accepted, self.not_accepted, len(self.failures))


def _row_fields(row: object) -> Tuple[object, object, object]:
    """(user_id, key, value) of a row: a 3-item sequence, or a mapping with those names."""
    from collections.abc import Mapping, Sequence

    if isinstance(row, Mapping):
        missing = [name for name in ("user_id", "key", "value") if name not in row]
        if missing:
            raise ValueError("a row mapping must hold user_id, key and value; it has no %s" % ", ".join(missing))
        return row["user_id"], row["key"], row["value"]
    if isinstance(row, Sequence) and not isinstance(row, (str, bytes, bytearray)):
        if len(row) != 3:
            raise ValueError("a row must hold 3 items (user_id, key, value), got %d" % len(row))
        return row[0], row[1], row[2]
    raise ValueError("a row must be a (user_id, key, value) sequence or a mapping with those names, got %s"
                     % _describe(row))


def _push_many(client: Client, rows: Iterable[_Row], batch_size: int,
               on_failure: Optional[Callable[[_Row, str], object]]) -> PushManyResult:
    result = PushManyResult()

    def send(batch: List[_Row], events: List[str]) -> None:
        for start, end, reason in client._post(events):
            if reason is None:
                result.accepted += end - start
                continue
            for row in batch[start:end]:
                fail(row, reason)

    def fail(row: _Row, reason: str) -> None:
        result.not_accepted += 1
        if on_failure is None:
            result.failures.append((row, reason))
        else:
            on_failure(row, reason)

    wire, check_value, fme = client._wire, client._value_problem, client._fme
    batch: List[_Row] = []
    events: List[str] = []
    user: object = None  # exports list a user's rows together: the visitor id is made once for them
    u = ""
    now = client._now()
    sid = int(now)
    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            break
        except Exception:  # the rows broke off: what was read is sent and reported first
            if batch:
                send(batch, events)
            raise
        try:
            user_id, key, value = row if type(row) is tuple and len(row) == 3 else _row_fields(row)
            if type(key) is not str or not 0 < len(key) <= _MAX_TEXT or not key.isascii() or key == _ENV_PROP:
                _check_key(key, "key")
            if type(value) is not str or not 0 < len(value) <= _MAX_TEXT or not value.isascii():
                _check(value, "value", check_value(value))  # the fast test above is _plain, inlined: per row
            if type(user_id) is not str or user_id != user:
                if type(user_id) is not str or not user_id.isascii() or not user_id:
                    _check_user_id(user_id)
                u = wire.visitor_id(user_id)  # type: ignore[arg-type]  # checked: a str
                user = user_id
        except Exception as exc:  # noqa: BLE001 - a row is whatever the caller's iterable gives
            fail(row, "invalid row: %s" % _error_text(exc))
            continue
        if fme:
            context: Any = (user_id, None, None, 0)
            events.append(wire.fme_body(u, [(key, value)], context, int(now * 1000)))  # type: ignore[list-item]
        else:
            events.append(wire.batch_event(u, key, value, sid))  # type: ignore[arg-type]
        batch.append(row)
        if len(batch) == batch_size:
            send(batch, events)
            batch, events, now = [], [], client._now()
            sid = int(now)
    if batch:
        send(batch, events)
    return result


# ---------------------------------------------------------------------------
# 7. Command line: main(argv), on the public API, as a user's own script would use it
# ---------------------------------------------------------------------------

_USAGE = """\
vwo-push [options] KEY VALUE USER_ID            push one pair
       vwo-push [options] --user USER_ID KEY=VALUE...  push a map
       vwo-push [options] --file PATH|-                push many rows (CSV user_id,key,value or JSON Lines)"""

_EPILOG = """\
The account and key come from the flags or from VWO_ACCOUNT_ID and VWO_SDK_KEY (prefer
the variable for the key: other users of the machine can see flags in `ps`); the other
settings from VWO_EVENT_ARCH, VWO_FME, VWO_COLLECTION_PREFIX, VWO_ENDPOINT, VWO_TIMEOUT.
A flag wins over its variable.

--file reads UTF-8 CSV with a header naming user_id, key and value (any order, other
columns kept), or JSON Lines.  Each row not accepted is named on stderr and written to
--failed exactly as it stood, so that running again on that file retries those rows.

exit status:
  0    everything was accepted (with --dry-run: everything is valid)
  1    something was not accepted (an invalid row in a file counts here)
  2    bad usage, invalid arguments, an unreadable file or a CSV without the needed
       header: found before anything was sent
  130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM; rows in flight count as not accepted"""


class _Usage(Exception):
    """Bad usage on the command line: exit status 2."""


class _Terminated(BaseException):
    """SIGTERM, raised where the run is, as Ctrl-C raises KeyboardInterrupt."""


class _Output:
    """stdout and stderr that never stop a run: once one is closed (`| head`), its output is dropped."""

    def __init__(self) -> None:
        self.closed: set[str] = set()
        try:
            self.tty = sys.stderr.isatty()  # progress is shown on stderr while it is a terminal
        except (AttributeError, ValueError):
            self.tty = False

    def write(self, name: str, text: str) -> None:
        stream = getattr(sys, name)
        if name in self.closed or stream is None:
            return
        try:
            if self.tty and name == "stderr":
                text = "\r\x1b[K" + text  # over the progress line
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            self.closed.add(name)
            try:  # what is still buffered must not fail again at exit
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass

    def say(self, text: str) -> None:
        self.write("stderr", "vwo-push: %s\n" % text)


def _parser(output: _Output) -> Any:
    import argparse

    class Parser(argparse.ArgumentParser):
        def _print_message(self, message: str, file: Any = None) -> None:  # help and errors survive `| head`
            if message:
                output.write("stdout" if file is sys.stdout else "stderr", message)

    parser = Parser(prog="vwo-push", usage=_USAGE, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Push VWO custom dimensions (FME: visitor attributes) for users.")
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    add = parser.add_argument
    add("--user", metavar="USER_ID", help="push a map for this user; every argument is then KEY=VALUE")
    add("--file", metavar="PATH", help="push the rows of a CSV or JSON Lines file; - for stdin")
    add("--account-id", help="VWO account id (default: $VWO_ACCOUNT_ID)")
    add("--sdk-key", help="SDK key (default: $VWO_SDK_KEY, which `ps` does not show)")
    add("--event-arch", action="store_true", default=None, help="the account uses the event architecture")
    add("--fme", action="store_true", default=None, help="an FME account: set visitor attributes")
    add("--collection-prefix", help="data-residency prefix, such as eu01")
    add("--endpoint", help="scheme://host[:port] instead of VWO's")
    add("--timeout", type=float, help="seconds that bound each push (each batch with --file); default 10")
    add("--retries", type=int, help="extra attempts after a retryable failure; default 3")
    add("--dry-run", action="store_true", help="print the requests instead of sending them")
    add("--batch-size", type=int, help="events a request with --file, 1 to 5000; default 1000")
    add("--failed", metavar="PATH", help="with --file: write the rows not accepted here, as they stood")
    add("--quiet", action="store_true", help="print nothing when everything was accepted")
    add("--verbose", action="store_true", help="print one line per request and its outcome")
    add("--version", action="version", version="vwo-push " + __version__)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The vwo-push command line.

    Args:
        argv: the arguments, without the program name; default sys.argv[1:].

    Returns:
        The exit status: 0 all accepted, 1 something not accepted, 2 bad usage found
        before anything was sent, 130 or 143 interrupted (see --help).
    """
    output = _Output()
    try:
        opts = _parser(output).parse_args(argv)
    except SystemExit as exc:  # argparse exits for --help, --version and bad usage
        return int(exc.code or 0)
    import logging

    logger = logging.getLogger("vwo_push")  # the library hides secrets in its records before any handler
    saved = logger.level, list(logger.handlers)
    handler = _CommandLineRecords(output, show_warnings=opts.verbose or opts.file is None)
    logger.addHandler(handler)  # type: ignore[arg-type]  # a handler by duck typing: logging loads lazily
    logger.setLevel(logging.DEBUG if opts.verbose else logging.INFO)
    try:
        return _run(opts, output)
    except _Usage as exc:
        output.say(str(exc))
        return 2
    finally:  # main may be called again in the same process: leave the logger as it was
        logger.setLevel(saved[0])
        logger.handlers[:] = saved[1]


class _CommandLineRecords:
    """The library's records on the command line: dry-run requests on stdout, the rest on stderr."""

    level = 0

    def __init__(self, output: _Output, show_warnings: bool) -> None:
        self._output = output
        self._show_warnings = show_warnings  # --file reports rows itself; the library's warnings would repeat it

    def handle(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("dry run: "):
            self._output.write("stdout", message[len("dry run: "):] + "\n")
        elif self._show_warnings:
            self._output.say(message)
        return True


def _run(opts: Any, output: _Output) -> int:
    if opts.quiet and opts.verbose:
        raise _Usage("--quiet and --verbose do not go together")
    if opts.file is None:
        if opts.failed is not None or opts.batch_size is not None:
            raise _Usage("--failed and --batch-size go with --file")
        call = _command_line_call(opts)
    elif opts.args or opts.user is not None:
        raise _Usage("--file takes no KEY VALUE USER_ID or --user; usage: vwo-push [options] --file PATH|-")
    client = _command_line_client(opts)
    with client:
        if opts.file is not None:
            return _run_file(client, opts, output)
        try:
            client.build_requests(*call)  # invalid arguments: exit 2, nothing sent
        except (TypeError, ValueError) as exc:
            raise _Usage(str(exc)) from None
        accepted = client.push(*call)
    if not accepted:
        output.say("not accepted")
        return 1
    if not opts.quiet:
        output.say("dry run: valid, nothing sent" if opts.dry_run else "accepted")
    return 0


def _command_line_call(opts: Any) -> Tuple[Any, ...]:
    """The push call the arguments stand for: --user means the map form; nothing is guessed."""
    args = opts.args
    if opts.user is None:
        if len(args) != 3:
            raise _Usage("expected KEY VALUE USER_ID (got %d argument(s)); for a map: vwo-push --user USER_ID "
                          "KEY=VALUE...; for a file: vwo-push --file PATH" % len(args))
        return tuple(args)
    if not args:
        raise _Usage("--user needs KEY=VALUE arguments: vwo-push --user USER_ID KEY=VALUE...")
    pairs: Dict[str, str] = {}
    for number, arg in enumerate(args, 1):
        key, equals, value = arg.partition("=")
        if not equals:
            raise _Usage("with --user every argument is KEY=VALUE; argument #%d has no '=': "
                          "vwo-push --user USER_ID KEY=VALUE..." % number)
        if key in pairs:
            raise _Usage("argument #%d repeats the key of an earlier KEY=VALUE" % number)
        pairs[key] = value
    return pairs, opts.user


def _command_line_client(opts: Any) -> Client:
    given = {"account_id": opts.account_id, "sdk_key": opts.sdk_key, "event_arch": opts.event_arch,
             "fme": opts.fme, "collection_prefix": opts.collection_prefix, "endpoint": opts.endpoint,
             "timeout": opts.timeout, "retries": opts.retries, "dry_run": opts.dry_run or None}
    try:
        options = _options_from_environment(given)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    if options.get("fme") and opts.event_arch is None:
        options.pop("event_arch", None)  # VWO_EVENT_ARCH is a FullStack setting: an FME run ignores it
    if "account_id" not in options:
        raise _Usage("no account id: pass --account-id or set VWO_ACCOUNT_ID")
    if "sdk_key" not in options:
        raise _Usage("no SDK key: set VWO_SDK_KEY (or pass --sdk-key)")
    try:
        return Client(**options)
    except ValueError as exc:
        raise _Usage(str(exc)) from None


# -- --file ----------------------------------------------------------------------------

class _BrokeOff(Exception):
    """The input cannot be read on from line `number` (bytes that are not UTF-8, a read error)."""

    def __init__(self, number: int, raw: bytes, reason: str) -> None:
        super().__init__(reason)
        self.number, self.raw = number, raw


class _OneLine:
    """Hands csv.reader one line: a quoted field that runs past its line is then an error, not a swallow."""

    line: Optional[str] = None

    def __iter__(self) -> _OneLine:
        return self

    def __next__(self) -> str:
        line, self.line = self.line, None
        if line is None:
            raise StopIteration
        return line


class _Input:
    """The rows of a --file input: one record a line, each known by its number and its raw bytes.

    JSON Lines when the first line starts with "{", or when it is no CSV header and a line
    among the next thousand starts with "{" (a failed file of JSON Lines may begin with a
    line that is not JSON); otherwise CSV, whose first line is its header.
    """

    def __init__(self, stream: Any, name: str) -> None:
        self.stream = stream
        try:
            first = stream.readline()
            text = first.decode("utf-8-sig")
        except OSError as exc:
            raise _Usage("cannot read %s: %s" % (name, exc.strerror or exc)) from None
        except UnicodeDecodeError:
            raise _Usage("%s is not UTF-8 text (its first line)" % name) from None
        if not text.strip():
            raise _Usage("%s is empty, or its first line is blank" % name)
        self._ahead: List[bytes] = []
        self.jsonl = text.lstrip().startswith("{") or (
            _csv_header(text) is None and self._object_line_ahead())
        self.header: Optional[bytes] = None if self.jsonl else first
        self.number = 0 if self.jsonl else 1  # the number of the last line read
        self.rows = 0  # lines read that are not blank: rows, parsed or not
        self.last: Optional[Tuple[int, bytes, Optional[Tuple[Any, Any, Any]], str]] = None
        self._first = first if self.jsonl else None
        if not self.jsonl:
            import csv

            self._feeder = _OneLine()
            self._csv = csv.reader(self._feeder, strict=True)
            self._columns, self._width = self._read_header(text.rstrip("\r\n"), name)

    def _object_line_ahead(self) -> bool:
        """Whether one of the next thousand lines starts with "{"; they are kept to be read after."""
        for _ in range(1000):
            try:
                line = self.stream.readline()
            except OSError:
                return False  # the read error comes again, in its place
            if not line:
                return False
            self._ahead.append(line)
            if line.startswith(b"{"):
                return True
        return False

    def _read_header(self, text: str, name: str) -> Tuple[List[int], int]:
        import csv

        needed = ("user_id", "key", "value")
        names = _csv_header(text)
        if names is not None:
            return [names.index(n) for n in needed], len(names)
        if text.lstrip().startswith("["):
            raise _Usage("%s looks like a JSON array; give JSON Lines (one object a line) or CSV" % name)
        try:
            names = next(csv.reader([text], strict=True))
        except (csv.Error, StopIteration) as exc:
            raise _Usage("the first line of %s is not a CSV header: %s" % (name, exc)) from None
        if any(names.count(n) > 1 for n in needed):
            raise _Usage("the CSV header of %s names a column twice" % name)
        if all(n in [c.strip() for c in names] for n in needed):
            raise _Usage("the CSV header of %s has spaces around its names; write user_id,key,value" % name)
        for delimiter in (";", "\t", "|"):
            if all(n in [c.strip() for c in text.split(delimiter)] for n in needed):
                raise _Usage("the CSV header of %s separates names with %r; use ','" % (name, delimiter))
        missing = [n for n in needed if n not in names]
        raise _Usage("the CSV header of %s must name user_id, key and value (in any order); it has no %s"
                     % (name, ", ".join(missing)))

    def records(self) -> Iterator[Tuple[int, bytes, Optional[Tuple[Any, Any, Any]], str]]:
        """(line number, raw line, row or None, why the line is not a row) for each line that is not blank."""
        import itertools

        lines = itertools.chain([self._first] if self._first is not None else [], self._ahead, self.stream)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except OSError as exc:
                raise _BrokeOff(self.number + 1, b"", "read error: %s" % (exc.strerror or exc)) from None
            self.number += 1
            if not raw.strip():
                continue  # a blank line is not a row
            try:
                text = raw.decode("utf-8-sig" if self.number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise _BrokeOff(self.number, raw, "bytes that are not UTF-8") from None
            if text.endswith("\n"):
                text = text[:-2] if text.endswith("\r\n") else text[:-1]
            row, problem = self._json_row(text) if self.jsonl else self._csv_row(text)
            self.rows += 1
            self.last = (self.number, raw, row, problem)
            yield self.last

    def _csv_row(self, text: str) -> Tuple[Optional[Tuple[Any, Any, Any]], str]:
        import csv

        if "\x00" in text:
            return None, "malformed CSV: the line holds a NUL byte"
        self._feeder.line = text
        try:
            fields = next(self._csv)
        except csv.Error as exc:  # a quote that runs past the line lands here, costing this line only
            self._feeder.line = None
            return None, "malformed CSV: %s" % exc
        except StopIteration:
            fields = []
        if len(fields) != self._width:
            return None, "expected %d columns, got %d" % (self._width, len(fields))
        user, key, value = self._columns
        return (fields[user], fields[key], fields[value]), ""

    @staticmethod
    def _json_row(text: str) -> Tuple[Optional[Tuple[Any, Any, Any]], str]:
        import json

        try:
            record = json.loads(text)
        except ValueError as exc:
            return None, "not JSON: %s" % exc
        if not isinstance(record, dict) or not {"user_id", "key", "value"} <= record.keys():
            return None, 'expected {"user_id": ..., "key": ..., "value": ...}'
        user_id = record["user_id"]
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            user_id = str(user_id)  # a JSON integer id means its decimal text
        return (user_id, record["key"], record["value"]), ""


def _csv_header(text: str) -> Optional[List[str]]:
    """The names of a CSV header naming user_id, key and value once each; None for any other line."""
    import csv

    try:
        names = next(csv.reader([text.rstrip("\r\n")], strict=True))
    except (csv.Error, StopIteration):
        return None
    return names if all(names.count(n) == 1 for n in ("user_id", "key", "value")) else None


class _FailedFile:
    """--failed: the lines not accepted, byte for byte, in a temporary file renamed into place at the end."""

    def __init__(self, path: Optional[str], header: Optional[bytes]) -> None:
        self.path, self.header = path, header
        self.file: Any = None
        self.temp = ""

    def write(self, raw: bytes) -> None:
        if self.path is None:
            return
        if self.file is None:
            import tempfile

            directory = os.path.dirname(os.path.abspath(self.path))
            handle, self.temp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(self.path) + ".",
                                                 suffix=".partial")
            self.file = os.fdopen(handle, "wb")
            if self.header is not None:
                self.file.write(self.header if self.header.endswith(b"\n") else self.header + b"\n")
        self.file.write(raw if raw.endswith(b"\n") or not raw else raw + b"\n")

    def copy_rest(self, stream: Any) -> bool:
        """The rest of the input, raw, after what was written; False when it cannot be read."""
        try:
            while True:
                block = stream.read(1 << 16)
                if not block:
                    return True
                self.write(block) if self.file is None else self.file.write(block)
        except OSError:
            return False

    def finish(self, complete: bool) -> None:
        """Put the failed rows in place; a complete run with none removes an earlier failed file."""
        if self.file is not None:
            self.file.close()
            os.replace(self.temp, self.path)  # type: ignore[arg-type]
        elif complete and self.path is not None and os.path.isfile(self.path):
            os.remove(self.path)

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
            os.remove(self.temp)
            self.file = None


def _line_numbers(numbers: List[int]) -> str:
    """"line 7", "3 rows (lines 2-4)", "2 rows (lines 2, 4)": a refused batch is named once."""
    if len(numbers) == 1:
        return "line %d" % numbers[0]
    if numbers[-1] - numbers[0] == len(numbers) - 1:
        return "%d rows (lines %d-%d)" % (len(numbers), numbers[0], numbers[-1])
    shown = ", ".join(map(str, numbers[:10])) + (", ..." if len(numbers) > 10 else "")
    return "%d rows (lines %s)" % (len(numbers), shown)


class _Report:
    """What a --file run says on stderr, and its counts: rows read = accepted + not accepted."""

    def __init__(self, output: _Output, quiet: bool, failed: _FailedFile) -> None:
        self.output, self.quiet, self.failed = output, quiet, failed
        self.accepted = self.not_accepted = 0
        self._shown = 0.0

    def chunk_done(self, failures: List[Tuple[int, bytes, str]]) -> None:
        """Name the lines not accepted (a refused batch once), and write them to --failed."""
        failures.sort()
        self.not_accepted += len(failures)
        for _, raw, _ in failures:
            self.failed.write(raw)
        groups: Dict[str, List[int]] = {}
        for number, _, reason in failures:
            if reason.startswith(("invalid row", "malformed", "expected", "not JSON")):
                self.output.say("line %d: %s" % (number, reason))
            else:
                groups.setdefault(reason, []).append(number)
        for reason, numbers in groups.items():
            self.output.say("%s not accepted: %s" % (_line_numbers(numbers), reason))
        if self.output.tty and not self.quiet and time.monotonic() - self._shown > 0.2:
            self._shown = time.monotonic()
            self.output.write("stderr", "vwo-push: %d rows accepted, %d not accepted"
                              % (self.accepted, self.not_accepted))

    def summary(self, read: int, note: str = "") -> None:
        if not (self.quiet and self.not_accepted == 0 and not note.startswith(";")):
            self.output.say("%d rows read, %d accepted, %d not accepted%s" % (
                read, self.accepted, self.not_accepted, note))


def _run_file(client: Client, opts: Any, output: _Output) -> int:
    batch_size = 1000 if opts.batch_size is None else opts.batch_size
    if not 1 <= batch_size <= _MAX_BATCH:
        raise _Usage("--batch-size must be from 1 to %d" % _MAX_BATCH)
    if opts.failed == "-":
        raise _Usage("--failed - is not supported: give it a file name")
    import contextlib

    with contextlib.ExitStack() as closing:
        try:
            stream = sys.stdin.buffer if opts.file == "-" else closing.enter_context(open(opts.file, "rb"))
        except OSError as exc:
            raise _Usage("cannot read %s: %s" % (opts.file, exc.strerror or exc)) from None
        if opts.failed is not None and _same_file(stream, opts.failed):
            raise _Usage("--failed names the input file, which would be overwritten while it is read; "
                         "write the failed rows to another file")
        source = _Input(stream, "stdin" if opts.file == "-" else opts.file)
        failed = _FailedFile(opts.failed, source.header)
        report = _Report(output, opts.quiet, failed)
        try:
            status = _send_rows(client, source, report, batch_size, opts)
        except BaseException:
            failed.discard()  # a crash: an earlier failed file is left as it was
            raise
    return status


def _same_file(stream: Any, path: str) -> bool:
    try:
        mine, theirs = os.fstat(stream.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


class _Signals:
    """Ctrl-C and SIGTERM during --file: raised where the run waits, held while it does its accounts."""

    def __init__(self) -> None:
        self.holding = False
        self.pending = 0  # a signal that came while held
        self._previous: List[Tuple[int, Any]] = []

    def __enter__(self) -> _Signals:
        import signal

        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous.append((number, signal.signal(number, self._handle)))
            except (ValueError, OSError):  # not the main thread: the signals keep their handlers
                break
        return self

    def __exit__(self, *exc_info: object) -> None:
        import signal

        for number, handler in self._previous:
            signal.signal(number, handler)

    def _handle(self, number: int, frame: object) -> None:
        if self.holding:
            self.pending = number
        else:
            self._raise(number)

    @staticmethod
    def _raise(number: int) -> None:
        import signal

        raise _Terminated() if number == signal.SIGTERM else KeyboardInterrupt()

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        self.holding = False
        if self.pending:
            number, self.pending = self.pending, 0
            self._raise(number)


def _send_rows(client: Client, source: _Input, report: _Report, batch_size: int, opts: Any) -> int:
    """Read, send a batch at a time, account for every line; Ctrl-C and SIGTERM end it cleanly."""
    chunk: List[Tuple[int, bytes, Optional[Tuple[Any, Any, Any]], str]] = []
    with _Signals() as signals:
        try:
            for record in source.records():
                chunk.append(record)
                if len(chunk) == batch_size:
                    _send_chunk(client, chunk, report, signals)
            _send_chunk(client, chunk, report, signals)
        except _BrokeOff as broke:
            signals.hold()
            _send_chunk(client, chunk, report, None)
            report.failed.write(broke.raw)
            kept = report.failed.copy_rest(source.stream) and report.failed.path is not None
            report.output.say("stopped at line %d: %s; the rows before it were sent; %s" % (
                broke.number, broke, "that line and the rest of the input are in %s" % report.failed.path
                if kept else "that line and the rest were not sent (--failed keeps them)"))
            report.failed.finish(complete=False)
            report.summary(source.rows)
            return 1
        except (KeyboardInterrupt, _Terminated) as stop:
            signals.hold()  # for good: the accounts are settled once
            if source.last is not None and (not chunk or chunk[-1] is not source.last):
                chunk.append(source.last)  # read, but the signal came before it was taken
            report.chunk_done([(number, raw, problem or "interrupted: sent or about to be, not known to be accepted")
                               for number, raw, _, problem in chunk])
            report.failed.finish(complete=False)
            where = "the rows not accepted are in %s; " % report.failed.path if report.failed.file else ""
            report.summary(source.rows, "; interrupted after line %d: %sto resume, run again on the input's lines "
                                        "after %d%s" % (source.number, where, source.number,
                                                        "" if source.jsonl else " (with its header line)"))
            return 143 if isinstance(stop, _Terminated) else 130
    report.failed.finish(complete=True)
    report.summary(source.rows, " (dry run: valid rows counted as accepted, nothing sent)" if opts.dry_run else "")
    return 0 if report.not_accepted == 0 else 1


def _send_chunk(client: Client, chunk: List[Tuple[int, bytes, Optional[Tuple[Any, Any, Any]], str]],
                report: _Report, signals: Optional[_Signals]) -> None:
    """Send a chunk's rows in one push_many batch, then account for each of its lines."""
    failures = [(number, raw, problem) for number, raw, row, problem in chunk if row is None]
    lines = {id(row): (number, raw) for number, raw, row, _ in chunk if row is not None}

    def on_failure(row: _Row, reason: str) -> None:
        failures.append(lines[id(row)] + (reason,))

    rows = [row for _, _, row, _ in chunk if row is not None]
    accepted = client.push_many(rows, batch_size=len(rows), on_failure=on_failure).accepted if rows else 0
    if signals is not None:
        signals.hold()
    report.accepted += accepted
    report.chunk_done(failures)
    chunk.clear()
    if signals is not None:
        signals.release()


if __name__ == "__main__":
    sys.exit(main())
