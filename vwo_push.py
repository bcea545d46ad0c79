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
6 background sending, 7 bulk, 8 command line.  Importing it loads nothing beyond what
Python loads at start-up: the network, JSON, logging, threading, asyncio and sqlite3
modules are imported on first use.
"""

import _thread
import os
import sys
import time

__version__ = "0.2.0"
__all__ = ["AsyncClient", "Client", "PushManyResult", "launch", "main", "push"]

# Annotations are strings: the names they use (typing's, the modules' below) are imported for type
# checkers only, to keep the import cheap.  (`from __future__ import annotations` would spare the quotes
# but is an import at run time too: __future__, 0.7 ms of the module's 5.5 ms import, measured.)
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - seen by type checkers only, to keep the import cheap
    import logging
    import socket
    import ssl
    import threading
    import urllib.request
    from typing import (
        Any,
        AsyncIterator,
        Callable,
        Deque,
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

    _Value = Union[str, int, float, bool]  # FME attribute values; a push's dimension values are str
    _Context = Tuple[str, Optional[str], Optional[str], int]  # FME: id, user_agent, ip_address, session_id (0: now)
    _Call = Tuple[Any, List[Tuple[Any, Any]], str, bool]  # who, pairs, the argument holding the values, one pair?
    _Row = Any
    _Origin = Tuple[str, str, Optional[str]]  # scheme, host[:port], and the host tunnelled to through a proxy
else:
    def overload(function):  # at run time the last definition wins; type checkers read typing.overload
        return function

_logger: "Optional[logging.Logger]" = None


def _log() -> "logging.Logger":
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
_secret_users: "Dict[str, int]" = {}  # SDK key -> how many live clients use it: the keys redaction hides


class _Redactor:
    """The logging filter on `vwo_push`: every record loses the SDK keys in use and proxy credentials."""

    def filter(self, record: "logging.LogRecord") -> bool:
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


def _secret_forms(secret: str) -> "List[str]":
    """A secret as it travels: raw (a header), in a query (two encodings), in JSON."""
    from urllib.parse import quote, quote_plus, unquote

    encode_basestring_ascii = _json_string()
    forms = {secret, unquote(secret), quote_plus(secret), quote(secret, safe=""), quote(secret, safe=_FME_SAFE),
             encode_basestring_ascii(secret)[1:-1]}
    return [form for form in forms if len(form) >= 4]  # shorter ones would blank out every log line


def _proxy_credentials() -> "List[str]":
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
        # socket.timeout is TimeoutError from Python 3.10 on; before, it is named "timeout": one name on all
        sockets = sys.modules.get("socket")  # (not imported: no socket.timeout to name)
        name = "TimeoutError" if sockets is not None and isinstance(exc, sockets.timeout) else type(exc).__name__
        text = "%s: %s" % (name, text) if text else name
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
# The tags of a push, json.dumps({"u": {key: value}}) with the json module's defaults, as the SDK
# sends them: filled with the key and value as JSON strings.
_TAGS = '{"u": {%s: %s}}'


def _json_string() -> "Callable[[str], str]":
    """json.dumps for one str, with the json module's defaults: its C encoder, without loading the json package."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # pragma: no cover - a Python built without the _json accelerator
        from json.encoder import encode_basestring_ascii
    return encode_basestring_ascii


def _uuid5(namespace: "Any", name: str) -> bytearray:
    """uuid.uuid5(namespace, name).bytes, without importing uuid; `namespace` is a sha1 already fed its bytes
    (a copy of it is cheaper than hashing them again: per row of a backfill)."""
    sha1 = namespace.copy()
    sha1.update(name.encode("utf-8"))
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest


class _Wire:
    """protocol.md for one account: each request VWO expects, as URL, body and headers.

    Pure: the clock (`now`, unix seconds) and the random number are arguments, so the
    same inputs give the same bytes.  The parts that never change are made once here.
    """

    def __init__(self, account_id: str, sdk_key: str, base: str, fme: bool = False) -> None:
        from hashlib import sha1
        from urllib.parse import quote, quote_plus

        encode_basestring_ascii = _json_string()
        self.fme = fme  # batches go to the FME endpoint, one event a call
        self.json_str = encode_basestring_ascii  # json.dumps(a str), with the json module's defaults
        self._tags_heads: Dict[str, str] = {}  # batch_event's part of `t` before the value, by key
        self._tags_tail = encode_basestring_ascii(_TAGS.split("%s")[2])[1:]  # and after it
        self.quote = quote
        self.account_id = account_id
        self.sdk_key = sdk_key
        self.namespace = sha1(_uuid5(sha1(_uuid5(sha1(_NAMESPACE_URL), "https://vwo.com")), account_id))
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
        return _uuid5(self.namespace, user_id).hex().upper()

    def push_url(self, u: str, key: str, value: str, now: float, rand: float) -> str:
        """Standard accounts (section 1): one GET a pair, parameters in the SDK's order; tags form-encoded."""
        js = self.json_str
        return "%s%r%s%d&u=%s%s%s" % (self.push_head, rand, self.push_middle, now, u, self.push_tail,
                                      (_TAGS % (js(key), js(value))).translate(_FORM_ENCODE))

    def event_arch(self, u: str, pairs: "List[Tuple[str, Any]]", now: float, rand: float) -> "Tuple[str, bytes]":
        """Event-architecture accounts (section 2): one POST /events/t carrying every pair."""
        ms = int(now * 1000)
        url = "%s%d&random=%r&p=FS&visitor_ua=&visitor_ip=" % (self.events_head, ms, rand)
        props = "".join(", %s: %s" % (self.json_str(k), self.json_str(v)) for k, v in dict(pairs).items())
        body = '{"d": {"msgId": "%s-%d", "visId": "%s", "sessionId": %d, %s%d}, %s%s}}}}' % (
            u, ms, u, now, self.event_props, ms, self.visitor_props, props)
        return url, body.encode("ascii")

    def batch_event(self, u: str, key: str, value: str, sid: int) -> str:
        """Section 3: one event of a batch, as JSON text; `t` is the tags JSON as a JSON string."""
        js = self.json_str
        head = self._tags_heads.get(key)
        if head is None:
            head = self._tags_head(key)
        # js escapes character by character, so js(A + B) is js(A) without its closing quote, then
        # js(B) without its quotes: `t` is js(_TAGS % (js(key), js(value))) with the key's part made once.
        return '{"u": "%s", "sId": %d, "visitor_ua": "", "visitor_ip": "", "t": %s%s%s, "eT": 3}' % (
            u, sid, head, js(js(value))[1:-1], self._tags_tail)

    def _tags_head(self, key: str) -> str:
        """The start of `t` for a key, up to its value: made once a key (a backfill has few)."""
        if len(self._tags_heads) >= 1000:  # bounded, whatever the keys
            self._tags_heads.clear()
        opening, between, _ = _TAGS.split("%s")
        head = self._tags_heads[key] = self.json_str(opening + self.json_str(key) + between)[:-1]
        return head

    def fme_body(self, u: str, pairs: "List[Tuple[str, Any]]", context: "_Context", ms: int) -> str:
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

    def fme_event(self, u: str, pairs: "List[Tuple[str, Any]]", context: "_Context", now: float,
                  rand: float) -> "Tuple[str, bytes, Dict[str, Any]]":
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

    def batch(self, events: "List[str]") -> "Tuple[str, bytes, Dict[str, Any]]":
        """Sections 3 and 4: one POST carrying many events (at most 5000)."""
        body = ('{"ev": [' + ", ".join(events) + "]}").encode("ascii")
        return (self.fme_batch_url if self.fme else self.batch_url), body, {"Authorization": self.sdk_key}


def _header_value(text: str) -> "Union[str, bytes]":
    """A header value as http.client sends it: ASCII as is, anything else as UTF-8 bytes (not Latin-1)."""
    return text if text.isascii() else text.encode("utf-8")


_Request: "Any" = None  # urllib.request.Request, once urllib is imported


def _request_class() -> "Any":
    global _Request
    from urllib.request import Request

    _Request = Request
    return Request


def _request(url: str, body: "Optional[bytes]" = None, headers: "Optional[Dict[str, Any]]" = None,
             origin: str = "") -> "urllib.request.Request":
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


def _text_problem(value: object, limit: "Optional[int]" = _MAX_TEXT) -> "Optional[str]":
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


def _typed_problem(value: object) -> "Optional[str]":
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


def _check(value: object, name: str, problem: "Optional[str]") -> None:
    if problem is not None:
        raise ValueError("%s %s" % (name, problem))


def _check_key(key: object, name: str) -> None:
    """A dimension or attribute key: a str of 1 to 255 characters, and not the one that carries the SDK key."""
    _check(key, name, _text_problem(key))
    if key == _ENV_PROP:
        raise ValueError("%s is the reserved key %r, which carries the SDK key" % (name, _ENV_PROP))


def _checked_user(user_id: object) -> str:
    """A user id: a non-empty str of valid Unicode, any length (plain ASCII is checked fast)."""
    if type(user_id) is str and user_id and user_id.isascii():
        return user_id
    _check(user_id, "user_id", _text_problem(user_id, None))
    return user_id  # type: ignore[return-value]  # checked: a str


def _check_context(context: object) -> "_Context":
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
    raise ValueError("account_id must be a positive int or a str of digits, got %s" % _shown(value))


def _check_sdk_key(value: object) -> str:
    if isinstance(value, str) and value and all("!" <= c <= "~" for c in value):
        return value
    raise ValueError("sdk_key must be a non-empty str of printable ASCII without spaces (it travels in a header)")


def _shown(value: object) -> str:
    """A setting's value in a message, as given (no setting is a secret but the key, which redaction hides):
    a number or a short str as it is, anything else only described."""
    plain = type(value) in (int, float, bool) or (type(value) is str and len(value) <= 100)
    return repr(value) if plain else _describe(value)


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
                     "got %s" % _shown(value))


def _check_endpoint(value: object) -> "Tuple[str, str]":
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
    raise ValueError("endpoint %s, got %s" % (problem, _shown(value)))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_batch_events(value: object) -> "Optional[Dict[str, Any]]":
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
    if options["spool"] is not None:
        try:
            options["spool"] = os.fspath(options["spool"])
        except TypeError:
            raise ValueError("batch_events['spool'] must be a path (str or os.PathLike), got %s"
                             % _describe(options["spool"])) from None
        if not isinstance(options["spool"], str) or not options["spool"]:
            raise ValueError("batch_events['spool'] must be a path (str or os.PathLike), got %s"
                             % _describe(options["spool"]))
        try:
            import sqlite3  # noqa: F401 - only with a spool
        except ImportError:
            raise ValueError("batch_events['spool'] needs the sqlite3 module, which this Python lacks") from None
    return options


_BATCH_DEFAULTS: "Dict[str, Any]" = {"events_per_request": 100, "request_time_interval": 600, "flush_callback": None,
                                   "max_queue_size": 10_000, "spool": None}


# ---------------------------------------------------------------------------
# 3. Call forms: singledispatch on the first argument; str is one pair, a Mapping is a map
# ---------------------------------------------------------------------------
# Each registered function takes its form's real parameters, so keywords bind as in any
# call, checks the keys and the user (or FME context), and gives (who, pairs, name, single).
# Values are checked by the client, whose account type decides what a value may be.

def _push_pair(custom_dimension_key: object, custom_dimension_value: object, user_id: object) -> "_Call":
    """push(custom_dimension_key, custom_dimension_value, user_id)"""
    if not _plain(custom_dimension_key) or custom_dimension_key == _ENV_PROP:
        _check_key(custom_dimension_key, "custom_dimension_key")
    return _checked_user(user_id), [(custom_dimension_key, custom_dimension_value)], "custom_dimension_value", True


def _push_map(custom_dimension_map: "Mapping[object, object]", user_id: object) -> "_Call":
    """push(custom_dimension_map, user_id)"""
    pairs = _map_pairs(custom_dimension_map, "custom_dimension_map")
    return _checked_user(user_id), pairs, "custom_dimension_map", False


def _attribute_pair(attribute_key: object, attribute_value: object, context: object) -> "_Call":
    """set_attribute(attribute_key, attribute_value, context)"""
    _check_key(attribute_key, "attribute_key")
    return _check_context(context), [(attribute_key, attribute_value)], "attribute_value", True


def _attribute_map(attribute_map: "Mapping[object, object]", context: object) -> "_Call":
    """set_attribute(attribute_map, context)"""
    return _check_context(context), _map_pairs(attribute_map, "attribute_map"), "attribute_map", False


def _map_pairs(mapping: "Mapping[object, object]", name: str) -> "List[Tuple[str, Any]]":
    pairs = list(mapping.items())
    if not pairs:
        raise ValueError("%s must not be empty" % name)
    for number, (key, _) in enumerate(pairs, 1):
        if not _plain(key) or key == _ENV_PROP:
            _check_key(key, "the key of pair #%d of %s" % (number, name))  # the slow path names the pair
    return pairs  # type: ignore[return-value]  # keys checked: str


def _no_form(first: object, *args: object, **kwargs: object) -> "_Call":
    raise TypeError("the first argument must be a str key or a mapping of pairs, got %s" % _describe(first))


_FORMS: "Dict[str, Callable[..., _Call]]" = {}


def _forms(kind: str) -> "Callable[..., _Call]":
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


def _call_form(kind: str, args: "Sequence[object]", kwargs: "Dict[str, Any]") -> "_Call":
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
# 4. Transport: outcomes, the retry rule, the keep-alive pool, urllib's handler, one deadline
# ---------------------------------------------------------------------------
# A request has one deadline.  Every phase asks `_left(deadline)` for the time it may take:
# waiting for a connection of the pool, name resolution (in a helper thread, so that the wait
# can be cut short), each address connected to, the proxy CONNECT, the TLS handshake, each
# chunk sent, each read of the answer.  Once the deadline has passed, `_left` raises and
# nothing more is sent.  Nothing here knows what a dimension is.

_BODY_GRACE = 0.25  # seconds an answer's body may take after its status line: keep-alive only
_NEXT_ADDRESS = 0.25  # seconds before the next address of a name is tried beside a slow one
_MAX_PER_ORIGIN = 8  # connections a client keeps to one origin, in use or idle
_ASYNC_IN_USE = 100  # connections an AsyncClient uses at once to one origin (it keeps _MAX_PER_ORIGIN idle):
# its pushes are tasks, not threads, and a slow server must not make them queue for a connection
_MAX_BODY = 1 << 20  # an answer body is read for keep-alive only; more is not worth waiting for
_MAX_HEAD = 1 << 16  # an answer's status line and headers: more is refused, as http.client refuses it
_CHUNK = 1 << 14  # bytes handed to a TLS socket at a time, each under the time left (its sendall restarts
# the timeout at each write; a plain socket's keeps to one timeout for the whole call)


def _left(deadline: float) -> float:
    """Seconds until `deadline`; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


# -- outcomes and the retry rule ---------------------------------------------------------

class _Outcome:
    """What became of one request, made once where the answer (or the error) arrived.

    `status` is the HTTP status, 0 when no answer came; `retryable` says whether trying
    again may help; `reason` is for people only: no code decides anything by its text.
    """

    __slots__ = ("accepted", "reason", "retry_after", "retryable", "status")

    def __init__(self, status: int, retryable: bool, reason: str, retry_after: "Optional[float]" = None) -> None:
        self.status, self.retryable, self.reason, self.retry_after = status, retryable, reason, retry_after
        self.accepted = 200 <= status < 300

    def __repr__(self) -> str:
        return "_Outcome(%d, %r)" % (self.status, self.reason)


def _answered(status: int, retry_after: "Optional[str]") -> "_Outcome":
    """The outcome of an answer's status line (and its Retry-After, read only when a retry needs it)."""
    if status in _RETRY_STATUSES:
        return _Outcome(status, True, "HTTP %d" % status, _retry_after(retry_after))
    outcome = _FINAL.get(status)
    if outcome is None:  # an outcome is never changed: one a status will do
        outcome = _FINAL[status] = _Outcome(status, False, "HTTP %d" % status)
    return outcome


_FINAL: "Dict[int, _Outcome]" = {}  # the outcomes of answers that are not retried, by status


def _failed(exc: BaseException) -> "_Outcome":
    """The outcome of an attempt that got no answer: final when retrying would not help."""
    import http.client
    import ssl
    import urllib.error

    text = _error_text(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _Outcome(0, False, "certificate not verified: %s" % _redact(str(exc.verify_message)))
    if isinstance(exc, ssl.SSLError) and not _closed_while_idle(exc):
        return _Outcome(0, False, "TLS error: %s" % text)
    if isinstance(exc, (_BadSetting, urllib.error.URLError, http.client.InvalidURL, ValueError)):
        return _Outcome(0, False, "bad proxy or URL setting: %s" % text)  # raised before any byte is sent
    if isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed: "):
        code = str(exc).split()[3]
        retryable = code.isdigit() and int(code) in _RETRY_STATUSES  # 407 and the like are final
        return _Outcome(0, retryable, "proxy answered CONNECT with %s" % code)
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return _Outcome(0, True, text)
    return _Outcome(0, False, text)  # not a network error: a bug somewhere, which retrying would repeat


def _next_try(outcome: "_Outcome", tries: int, retries: int, backoff: float, jitter: "Callable[[], float]",
              deadline: float) -> "Tuple[Optional[float], _Outcome]":
    """The retry rule, for threads and asyncio alike: seconds to wait before trying again, or None
    when `outcome` (returned, its reason completed) is final."""
    if outcome.accepted or not outcome.retryable or tries >= retries:
        return None, outcome
    wait = outcome.retry_after
    if wait is None:
        wait = backoff * (2 ** tries) * jitter()
    if wait >= deadline - time.monotonic():  # never sleep past the deadline
        reason = "%s; no time left to wait %.2f s for a retry" % (outcome.reason, wait)
        return None, _Outcome(outcome.status, False, reason)
    return wait, outcome


def _deliver(attempt: "Callable[[urllib.request.Request, float], _Outcome]", req: "urllib.request.Request",
             deadline: float, retries: int, backoff: float, sleep: "Callable[[float], None]",
             jitter: "Callable[[], float]", counts: "_Stats") -> "_Outcome":
    """Send `req` until it is accepted, refused for good, out of retries or out of time."""
    tries = 0
    while True:
        if tries:
            next(counts.retries)
        next(counts.requests)
        wait, outcome = _next_try(attempt(req, deadline), tries, retries, backoff, jitter, deadline)
        if wait is None:
            return outcome
        sleep(wait)
        tries += 1


def _retry_after(value: "Optional[str]") -> "Optional[float]":
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


class _BadSetting(Exception):
    """A setting the request cannot be sent with (a malformed proxy URL): not retried."""


# -- connecting: names, addresses, reads and writes under the deadline ------------------------

class _Lookup:
    """One getaddrinfo under way in a helper thread; callers that need the same name wait on it.

    Threads wait on `done`; an event loop asks to be told (`then`), from the helper thread.
    """

    __slots__ = ("done", "error", "result", "told")

    def __init__(self) -> None:
        self.done = _thread.allocate_lock()
        self.done.acquire()  # released by the helper thread when the answer is in
        self.result: List[Any] = []
        self.error: Optional[BaseException] = None
        self.told: Optional[List[Callable[[_Lookup], None]]] = []  # None once the answer is in

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
                told, self.told = self.told, None
            self.done.release()
            for tell in told or ():
                tell(self)

    def then(self, tell: "Callable[[_Lookup], None]") -> None:
        """Call tell(self) once the answer is in (now, if it is)."""
        with _lookups_lock:
            if self.told is not None:
                self.told.append(tell)
                return
        tell(self)

    def answer(self, host: str) -> "List[Any]":
        if self.error is not None:
            error = self.error
            raise (type(error)(*error.args) if isinstance(error, OSError) else OSError("cannot resolve %s" % host))
        return self.result


_lookups: "Dict[Tuple[str, int], _Lookup]" = {}
_lookups_lock = _thread.allocate_lock()


def _address(host: str, port: int) -> "Optional[List[Any]]":
    """What getaddrinfo would answer for an address (no lookup needed), or None for a name."""
    import socket

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return [(family, socket.SOCK_STREAM, 6, "", (host, port) if family == socket.AF_INET else (host, port, 0, 0))]
    return None


def _lookup(host: str, port: int) -> "_Lookup":
    """The lookup of a name, under way: one helper thread a name, whoever asks for it meanwhile."""
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
    return lookup


def _resolve(host: str, port: int, deadline: float) -> "List[Any]":
    """getaddrinfo within the deadline: it cannot be interrupted, so it runs in a helper thread.

    A resolver that hangs costs one helper thread per name, not one per push: callers
    asking for a name already being looked up wait on that lookup.
    """
    address = _address(host, port)
    if address is not None:
        return address
    lookup = _lookup(host, port)
    if not lookup.done.acquire(True, _left(deadline)):
        raise TimeoutError("timed out resolving %s" % host)
    lookup.done.release()
    return lookup.answer(host)


def _open_socket(host: str, port: int, deadline: float) -> "socket.socket":
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


_connection_classes: "List[Any]" = []


def _connection_class(tls: bool) -> "Any":
    """http.client's connection, with every phase under the connection's `deadline` (made on first use)."""
    if not _connection_classes:
        import http.client

        class Connection(http.client.HTTPConnection):
            deadline = 0.0
            tls: "Optional[ssl.SSLContext]" = None
            tunnel: "Optional[Tuple[str, int, Optional[str]]]" = None  # CONNECT host, port, Proxy-Authorization

            def connect(self) -> None:
                self.sock = _open_socket(self.host, self.port, self.deadline)
                name = self.host
                if self.tunnel is not None:
                    name = self.tunnel[0]
                    self.send(_connect_bytes(*self.tunnel))
                    _check_tunnel(_Reader(self).head())
                if self.tls is not None:
                    self.sock.settimeout(_left(self.deadline))  # bounds the whole handshake
                    self.sock = self.tls.wrap_socket(self.sock, server_hostname=name)

            def send(self, data: "Any") -> None:
                if self.sock is None:
                    self.connect()
                if self.tls is None or len(data) <= _CHUNK:  # a plain socket's sendall keeps to its timeout
                    self.sock.settimeout(_left(self.deadline))  # nothing is sent once it has passed
                    self.sock.sendall(data)
                    return
                view = memoryview(data)
                for start in range(0, len(view), _CHUNK):
                    self.sock.settimeout(_left(self.deadline))
                    self.sock.sendall(view[start:start + _CHUNK])

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


def _dropped(conn: "Any") -> bool:
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


# -- the pool ----------------------------------------------------------------------------------

class _Pool:
    """Kept-alive connections: at most `limit` to an origin, in use or idle, whatever the threads do.

    A request takes an idle connection, or a place for a new one; when all are taken it
    waits, within its own deadline, for one to come back.  So sixteen threads on one client
    share eight connections instead of opening and closing them as their timing falls.
    Fork-aware (the registry resets it in a child) and closable; the sockets of a dropped
    pool close by reference counting: nothing holds a pool but its owner.
    """

    def __init__(self, limit: int = _MAX_PER_ORIGIN) -> None:
        self.limit = limit
        self.closed = False
        self._reset()
        _life.add("pool", self)

    def _reset(self) -> None:
        import threading

        self._lock = threading.Lock()  # taken as is (in C) when nobody waits: per request
        self._cond = threading.Condition(self._lock)
        self._waiting = 0  # threads waiting for a place
        self._idle: Dict[_Origin, List[Any]] = {}
        self._busy: Dict[_Origin, int] = {}

    def acquire(self, origin: "_Origin", deadline: float) -> "Any":
        """A kept connection to reuse, or None with a place held for a new one; release() gives it back."""
        with self._lock:
            while True:
                idle = self._idle.get(origin)
                busy = self._busy.get(origin, 0)
                if idle or busy < self.limit:
                    break
                self._waiting += 1
                try:
                    self._cond.wait(_left(deadline))
                finally:
                    self._waiting -= 1
            self._busy[origin] = busy + 1
            conn = idle.pop() if idle else None
        if conn is not None and _dropped(conn):  # the server closed it while it was idle
            conn.close()
            return None
        return conn

    def release(self, origin: "_Origin", conn: "Any") -> None:
        """Give back a place; `conn`, when it can carry another request, is kept for the next one."""
        with self._lock:
            self._busy[origin] = self._busy.get(origin, 1) - 1
            if conn is not None and not self.closed:
                self._idle.setdefault(origin, []).append(conn)
                conn = None
            if self._waiting:
                self._cond.notify()
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close the idle connections; those in use are closed when they come back."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, {}
        _close_all(idle)

    def __del__(self) -> None:  # its owner was dropped without close(): no ResourceWarning for its sockets
        _close_all(getattr(self, "_idle", {}))

    def after_fork(self) -> None:
        """In a forked child: the parent's connections and lock are the parent's, never used here."""
        idle = self._idle
        self._reset()
        _close_all(idle)  # this process's copies only: nothing goes on the wire


def _close_all(idle: "Dict[Any, List[Any]]") -> None:
    """Close every connection of a pool's idle lists."""
    for connections in list(idle.values()):
        for conn in connections:
            conn.close()


# -- the bytes of a request and of its answer: both transports write and read them alike ----------

def _ascii_name(host: str) -> str:
    """A host name as it goes in a request: its IDNA form when it is not ASCII, as http.client writes it."""
    return host if host.isascii() else host.encode("idna").decode("ascii")


def _request_bytes(req: "urllib.request.Request", absolute: bool, proxy_auth: "Optional[str]") -> bytes:
    """The request as http.client puts it on the wire: the same request line and headers, in its order."""
    body = req.data
    lines = ["%s %s HTTP/1.1" % (req.get_method(), req.full_url if absolute else req.selector),
             "Host: %s" % _ascii_name(req.host), "Accept-Encoding: identity"]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))  # type: ignore[arg-type]
    head = ("\r\n".join(lines) + "\r\n").encode("ascii")
    for name, value in req.header_items():
        if name != "Proxy-authorization":
            head += name.encode("ascii") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")) + \
                b"\r\n"
    if absolute and proxy_auth:
        head += b"Proxy-Authorization: " + proxy_auth.encode("ascii") + b"\r\n"
    return head + b"\r\n" + (body or b"")  # type: ignore[operator]


def _parse_head(head: bytes) -> "Tuple[int, Optional[int], bool, bool, Optional[str]]":
    """(status, Content-Length, chunked, connection closes, Retry-After) of an answer's head."""
    if not head.startswith(b"HTTP/1.") or head[8:9] != b" " or not head[9:12].isdigit():
        import http.client

        raise http.client.BadStatusLine(head.split(b"\r\n", 1)[0].decode("latin-1"))  # as http.client says it
    status, lower = int(head[9:12]), head.lower()
    close = head[5:8] == b"1.0"
    length: Optional[int] = None
    chunked = False
    retry_after = None
    if b"\r\ncontent-length:" in lower:
        value = _header(lower, b"content-length")
        length = int(value) if value.isdigit() else None
    if b"\r\ntransfer-encoding:" in lower:
        chunked = _header(lower, b"transfer-encoding") == b"chunked"
    if b"\r\nconnection:" in lower:
        close = _header(lower, b"connection") == b"close"
    if status in _RETRY_STATUSES and b"\r\nretry-after:" in lower:
        retry_after = _header(head, b"retry-after", lower).decode("latin-1")
    if status in (204, 304):
        length = 0
    elif chunked:
        length = None  # chunks win over a length (RFC 9112, 6.3)
    return status, length, chunked, close, retry_after


def _header(head: bytes, name: bytes, lower: "Optional[bytes]" = None) -> bytes:
    """The value of the header `name` (in lower case) in an answer's head."""
    start = (lower or head).index(b"\r\n" + name + b":") + len(name) + 3
    return head[start:head.index(b"\r\n", start)].strip()


def _head_end(buffer: bytearray) -> "Optional[int]":
    """Where an answer's head (status line and headers) ends in `buffer`: None while more is needed;
    a head over 64 KiB is refused, as http.client refuses it."""
    end = buffer.find(b"\r\n\r\n", 0, _MAX_HEAD + 4)
    if end < 0:
        if len(buffer) > _MAX_HEAD:
            import http.client

            raise http.client.LineTooLong("an answer's line or head")
        return None
    return end + 4


def _interim(head: bytes) -> bool:
    """Whether a head is an interim answer (100 Continue, 103 Early Hints): the real one follows."""
    return head[9:10] == b"1" and head.startswith(b"HTTP/1.")


def _body_end(buffer: bytearray, length: "Optional[int]", chunked: bool) -> "Optional[int]":
    """Where an answer's body ends in `buffer`: None while more is needed (and always for a body that runs to
    the end of the connection).  A body worth more than _MAX_BODY, or malformed chunks, raise: the answer
    counts, the connection does not."""
    if chunked:
        at = 0
        while True:
            line = buffer.find(b"\r\n", at, at + 1026)
            if line < 0:
                if len(buffer) - at > 1024:
                    raise ConnectionAbortedError("a chunk size line over 1 KiB")
                return None
            size = int(bytes(buffer[at:line]).split(b";")[0], 16)  # ValueError when it is no number
            if size == 0:  # then an empty line: no trailers are sent to us
                end = buffer.find(b"\r\n", line + 2, line + 2 + _MAX_HEAD + 2)
                return None if end < 0 else end + 2
            at = line + 2 + size + 2
            if at > _MAX_BODY:
                raise ConnectionAbortedError("a body not worth waiting for")
            if at > len(buffer):
                return None
    if length is None:
        if len(buffer) > _MAX_BODY:
            raise ConnectionAbortedError("a body not worth waiting for")
        return None
    if length > _MAX_BODY:
        raise ConnectionAbortedError("a body not worth waiting for")
    return length if len(buffer) >= length else None


def _connect_bytes(host: str, port: int, auth: "Optional[str]") -> bytes:
    """A proxy's CONNECT request for host:port (a tunnel for https), with the proxy's credentials."""
    host = _ascii_name(host)
    where = "%s:%d" % ("[%s]" % host if ":" in host else host, port)
    head = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (where, where)
    if auth:
        head += "Proxy-Authorization: %s\r\n" % auth
    return (head + "\r\n").encode("ascii")


def _check_tunnel(head: bytes) -> None:
    """A proxy's answer to CONNECT: anything but 200 fails as http.client says it (the code is read back)."""
    parts = head.split(b"\r\n", 1)[0].split(None, 2)
    if len(parts) < 2 or parts[1] != b"200":
        raise OSError("Tunnel connection failed: %s" % b" ".join(parts[1:]).decode("latin-1"))


# -- the connection of a request, and one attempt ---------------------------------------------

class _Handler:
    """Opens a urllib Request's connection, kept alive, and sends it: urllib's own handler
    (AbstractHTTPHandler.do_open) sends `Connection: close` with every request, so each push
    would pay a TCP (and TLS) handshake.  https verifies certificates with the SSL context;
    a request routed through a proxy (Request.set_proxy) goes to it, tunnelled by CONNECT
    for https.
    """

    def __init__(self, pool: "_Pool", context: "Optional[ssl.SSLContext]") -> None:
        self._pool = pool
        self.context = context

    def exchange(self, req: "urllib.request.Request", data: bytes, deadline: float) -> "Tuple[int, Optional[str]]":
        """Send `data` (the bytes of `req`) and read its answer by `deadline`, on a kept or a new connection:
        (status, Retry-After)."""
        if req.type not in ("http", "https") or not req.host:  # a proxy setting routed it so
            raise _BadSetting("a proxy setting with %s" % ("no host" if req.host == "" else
                                                             "a scheme urllib cannot speak: %s" % req.type))
        pool = self._pool
        tunnel: Optional[str] = req._tunnel_host  # type: ignore[attr-defined]  # set by set_proxy
        origin = (req.type, req.host, tunnel)
        conn = pool.acquire(origin, deadline)
        kept = None
        try:
            if conn is not None:
                try:
                    status, retry_after, kept = _roundtrip(conn, data, deadline, reused=True)
                    return status, retry_after
                except _IdleClose as idle:
                    # The server closed the kept connection before answering.  A request that
                    # never fully left is sent again on a new connection, without using a
                    # retry; so is a GET.  A POST the server may have read counts as an attempt.
                    if idle.read and req.get_method() != "GET":
                        raise idle.error from None
            status, retry_after, kept = _roundtrip(self._connection(req, tunnel), data, deadline, reused=False)
            return status, retry_after
        finally:
            pool.release(origin, kept)

    def _connection(self, req: "urllib.request.Request", tunnel: "Optional[str]") -> "Any":
        conn = _connection_class(req.type == "https")(req.host)
        if req.type == "https":
            if self.context is None:  # once: loading the CA store costs milliseconds
                import ssl

                self.context = ssl.create_default_context()  # system store, or SSL_CERT_FILE
            conn.tls = self.context
        if tunnel:
            from urllib.parse import urlsplit

            where = urlsplit("//" + tunnel)
            conn.tunnel = (where.hostname or "", where.port or 443, req.headers.get("Proxy-authorization"))
        return conn


def _roundtrip(conn: "Any", data: bytes, deadline: float, reused: bool) -> "Tuple[int, Optional[str], Any]":
    """A request's bytes sent on `conn` (connected first when new) and its answer read: (status,
    Retry-After, `conn` if it can carry another request, else None: then it is closed)."""
    conn.deadline = deadline
    answer = _Reader(conn)
    sent = False
    try:
        conn.send(data)
        sent = True
        status, length, chunked, close, retry_after = _parse_head(answer.head())
    except BaseException as exc:
        conn.close()
        if reused and _closed_while_idle(exc):
            raise _IdleClose(exc, read=sent) from None
        raise
    # The status line decides.  The body is read for keep-alive only, for at most
    # 0.25 s: a body that stalls costs the connection, not the push or its time.
    if length is None or length > _MAX_BODY or len(answer.buffer) < length:
        conn.deadline = min(deadline, time.monotonic() + _BODY_GRACE)
        try:
            answer.body(length, chunked)
        except Exception:  # noqa: BLE001 - a body cut short, stalled or malformed: only the connection is lost
            close = True
    elif length:
        del answer.buffer[:length]
    if close or answer.buffer:  # (bytes nobody asked for: the connection is out of step)
        conn.close()
        return status, retry_after, None
    return status, retry_after, conn


class _Reader:
    """An answer read off a connection's socket, each wait within the connection's deadline (which
    moves: the body gets less time than the status line); AsyncClient's twin reads the same way."""

    __slots__ = ("buffer", "conn")

    def __init__(self, conn: "Any") -> None:
        self.conn, self.buffer = conn, bytearray()

    def more(self) -> None:
        sock = self.conn.sock
        sock.settimeout(_left(self.conn.deadline))  # a deadline, not a timeout a read: no dribble stretches it
        data = sock.recv(65536)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += data

    def head(self) -> bytes:
        """The status line and headers, taken off the buffer (an interim 1xx answer's passed over)."""
        while True:
            end = _head_end(self.buffer)
            if end is None:
                self.more()
                continue
            head = bytes(self.buffer[:end])
            del self.buffer[:end]
            if not _interim(head):
                return head

    def body(self, length: "Optional[int]", chunked: bool) -> None:
        """Read and drop the body; one without a length or chunks runs to the end of the connection."""
        while True:
            end = _body_end(self.buffer, length, chunked)
            if end is not None:
                del self.buffer[:end]
                return
            try:
                self.more()
            except ConnectionError:
                if length is None and not chunked:
                    return
                raise


class _Transport:
    """One attempt at a request, its answer read: an _Outcome, never an exception.

    Through the environment's proxy for the request's scheme, routed as urllib's ProxyHandler
    routes it (Request.set_proxy, and Basic credentials from the proxy URL); straight to the
    handler otherwise.  The route of each origin is found once: urllib reads the whole
    environment again for every request (NO_PROXY), a third of a push's time behind a proxy.
    """

    def __init__(self, pool: "_Pool", context: "Optional[ssl.SSLContext]") -> None:
        self.pool = pool
        self.handler = _Handler(pool, context)
        self._routes = _Routes()

    def attempt(self, req: "urllib.request.Request", deadline: float) -> "_Outcome":
        try:
            status, retry_after = self._open(req, deadline)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome, sorted by _failed
            outcome = _failed(exc)
        else:
            outcome = _answered(status, retry_after)
        _trace(req, outcome.reason)
        return outcome

    def _open(self, req: "urllib.request.Request", deadline: float) -> "Tuple[int, Optional[str]]":
        route = self._routes.find(req.type, req.host)
        if route is None:
            return self.handler.exchange(req, _request_bytes(req, False, None), deadline)
        # Routing rewrites the request: a copy is routed (where to connect, what to tunnel), so that a
        # retry starts clean; the bytes sent are the request's own (the full URL when it goes to the proxy).
        copy = _request(req.full_url, req.data, dict(req.header_items()), req.origin_req_host)  # type: ignore[arg-type]
        kind, where, auth = route
        if auth:
            copy.add_header("Proxy-authorization", auth)
        copy.set_proxy(where, kind)  # https: a CONNECT tunnel through `where`; http: the full URL sent to it
        absolute = req.type != "https"
        return self.handler.exchange(copy, _request_bytes(req, absolute, auth if absolute else None), deadline)


class _Routes:
    """The environment's proxy for each (scheme, host:port): None (straight there), or (the proxy's scheme,
    its host:port, a Proxy-Authorization value or None), as urllib's ProxyHandler reads the settings.

    The settings are read once (urllib.request.getproxies), and NO_PROXY once an origin.
    """

    def __init__(self) -> None:
        self._proxies: Optional[Dict[str, str]] = None
        self._found: Dict[Tuple[str, str], Optional[Tuple[str, str, Optional[str]]]] = {}

    def find(self, scheme: str, host: str) -> "Optional[Tuple[str, str, Optional[str]]]":
        key = (scheme, host)
        try:
            return self._found[key]
        except KeyError:
            pass
        import urllib.request

        if self._proxies is None:
            self._proxies = urllib.request.getproxies()
        setting = self._proxies.get(scheme)
        route = None
        if setting and not (host and urllib.request.proxy_bypass(host)):
            route = self._parse(setting, scheme)
        if len(self._found) >= 64:  # a client talks to one or two origins: this is never reached in use
            self._found.clear()
        self._found[key] = route
        return route

    @staticmethod
    def _parse(setting: str, scheme: str) -> "Tuple[str, str, Optional[str]]":
        """A proxy setting as urllib reads it: `scheme://user:password@host:port/` or a bare `host:port`
        (then the request's scheme); credentials only with both a user and a password."""
        from urllib.parse import unquote

        kind, url, rest = setting.partition("://")
        kind = kind.lower()
        if not url:
            kind, rest = scheme, setting
        at = rest.find("@")
        end = rest.find("/", max(at, 0))
        authority = rest if end < 0 else rest[:end]
        userinfo, _, where = authority.rpartition("@")
        user, _, password = userinfo.partition(":")
        auth = None
        if user and password:
            import base64

            credentials = "%s:%s" % (unquote(user), unquote(password))
            auth = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        return kind, unquote(where), auth


# -- the async transport: the same outcomes and retry rule, over asyncio ------------------------
# A sibling of the above: the request is the same urllib Request, the outcome the same
# _Outcome, the retry rule the same _next_try.  Only connecting, sending and reading differ.
# It stands on asyncio's transports and protocols (what asyncio streams are made of), so that
# TLS over a proxy's CONNECT tunnel is loop.start_tls on every Python from 3.8.  One timer a
# attempt cancels it at the deadline (what asyncio.timeout does from 3.11 on): no call in a
# push waits outside an await, and nothing is sent once the deadline has passed.

_async_kit: "List[Any]" = []  # the asyncio-bound classes, made on first use (asyncio is not imported before)


def _asyncio_kit() -> "Any":
    """(asyncio, the HTTP protocol class), imported and made on first use."""
    if not _async_kit:
        import asyncio

        class Answer(asyncio.Protocol):
            """One kept-alive connection's reading side: bytes in, waited for by at most one reader."""

            def __init__(self) -> None:
                self.transport: Any = None
                self.buffer = bytearray()
                self.done = False  # the server closed, or the connection was lost
                self.paused: Any = None  # a future while the transport's write buffer is full
                self._waiter: Any = None

            def connection_made(self, transport: "Any") -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                self.buffer += data
                self._wake()

            def eof_received(self) -> bool:
                self.done = True
                self._wake()
                return False

            def connection_lost(self, exc: "Optional[BaseException]") -> None:
                self.done = True
                self._wake()
                if self.paused is not None and not self.paused.done():
                    self.paused.set_result(None)

            def pause_writing(self) -> None:
                self.paused = asyncio.get_running_loop().create_future()

            def resume_writing(self) -> None:
                if self.paused is not None and not self.paused.done():
                    self.paused.set_result(None)
                self.paused = None

            def _wake(self) -> None:
                if self._waiter is not None and not self._waiter.done():
                    self._waiter.set_result(None)

            async def more(self) -> None:
                """Wait for bytes (ConnectionError once the connection has ended)."""
                if self.done:
                    raise ConnectionResetError("the server closed the connection")
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None

            async def head(self) -> bytes:
                """An answer's status line and headers, taken off the buffer (as Client's _Reader.head)."""
                while True:
                    end = _head_end(self.buffer)
                    if end is None:
                        await self.more()
                        continue
                    head = bytes(self.buffer[:end])
                    del self.buffer[:end]
                    if not _interim(head):
                        return head

        _async_kit[:] = [asyncio, Answer]
    return _async_kit


class _Timer:
    """Cancels the current task at `deadline` (time.monotonic(), the loop's clock); `fired` says it did.

    move() gives the phase that follows less time (an answer's body gets 0.25 s).
    """

    def __init__(self, loop: "Any", deadline: float) -> None:
        self._loop, self.fired = loop, False
        self._task = _async_kit[0].current_task()
        self._handle = loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self.fired = True
        self._task.cancel()

    def move(self, deadline: float) -> None:
        self._handle.cancel()
        self._handle = self._loop.call_at(deadline, self._fire)

    def stop(self) -> bool:
        """Stop the timer: True when it had fired, its cancellation undone (on 3.11+, where tasks count them)."""
        self._handle.cancel()
        if self.fired and hasattr(self._task, "uncancel"):
            self._task.uncancel()
        return self.fired


class _AsyncConnection:
    """A connection of the async pool: its transport, and the protocol that reads it."""

    __slots__ = ("answer", "tunnel")

    def __init__(self, answer: "Any", tunnel: bool) -> None:
        self.answer, self.tunnel = answer, tunnel

    def usable(self) -> bool:
        """Still open, and with nothing unasked to read (a server closing an idle connection is seen here)."""
        answer = self.answer
        return not answer.done and not answer.buffer and not answer.transport.is_closing()

    def abort(self) -> None:
        """Close at once: no TLS close_notify waited for (a server that never sends one cannot stall us)."""
        self.answer.transport.abort()


class _AsyncPool:
    """The async keep-alive pool of one client and one event loop: at most 100 connections an origin in use
    (a push waits for one past that), at most 8 kept idle."""

    def __init__(self, loop: "Any") -> None:
        import collections

        self.loop = loop
        self.idle: Dict[_Origin, List[_AsyncConnection]] = {}
        self.busy: Dict[_Origin, int] = {}
        self.waiting: Deque[Any] = collections.deque()  # futures of requests waiting for a connection
        self.closed = False
        self.keeper: Any = None  # _until_the_loop_ends(self), started

    def take(self, origin: "_Origin") -> "Tuple[bool, Optional[_AsyncConnection]]":
        """(True, a kept connection or None with a place held for a new one), or (False, None): all 100 busy."""
        idle = self.idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable():
                self.busy[origin] = self.busy.get(origin, 0) + 1
                return True, conn
            conn.abort()
        if self.busy.get(origin, 0) < _ASYNC_IN_USE:
            self.busy[origin] = self.busy.get(origin, 0) + 1
            return True, None
        return False, None

    async def acquire(self, origin: "_Origin") -> "Optional[_AsyncConnection]":
        """As take(), waiting for a place while the origin has 100 connections busy."""
        while True:
            took, conn = self.take(origin)
            if took:
                return conn
            waiter = self.loop.create_future()
            self.waiting.append(waiter)
            try:
                await waiter
            except BaseException:  # cancelled: a place it was woken for goes to the next in line
                if waiter in self.waiting:
                    self.waiting.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_next()
                raise

    def release(self, origin: "_Origin", conn: "Optional[_AsyncConnection]") -> None:
        self.busy[origin] -= 1
        if conn is not None:
            idle = self.idle.setdefault(origin, [])
            if not self.closed and len(idle) < _MAX_PER_ORIGIN and conn.usable():
                idle.append(conn)
            else:
                conn.abort()
        self._wake_next()

    def _wake_next(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.abort()


async def _until_the_loop_ends(pool: "_AsyncPool") -> "AsyncIterator[None]":
    """Closes `pool` when its event loop finalizes this generator: at asyncio.run's end (shutdown_asyncgens,
    the one hook a loop runs before it closes) or soon after the client is dropped.  A transport left open
    in a closed loop is a ResourceWarning, and a socket held until the garbage collector finds it."""
    try:
        yield
    finally:
        pool.close()
        await _async_kit[0].sleep(0)  # the aborted transports' connection_lost callbacks run now


class _AsyncTransport:
    """One attempt at a request over asyncio: an _Outcome, never an exception but CancelledError."""

    def __init__(self, context: "Optional[ssl.SSLContext]") -> None:
        import weakref

        self.context = context
        self.asyncio = _asyncio_kit()[0]  # an AsyncClient is made: asyncio is needed now, and kept at hand
        self.pools: Any = weakref.WeakKeyDictionary()  # event loop -> _AsyncPool
        self._routes = _Routes()  # the environment's proxies, read as Client reads them
        _life.add("async", self)

    def after_fork(self) -> None:
        """In a forked child: the parent's connections are the parent's (kept, never used or closed here)."""
        import weakref

        _forked_away.append(self.pools)
        self.pools = weakref.WeakKeyDictionary()

    async def _new_pool(self, loop: "Any") -> "_AsyncPool":
        pool = self.pools[loop] = _AsyncPool(loop)
        pool.keeper = _until_the_loop_ends(pool)
        await pool.keeper.__anext__()  # started here, in the loop: the loop now knows it, and will finalize it
        return pool

    async def attempt(self, req: "urllib.request.Request", deadline: float) -> "_Outcome":
        loop = self.asyncio.get_running_loop()
        timer = _Timer(loop, deadline)
        try:
            status, retry_after = await self._exchange(loop, req, deadline, timer)
        except self.asyncio.CancelledError:
            if not timer.stop():
                raise  # the caller's cancellation
            outcome = _failed(TimeoutError("timed out"))
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome, sorted by _failed
            timer.stop()
            outcome = _failed(exc)
        else:
            timer.stop()
            outcome = _answered(status, retry_after)
        _trace(req, outcome.reason)
        return outcome

    async def _exchange(self, loop: "Any", req: "urllib.request.Request", deadline: float,
                        timer: "_Timer") -> "Tuple[int, Optional[str]]":
        """Send `req` on a kept or a new connection and read its answer: (status, Retry-After)."""
        proxy = self._proxy(req)
        origin = (req.type, req.host, proxy[0] if proxy else None)
        pool = self.pools.get(loop) or await self._new_pool(loop)
        took, conn = pool.take(origin)
        if not took:
            conn = await pool.acquire(origin)
        kept = None
        try:
            if conn is not None:
                try:
                    status, retry_after, kept = await self._roundtrip(conn, req, proxy, deadline, timer, reused=True)
                    return status, retry_after
                except _IdleClose as idle:  # as in _Handler.exchange: a GET goes again, a POST read counts
                    conn.abort()
                    conn = None
                    if idle.read and req.get_method() != "GET":
                        raise idle.error from None
            conn = await self._connect(loop, req, proxy)
            status, retry_after, kept = await self._roundtrip(conn, req, proxy, deadline, timer, reused=False)
            return status, retry_after
        finally:
            if conn is not None and kept is None:
                conn.abort()  # not to be kept, or in an unknown state (cancelled, broken): closed at once
            pool.release(origin, kept)

    def _proxy(self, req: "urllib.request.Request") -> "Optional[Tuple[str, int, Optional[str]]]":
        """(host, port, Proxy-Authorization) of the environment's proxy for this request, or None: routed as
        Client routes it (_Routes), but for a proxy spoken to over TLS, which AsyncClient cannot do."""
        route = self._routes.find(req.type, req.host)
        if route is None:
            return None
        kind, where, auth = route
        if kind not in ("http", "https") or (kind == "https" and req.type == "http"):
            raise _BadSetting("a proxy setting with a scheme AsyncClient cannot speak: %s" % kind)
        from urllib.parse import urlsplit

        parts = urlsplit("//" + where)
        try:
            port = parts.port or 80
        except ValueError:
            raise _BadSetting("a proxy setting with a bad port") from None
        if not parts.hostname:
            raise _BadSetting("a proxy setting with no host")
        return parts.hostname, port, auth

    async def _connect(self, loop: "Any", req: "urllib.request.Request",
                       proxy: "Optional[Tuple[str, int, Optional[str]]]") -> "_AsyncConnection":
        """A new connection for `req`: to the origin, or to the proxy (tunnelled by CONNECT for https)."""
        from urllib.parse import urlsplit

        answer_class = _asyncio_kit()[1]
        where = urlsplit("//" + req.host)
        host, port = where.hostname or "", where.port or (443 if req.type == "https" else 80)
        sock = await self._open_socket(loop, proxy[0] if proxy else host, proxy[1] if proxy else port)
        answer = answer_class()
        try:
            tunnel = bool(proxy) and req.type == "https"
            context = None
            if req.type == "https":
                context = self.context
                if context is None:
                    import ssl

                    context = self.context = ssl.create_default_context()  # system store, or SSL_CERT_FILE
            if tunnel or context is None:
                await loop.create_connection(lambda: answer, sock=sock)
            else:
                await loop.create_connection(lambda: answer, sock=sock, ssl=context, server_hostname=host)
            if tunnel:
                await self._tunnel(answer, host, port, proxy[2])  # type: ignore[index]
                transport = await loop.start_tls(answer.transport, answer, context, server_hostname=host)
                answer.transport = transport
        except BaseException:
            if answer.transport is not None:
                answer.transport.abort()
            else:
                sock.close()
            raise
        return _AsyncConnection(answer, tunnel)

    async def _tunnel(self, answer: "Any", host: str, port: int, auth: "Optional[str]") -> None:
        """CONNECT host:port through the proxy, as Client's connections do."""
        answer.transport.write(_connect_bytes(host, port, auth))
        _check_tunnel(await answer.head())

    async def _open_socket(self, loop: "Any", host: str, port: int) -> "socket.socket":
        """A connected socket, the addresses tried in turn, the next beside a slow one after 0.25 s."""
        import asyncio
        import socket

        addresses = await self._resolve(loop, host, port)
        if not addresses:
            raise OSError("getaddrinfo returned no address for %s" % host)
        tries: List[Any] = []
        error: Optional[BaseException] = None
        try:
            while addresses or tries:
                if addresses:
                    family, kind, proto, _, address = addresses.pop(0)
                    sock = socket.socket(family, kind, proto)
                    sock.setblocking(False)
                    tries.append((loop.create_task(loop.sock_connect(sock, address)), sock))
                done, _ = await asyncio.wait([task for task, _ in tries], timeout=_NEXT_ADDRESS if addresses else None,
                                             return_when=asyncio.FIRST_COMPLETED)
                for task, sock in list(tries):
                    if task in done:
                        tries.remove((task, sock))
                        if task.exception() is None:
                            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                            return sock  # type: ignore[no-any-return]
                        error = task.exception()
                        sock.close()
            raise error or OSError("cannot connect to %s" % host)
        finally:
            for task, _ in tries:  # the slower ones, or all when cancelled
                task.cancel()
            if tries:
                await asyncio.wait([task for task, _ in tries])
            for _, sock in tries:
                sock.close()

    async def _resolve(self, loop: "Any", host: str, port: int) -> "List[Any]":
        """getaddrinfo in the lookup helper thread that Client uses too (never the loop's executor: a resolver
        that hangs would hold one of its threads, and asyncio.run's end, for as long)."""
        address = _address(host, port)
        if address is not None:
            return address
        answered = loop.create_future()

        def tell(lookup: "_Lookup") -> None:  # in the helper thread
            try:  # noqa: SIM105 - contextlib.suppress would import contextlib
                loop.call_soon_threadsafe(lambda: answered.done() or answered.set_result(lookup))
            except RuntimeError:  # the loop is closed: nobody waits
                pass

        _lookup(host, port).then(tell)
        lookup: _Lookup = await answered
        return list(lookup.answer(host))

    async def _roundtrip(self, conn: "_AsyncConnection", req: "urllib.request.Request",
                         proxy: "Optional[Tuple[str, int, Optional[str]]]", deadline: float, timer: "_Timer",
                         reused: bool) -> "Tuple[int, Optional[str], Optional[_AsyncConnection]]":
        """One request on `conn`, its answer read: (status, Retry-After, conn if it can be kept)."""
        answer = conn.answer
        data = _request_bytes(req, absolute=bool(proxy) and not conn.tunnel, proxy_auth=proxy[2] if proxy else None)
        sent = False
        try:
            _left(deadline)  # nothing is sent once the deadline has passed
            answer.transport.write(data)
            if answer.paused is not None:
                await answer.paused
            sent = True
            head = await answer.head()
        except (ConnectionError, OSError) as exc:
            if reused:
                raise _IdleClose(exc, read=sent) from None
            raise
        status, length, chunked, close, retry_after = _parse_head(head)
        if length is not None and len(answer.buffer) >= length and length <= _MAX_BODY:  # the body is in
            del answer.buffer[:length]
            return status, retry_after, (None if close else conn)
        # The status line decides; the body is read for keep-alive only, for at most 0.25 s.
        timer.move(min(deadline, time.monotonic() + _BODY_GRACE))
        try:
            await _read_body(answer, length, chunked)
        except self.asyncio.CancelledError:
            if not timer.fired:
                raise
            timer.stop()
            return status, retry_after, None  # a stalled body costs the connection, not the push
        except Exception:  # noqa: BLE001 - a body cut short: only the connection is lost
            return status, retry_after, None
        return status, retry_after, (None if close else conn)


async def _read_body(answer: "Any", length: "Optional[int]", chunked: bool) -> None:
    """Read and drop an answer's body (_body_end says where it ends); one without a length or chunks runs
    to the end of the connection."""
    while True:
        end = _body_end(answer.buffer, length, chunked)
        if end is not None:
            del answer.buffer[:end]
            return
        try:
            await answer.more()
        except ConnectionError:
            if length is None and not chunked:
                return
            raise


def _trace(req: "urllib.request.Request", outcome: str) -> None:
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
    import collections  # noqa: F401
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
# ---------------------------------------------------------------------------
# 5. Client: configuration, push and set_attribute, stats, close; launch and the module's push
# ---------------------------------------------------------------------------

class _Stats:
    """What became of a client's events (stats()): each count an itertools.count.

    next() on an itertools.count is one C call, atomic under the GIL, so the push path
    takes no lock for its counts.  A snapshot reads the settled counts before `events`,
    so that `pending`, the rest, is never below zero.
    """

    __slots__ = ("__weakref__", "accepted", "events", "invalid", "not_accepted", "refused_queue_full", "requests",
                 "retries")
    accepted: "Iterator[int]"
    events: "Iterator[int]"
    invalid: "Iterator[int]"
    not_accepted: "Iterator[int]"
    refused_queue_full: "Iterator[int]"
    requests: "Iterator[int]"
    retries: "Iterator[int]"

    def __init__(self) -> None:
        self.after_fork()
        _life.add("counts", self)

    def after_fork(self) -> None:
        """From zero (in a forked child: what the parent counted is the parent's)."""
        import itertools

        for name in self.__slots__[1:]:
            setattr(self, name, itertools.count())

    def snapshot(self) -> "Dict[str, int]":
        counts = {name: _count_of(getattr(self, name)) for name in ("accepted", "not_accepted", "events", "invalid",
                                                                    "refused_queue_full", "requests", "retries")}
        counts["pending"] = counts["events"] - counts["accepted"] - counts["not_accepted"]
        return counts


def _add(counter: "Iterator[int]", n: int) -> None:
    """Advance an itertools.count by n, in C: atomic under the GIL, as next() is."""
    if n == 1:
        next(counter)
    elif n > 1:
        import collections
        import itertools

        collections.deque(itertools.islice(counter, n), maxlen=0)


def _count_of(counter: "Iterator[int]") -> int:
    """Where an itertools.count stands, read from its repr ("count(42)") without advancing it."""
    return int(repr(counter)[6:-1])


_DRY_RUN = None  # the outcome of a request a dry run shows instead of sending (made with the first)


class _Sender:
    """What a client sends with, and all that batch mode and push_many see of it: send a request, post events.

    It holds the transport, the retry settings and the counts, and no reference to its
    client, so that a batch sender thread never keeps a dropped client alive.  Tests
    replace `_sleep` and `_jitter`.
    """

    def __init__(self, wire: "_Wire", transport: "_Transport", host: str, timeout: float, retries: int, backoff: float,
                 dry_run: bool, counts: "_Stats") -> None:
        import random

        self.wire, self.transport, self.host, self.counts = wire, transport, host, counts
        self.timeout, self.retries, self.backoff, self.dry_run = timeout, retries, backoff, dry_run
        self._random = random.random

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _jitter(self) -> float:
        return 0.5 + self._random() / 2

    def send(self, req: "urllib.request.Request", deadline: float,
             transport: "Optional[_Transport]" = None) -> "_Outcome":
        """One request, retried as the rule says until `deadline` (a dry run shows it instead)."""
        if self.dry_run:
            return _dry_run(req)
        return _deliver((transport or self.transport).attempt, req, deadline, self.retries, self.backoff,
                        self._sleep, self._jitter, self.counts)

    def post(self, events: "List[str]", stop_by: "Optional[float]" = None, transport: "Optional[_Transport]" = None,
             count: bool = True) -> "List[Tuple[int, int, _Outcome]]":
        """POST events through batch-events, within one timeout (and by `stop_by`); a 413 splits them in halves.

        Returns (start, end, outcome) for events[start:end] of each request made, and counts them
        (unless the caller counts them itself: a spool counts only its own client's events).
        """
        url, body, headers = self.wire.batch(events)
        deadline = time.monotonic() + self.timeout
        if stop_by is not None:
            deadline = min(deadline, stop_by)
        outcome = self.send(_request(url, body, headers, self.host), deadline, transport)
        if outcome.status == 413 and len(events) > 1:  # too large: each half goes on its own
            half = len(events) // 2
            first = self.post(events[:half], stop_by, transport, count)
            return first + [(start + half, end + half, o) for start, end, o in self.post(events[half:], stop_by,
                                                                                           transport, count)]
        if count:
            _add(self.counts.accepted if outcome.accepted else self.counts.not_accepted, len(events))
        if not outcome.accepted:
            _log().warning("batch of %d event(s) not accepted: %s", len(events), outcome.reason)
        return [(0, len(events), outcome)]


def _dry_run(req: "urllib.request.Request") -> "_Outcome":
    """What a dry run does instead of sending: show the request; its outcome says so."""
    global _DRY_RUN
    _show(req)
    _DRY_RUN = _DRY_RUN or _Outcome(200, False, "dry run: not sent")
    return _DRY_RUN


def _show(req: "urllib.request.Request") -> None:
    """A dry run's output: each request it would send, at INFO on the vwo_push logger (the key hidden).

    The record carries the request's text, redacted, as `vwo_push_request`: the command line
    prints it on stdout.
    """
    logger = _logger or _log()
    if logger.isEnabledFor(20):  # logging.INFO; nobody listening, nothing made
        body = "" if req.data is None else "\n" + bytes(req.data).decode("ascii")  # type: ignore[arg-type]
        text = _redact("%s %s%s" % (req.get_method(), req.full_url, body))
        logger.info("dry run: %s", text, extra={"vwo_push_request": text})


class _Account:
    """What Client and AsyncClient share: the checked configuration, and building requests from calls."""

    _fme: bool
    _timeout: float

    def _configure(self, options: "Dict[str, Any]") -> None:
        """Check every setting, then take shape: nothing is made before all of them passed.

        Raises ValueError naming the setting; a key passed in the wrong place is never shown.
        """
        sdk_key = options["sdk_key"]
        try:
            self._check(options)
        except ValueError as exc:
            raise ValueError(_redact(str(exc), sdk_key if isinstance(sdk_key, str) else "")) from None

    def _check(self, options: "Dict[str, Any]") -> None:
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
        batch = _check_batch_events(options.get("batch_events"))
        import random
        import weakref

        options.update(account_id=account_id, timeout=timeout, backoff=backoff, batch_events=batch)
        self._options = options
        self._fme, self._event_arch, self._dry_run = fme, event_arch, dry_run
        self._timeout, self._retries, self._backoff = timeout, retries, backoff
        self._host = host
        self._random = random.random
        self._wire = _Wire(account_id, sdk_key, endpoint + prefix, fme)
        self._value_problem = _typed_problem if fme else _text_problem
        self._counts = _Stats()
        # The key is hidden in every record while anything that may log it lives: the wire's
        # users (a batch sender may outlive its client).
        _remember_secret(sdk_key)
        weakref.finalize(self._wire, _forget_secret, sdk_key).atexit = False

    def __repr__(self) -> str:
        options = self._options
        return _redact("vwo_push.%s(account_id=%s, sdk_key=%r, fme=%r, event_arch=%r, endpoint=%r, "
                       "collection_prefix=%r, dry_run=%r%s)" % (
                           type(self).__name__, options["account_id"], _REDACTED, self._fme, self._event_arch,
                           options["endpoint"], options["collection_prefix"], self._dry_run, self._repr_more()))

    def _repr_more(self) -> str:
        return ""

    # Hook that tests replace: the wall clock, for timestamps.
    def _now(self) -> float:
        return time.time()

    def stats(self) -> "Dict[str, int]":
        """What became of every event this client was given, counted since it was made.

        Returns:
            events (given, valid), accepted (VWO answered 2xx), not_accepted (refused, failed
            after retries, or dropped), pending (queued or in flight), refused_queue_full,
            invalid (calls refused for invalid input), requests and retries (HTTP attempts).
            events == accepted + not_accepted + pending, at every moment.
        """
        return self._counts.snapshot()

    @overload
    def build_requests(self, custom_dimension_key: str, custom_dimension_value: str,
                       user_id: str) -> "List[urllib.request.Request]": ...

    @overload
    def build_requests(self, custom_dimension_map: "Mapping[str, str]",  # noqa: F811
                       user_id: str) -> "List[urllib.request.Request]": ...

    def build_requests(self, *args: "Any", **kwargs: "Any") -> "List[urllib.request.Request]":  # noqa: F811
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
        if self._options.get("batch_events") is not None:
            url, body, headers = self._wire.batch(self._events(who, pairs))
            return [_request(url, body, headers, self._host)]
        return [req for _, _, req in self._requests(who, pairs)]

    def _read(self, kind: str, args: "Sequence[object]",
              kwargs: "Dict[str, Any]") -> "Tuple[Any, List[Tuple[str, Any]]]":
        """The checked user (FME: context) and pairs of a call; raises TypeError or ValueError."""
        if kind == "set_attribute" and not self._fme:
            raise ValueError("set_attribute needs a client made with fme=True")
        who, pairs, name, single = _call_form(kind, args, kwargs)
        problem = self._value_problem
        for number, (_, value) in enumerate(pairs, 1):
            text = None if _plain(value) else problem(value)
            if text is not None:
                raise ValueError("%s %s" % (name if single else "the value of pair #%d of %s" % (number, name), text))
        if self._fme and kind == "push":
            who = (who, None, None, 0)
        return who, pairs

    def _requests(self, who: "Any",
                  pairs: "List[Tuple[str, Any]]") -> "List[Tuple[List[str], int, urllib.request.Request]]":
        """The requests of one call, each with the keys and the number of events it carries."""
        wire, now, host = self._wire, self._now(), self._host
        if self._fme:
            url, body, headers = wire.fme_event(wire.visitor_id(who[0]), pairs, who, now, self._random())
            return [([key for key, _ in pairs], 1, _request(url, body, headers, host))]
        u = wire.visitor_id(who)
        if self._event_arch:
            url, body = wire.event_arch(u, pairs, now, self._random())
            return [([key for key, _ in pairs], len(pairs), _request(url, body, None, host))]
        return [([key], 1, _request(wire.push_url(u, key, value, now, self._random()), None, None, host))
                for key, value in pairs]

    def _events(self, who: "Any", pairs: "List[Tuple[str, Any]]") -> "List[str]":
        """The batch events of one call: one a pair (FME: one a call, as the FME SDK queues them)."""
        wire, now = self._wire, self._now()
        if self._fme:
            return [wire.fme_body(wire.visitor_id(who[0]), pairs, who, int(now * 1000))]
        u, sid = wire.visitor_id(who), int(now)
        return [wire.batch_event(u, key, value, sid) for key, value in pairs]

    def _take(self, kind: str, args: "Sequence[object]", kwargs: "Dict[str, Any]",
              refusal: str) -> "Optional[Tuple[Any, List[Tuple[str, Any]], int]]":
        """A call of push or set_attribute, counted: (who, pairs, events), or None when refused (a WARNING)."""
        try:
            who, pairs = self._read(kind, args, kwargs)
        except Exception as exc:  # noqa: BLE001 - the edge: whatever the arguments did, nothing was sent
            next(self._counts.invalid)
            _log().warning("%s not sent: %s", kind, _error_text(exc))
            return None
        n = 1 if self._fme else len(pairs)
        if n == 1:  # next() inline: per push
            next(self._counts.events)
        else:
            _add(self._counts.events, n)
        if refusal:
            self._unsent(kind, n, refusal)
            return None
        return who, pairs, n

    def _unsent(self, kind: str, n: int, why: str) -> bool:
        """A call's n events that will not go: counted not accepted, a WARNING says why."""
        _add(self._counts.not_accepted, n)
        _log().warning("%s not sent: %s", kind, why)
        return False


class Client(_Account):
    """Pushes custom dimensions (or, with fme=True, FME visitor attributes) for one VWO account.

    A client may be shared by threads; it keeps connections open between requests, so
    close() it, or use `with`, when done.  It pickles as its configuration, so it can be
    handed to a process pool, where it opens its own connections.
    """

    def __init__(self, account_id: "Union[int, str]", sdk_key: str, *, event_arch: bool = False, fme: bool = False,
                 collection_prefix: "Optional[str]" = None, endpoint: "Optional[str]" = None, timeout: float = 10.0,
                 retries: int = 3, backoff: float = 0.5, dry_run: bool = False,
                 ssl_context: "Optional[ssl.SSLContext]" = None,
                 batch_events: "Optional[Mapping[str, Any]]" = None) -> None:
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
        self._configure({"account_id": account_id, "sdk_key": sdk_key, "event_arch": event_arch, "fme": fme,
                         "collection_prefix": collection_prefix, "endpoint": endpoint, "timeout": timeout,
                         "retries": retries, "backoff": backoff, "dry_run": dry_run, "ssl_context": ssl_context,
                         "batch_events": batch_events})
        options = self._options
        transport = _Transport(_Pool(), options["ssl_context"])
        self._sender = _Sender(self._wire, transport, self._host, self._timeout, self._retries, self._backoff,
                               self._dry_run, self._counts)
        self._closed = self._opted_out = False
        self._batcher: Optional[_Batcher] = None
        if options["batch_events"] is not None:
            import weakref

            spooled = options["batch_events"]["spool"] is not None
            self._batcher = (_Spool if spooled else _Batcher)(self._sender, options["batch_events"])
            weakref.finalize(self, self._batcher.release).atexit = False  # at exit, the registry sends

    def _repr_more(self) -> str:
        return ", batch_mode=%r" % (self._batcher is not None)

    def __getstate__(self) -> "Dict[str, Any]":
        """What pickles: the configuration, never a connection or the queue."""
        if self._options["ssl_context"] is not None:
            raise TypeError("a Client with an ssl_context cannot be pickled (an SSLContext cannot cross "
                            "processes); set SSL_CERT_FILE in the environment instead")
        return {name: value for name, value in self._options.items() if name != "ssl_context"}

    def __setstate__(self, state: "Dict[str, Any]") -> None:
        Client.__init__(self, **state)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the public calls -------------------------------------------------------------

    @overload
    def push(self, custom_dimension_key: str, custom_dimension_value: str, user_id: str) -> bool: ...

    @overload
    def push(self, custom_dimension_map: "Mapping[str, str]", user_id: str) -> bool: ...  # noqa: F811

    @overload
    def push(self, *, tag_key: str, tag_value: str, user_id: str) -> bool: ...  # noqa: F811

    def push(self, *args: "Any", **kwargs: "Any") -> bool:  # noqa: F811
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
    def set_attribute(self, attribute_key: str, attribute_value: "_Value", context: "Mapping[str, Any]") -> bool: ...

    @overload
    def set_attribute(  # noqa: F811
            self, attribute_map: "Mapping[str, _Value]", context: "Mapping[str, Any]") -> bool: ...

    def set_attribute(self, *args: "Any", **kwargs: "Any") -> bool:  # noqa: F811
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

    def push_many(self, rows: "Iterable[_Row]", *, batch_size: int = 1000,
                  on_failure: "Optional[Callable[[_Row, str], object]]" = None,
                  concurrency: int = 1) -> "PushManyResult":
        """Push many (user_id, key, value) rows through VWO's batch-events endpoint.

        Rows are read lazily and sent `batch_size` events a request, so memory stays flat
        whatever their number (`concurrency` batches at most); `timeout` bounds each batch.
        Network trouble never raises: it makes rows not accepted.

        Args:
            rows: an iterable of (user_id, key, value) sequences, or of mappings with those
                names (a csv.DictReader works).  Anything else is an invalid row, never sent.
                If iterating raises, the rows read so far are sent (and failures reported)
                before the exception propagates; on KeyboardInterrupt (or any BaseException)
                nothing more is sent, and every row not known to be accepted is reported.
            batch_size: events a request, 1 to 5000.
            on_failure: called as on_failure(row, reason) for each row not accepted, in the
                order of the rows; without it those rows are kept in the result's `failures`.
            concurrency: batches in flight at once, each on its own connection, 1 to 16.

        Returns:
            A PushManyResult counting the rows accepted and not accepted.

        Raises:
            ValueError: batch_size or concurrency is out of range, or the client is closed.
        """
        batch_size = _check_int("batch_size", batch_size, 1, _MAX_BATCH)
        concurrency = _check_int("concurrency", concurrency, 1, _MAX_CONCURRENCY)
        if self._closed:
            raise ValueError("the client is closed")
        if self._opted_out:
            return _refuse_rows(rows, on_failure, "not sent: the client opted out (set_opt_out)")
        return _push_many(self._sender, self._value_problem, rows, batch_size, on_failure, concurrency, self._now)

    def flush(self, timeout: "Optional[float]" = None) -> bool:
        """Batch mode: send what is queued now (waiting for a batch in flight).

        Args:
            timeout: seconds that bound the whole flush; None gives each batch the client's timeout.

        Returns:
            True when every event queued before the call was accepted (True when none was);
            False after set_opt_out().
        """
        if timeout is not None:
            timeout = _check_number("timeout", timeout, low=0, high=86400, low_ok=True)
        if self._opted_out:
            return False
        return True if self._batcher is None else self._batcher.flush(timeout)

    def flush_events(self, mode: str = "sync") -> bool:
        """The official SDK's flush_events: "sync" flushes as flush(); "async" asks the sender and returns True."""
        if mode not in ("sync", "async"):
            raise ValueError("mode must be 'sync' or 'async'")
        if mode == "async" and self._batcher is not None and not self._opted_out:
            self._batcher.ask()
            return True
        return self.flush()

    def set_opt_out(self) -> bool:
        """The official SDK's opt-out: from now on nothing is queued or sent.

        push, set_attribute and flush return False, push_many reports every row not
        accepted; what was queued is dropped and counted as not accepted.

        Returns:
            True.
        """
        self._opted_out = True
        if self._batcher is not None:
            self._batcher.discard("the client opted out (set_opt_out)")
        self._sender.transport.pool.close()
        return True

    def close(self) -> None:
        """Send what is queued (batch mode, within `timeout`), then close idle connections.

        Later pushes return False.  Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        if self._batcher is not None:
            self._batcher.close()
        self._sender.transport.pool.close()

    # -- from a call to the wire ----------------------------------------------------------

    def _submit(self, kind: str, args: "Sequence[object]", kwargs: "Dict[str, Any]") -> bool:
        """push and set_attribute: validate, then queue (batch mode) or send; never raises."""
        call = self._take(kind, args, kwargs, "the client is closed" if self._closed else
                          "the client opted out" if self._opted_out else "")
        if call is None:
            return False
        who, pairs, n = call
        if self._batcher is not None:
            try:
                events = self._events(who, pairs)
            except Exception as exc:  # noqa: BLE001 - the edge again
                return self._unsent(kind, n, _error_text(exc))
            return self._batcher.put(events)
        deadline = time.monotonic() + self._timeout
        outcomes: List[Tuple[List[str], int, _Outcome]] = []
        try:
            for keys, count, req in self._requests(who, pairs):
                outcomes.append((keys, count, self._sender.send(req, deadline)))
        except BaseException as exc:  # the edge again: an unexpected error is a False, not a crash
            _settle(kind, self._counts, n, outcomes, exc)
            if not isinstance(exc, Exception):  # Ctrl-C goes on, after the accounts
                raise
            return False
        return _settle(kind, self._counts, n, outcomes)


def _settle(kind: str, counts: "_Stats", n: int, outcomes: "List[Tuple[List[str], int, _Outcome]]",
            broke: "Optional[BaseException]" = None) -> bool:
    """A push's accounts once its requests are over, or broke off: its n events counted accepted or
    not (those with no outcome not), and one WARNING for what was not accepted."""
    settled, failed = 0, []
    for keys, events, outcome in outcomes:
        settled += events
        if outcome.accepted:
            if events == 1:  # next() inline: per push
                next(counts.accepted)
            else:
                _add(counts.accepted, events)
        else:
            _add(counts.not_accepted, events)
            failed.append((keys, outcome.reason))
    if broke is not None:  # a crash, or a cancellation
        _add(counts.not_accepted, n - settled)
        if isinstance(broke, Exception):
            _log().warning("%s failed: %s", kind, _error_text(broke))
        return False
    if failed:
        keys = [key for some, _ in failed for key in some]
        _log().warning("%s not accepted (%d of %d request(s)); keys %s: %s", kind, len(failed), len(outcomes),
                       ", ".join(map(repr, keys)), failed[0][1])
        return False
    return True


class AsyncClient(_Account):
    """Pushes for asyncio apps (FastAPI, aiohttp, Starlette): `await client.push(...)`, the loop never blocked.

    The options of Client but batch_events; the same call forms, validation and requests.
    Connections are kept alive per client and event loop: `aclose()` (or `async with`) in
    the loop that used them.  An AsyncClient is not pickled: make one in each process.
    """

    def __init__(self, account_id: "Union[int, str]", sdk_key: str, *, event_arch: bool = False, fme: bool = False,
                 collection_prefix: "Optional[str]" = None, endpoint: "Optional[str]" = None, timeout: float = 10.0,
                 retries: int = 3, backoff: float = 0.5, dry_run: bool = False,
                 ssl_context: "Optional[ssl.SSLContext]" = None) -> None:
        """Check the configuration; nothing is sent, no connection opened, asyncio not yet imported.

        Args: as Client's, but batch_events (for fire-and-forget from async code, a batch-mode
        Client's push never waits on the network).

        Raises:
            ValueError: a setting is out of its range; the message says which, never the key.
        """
        self._configure({"account_id": account_id, "sdk_key": sdk_key, "event_arch": event_arch, "fme": fme,
                         "collection_prefix": collection_prefix, "endpoint": endpoint, "timeout": timeout,
                         "retries": retries, "backoff": backoff, "dry_run": dry_run, "ssl_context": ssl_context})
        self._transport = _AsyncTransport(ssl_context)
        self._closed = False

    def __getstate__(self) -> "Dict[str, Any]":
        raise TypeError("an AsyncClient is not pickled (its connections belong to an event loop): make one in "
                        "each process, or hand a Client to a process pool")

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # Hooks that tests replace: sleeping between attempts, and jitter.
    async def _sleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(seconds)

    def _jitter(self) -> float:
        return 0.5 + self._random() / 2

    # -- the public calls -------------------------------------------------------------

    @overload
    async def push(self, custom_dimension_key: str, custom_dimension_value: str, user_id: str) -> bool: ...

    @overload
    async def push(self, custom_dimension_map: "Mapping[str, str]", user_id: str) -> bool: ...  # noqa: F811

    @overload
    async def push(self, *, tag_key: str, tag_value: str, user_id: str) -> bool: ...  # noqa: F811

    async def push(self, *args: "Any", **kwargs: "Any") -> bool:  # noqa: F811
        """Client.push, awaited: True only when VWO answered 2xx to every request; never raises, except
        asyncio.CancelledError when the push is cancelled (its connection is closed, nothing leaks)."""
        return await self._submit("push", args, kwargs)

    @overload
    async def set_attribute(self, attribute_key: str, attribute_value: "_Value",
                            context: "Mapping[str, Any]") -> bool: ...

    @overload
    async def set_attribute(  # noqa: F811
            self, attribute_map: "Mapping[str, _Value]", context: "Mapping[str, Any]") -> bool: ...

    async def set_attribute(self, *args: "Any", **kwargs: "Any") -> bool:  # noqa: F811
        """Client.set_attribute (fme=True clients), awaited."""
        return await self._submit("set_attribute", args, kwargs)

    async def aclose(self) -> None:
        """Close the connections kept for the running loop, at once (no TLS close_notify is waited for).

        Later pushes return False.  Idempotent.
        """
        import asyncio

        self._closed = True
        pool = self._transport.pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.keeper.aclose()

    async def _submit(self, kind: str, args: "Sequence[object]", kwargs: "Dict[str, Any]") -> bool:
        call = self._take(kind, args, kwargs, "the client is closed" if self._closed else "")
        if call is None:
            return False
        who, pairs, n = call
        deadline = time.monotonic() + self._timeout
        outcomes: List[Tuple[List[str], int, _Outcome]] = []
        try:
            for keys, count, req in self._requests(who, pairs):
                outcomes.append((keys, count, await self._send(req, deadline)))
        except BaseException as exc:  # the edge; a cancellation goes on, after its accounts
            _settle(kind, self._counts, n, outcomes, exc)
            if not isinstance(exc, Exception):
                raise
            return False
        return _settle(kind, self._counts, n, outcomes)

    async def _send(self, req: "urllib.request.Request", deadline: float) -> "_Outcome":
        """One request, retried as the rule says until `deadline` (a dry run shows it instead)."""
        if self._dry_run:
            return _dry_run(req)
        attempt, counts, tries = self._transport.attempt, self._counts, 0
        while True:
            if tries:
                next(counts.retries)
            next(counts.requests)
            wait, outcome = _next_try(await attempt(req, deadline), tries, self._retries, self._backoff,
                                      self._jitter, deadline)
            if wait is None:
                return outcome
            await self._sleep(wait)
            tries += 1


_LAUNCH_IGNORED = ("user_storage", "goal_type_to_track", "integrations")  # the SDK's, not about push


def launch(settings_file: "Union[str, bytes, Mapping[str, Any]]", **options: "Any") -> "Client":
    """A Client configured from a VWO settings file, as the official SDK's launch.

    Args:
        settings_file: the settings JSON (str or bytes) or its dict: accountId, sdkKey,
            isEventArchEnabled, collectionPrefix.
        **options: Client options, which override the settings; is_development_mode=
            means dry_run=; batch_events= as in the official SDK; log_level= (an int or a
            level name) sets the `vwo_push` logger's level; logger= (an object with
            log(level, message)) gets its records, redacted; user_storage=,
            goal_type_to_track= and integrations= are accepted and ignored.

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
    for name, option in (("accountId", "account_id"), ("sdkKey", "sdk_key")):
        if settings.get(name) is None and option not in options:
            raise ValueError("the settings have no %s" % name)
    if "is_development_mode" in options:
        if "dry_run" in options:
            raise TypeError("launch() got both is_development_mode and dry_run")
        options["dry_run"] = options.pop("is_development_mode")
    ignored = [name for name in _LAUNCH_IGNORED if name in options]
    for name in ignored:
        del options[name]
    level = _log_level(options.pop("log_level", None))
    target = options.pop("logger", None)
    if target is not None and not callable(getattr(target, "log", None)):
        raise ValueError("logger must be an object with a log(level, message) method")
    event_arch = settings.get("isEventArchEnabled")
    if event_arch not in (None, True, False):
        raise ValueError("isEventArchEnabled must be true or false")
    config: Dict[str, Any] = {"account_id": settings.get("accountId"), "sdk_key": settings.get("sdkKey"),
                              "collection_prefix": settings.get("collectionPrefix") or None}
    if not options.get("fme"):  # a FullStack setting; FME clients have no event architecture
        config["event_arch"] = event_arch is True
    config.update(options)
    client = Client(**config)
    logger = _log()
    if level is not None:
        logger.setLevel(level)
    if target is not None and not any(getattr(h, "target", None) is target for h in logger.handlers):
        logger.addHandler(_HandTo(target))  # type: ignore[arg-type]  # a handler by duck typing
    if ignored:
        logger.debug("launch: %s ignored: they do not concern push", ", ".join(ignored))
    return client


def _log_level(level: object) -> "Optional[int]":
    """launch(log_level=...): a logging level, as an int or a name such as "DEBUG"."""
    if level is None or (isinstance(level, int) and not isinstance(level, bool) and level >= 0):
        return level
    if isinstance(level, str):
        import logging

        number = logging.getLevelName(level.upper())
        if isinstance(number, int):
            return number
    raise ValueError("log_level must be a logging level (an int, or a name such as 'DEBUG'), got %s"
                     % _shown(level))


class _HandTo:
    """launch(logger=obj): each record of the vwo_push logger, already redacted, handed to obj.log(level, message)."""

    level = 0

    def __init__(self, target: "Any") -> None:
        self.target = target

    def handle(self, record: "logging.LogRecord") -> bool:
        try:  # noqa: SIM105 - contextlib.suppress would import contextlib
            self.target.log(record.levelno, record.getMessage())
        except Exception:  # noqa: BLE001 - a logger that breaks must not break a push; logging that would recurse
            pass
        return True


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


_ENVIRONMENT: "Tuple[Tuple[str, str, Optional[Callable[[str, str], Any]]], ...]" = (
    ("account_id", "VWO_ACCOUNT_ID", None), ("sdk_key", "VWO_SDK_KEY", None),
    ("event_arch", "VWO_EVENT_ARCH", _env_flag), ("fme", "VWO_FME", _env_flag),
    ("collection_prefix", "VWO_COLLECTION_PREFIX", None), ("endpoint", "VWO_ENDPOINT", None),
    ("timeout", "VWO_TIMEOUT", _env_seconds))


def _options_from_environment(given: "Dict[str, Any]") -> "Dict[str, Any]":
    """Client options from the VWO_* variables; one that `given` sets is not read at all (it wins)."""
    options = {name: value for name, value in given.items() if value is not None}
    for name, variable, parse in _ENVIRONMENT:
        text = os.environ.get(variable, "").strip()
        if name not in options and text:
            options[name] = parse(variable, text) if parse else text
    return options


_default_client: "Optional[Client]" = None


def push(*args: "Any", **kwargs: "Any") -> bool:
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
# 6. Background sending: the batcher (batch mode), and what runs at exit and after fork
# ---------------------------------------------------------------------------

class _Flush:
    """One flush under way: it waits for every event up to `last`; `ok` until one of them is not accepted."""

    __slots__ = ("last", "ok")

    def __init__(self, last: int) -> None:
        self.last, self.ok = last, True


class _Batcher:
    """Batch mode: one queue, one sender thread, and flushes that wait for a mark that only moves forward.

    Events are numbered as they are queued.  The sender thread alone takes batches off the
    queue's head and sends them, in order, when events_per_request are queued, when the
    oldest has waited request_time_interval, or when a flush asks; it always waits with a
    bound while events wait, and is woken when the queue goes from empty to not empty.
    `_done` is the number of the first event whose batch is not over, so a flush waits for
    it to pass its last event and never sends itself.  flush_callback runs after the mark
    has moved, outside anything a flush waits on; a flush or close called from inside it,
    on the sender thread, sends there, since that thread is the sender.  The batcher knows
    its client only as a _Sender, so that its thread never keeps a dropped client alive.
    """

    def __init__(self, sender: "_Sender", options: "Dict[str, Any]") -> None:
        self._sender = sender
        self._counts = sender.counts
        self._per_request: int = options["events_per_request"]
        self._interval: float = options["request_time_interval"]
        self._callback: Optional[Callable[[Optional[Exception], List[Dict[str, Any]]], object]] = \
            options["flush_callback"]
        self._max: int = options["max_queue_size"]
        self.timeout = sender.timeout
        self._reset()
        _life.add("batcher", self)

    def _reset(self) -> None:
        import collections
        import threading

        self._lock = threading.Lock()  # put() takes it as is (in C): per push
        self._cond = threading.Condition(self._lock)
        self._queue: Deque[Tuple[int, float, str]] = collections.deque()  # (number, time queued, event JSON)
        self._next = 0  # the number of the next event queued
        self._done = 0  # the first event whose batch is not over (all below are)
        self._flush_to = -1  # the sender does not wait to fill a batch of events up to this number
        self._flushes: List[_Flush] = []
        self._thread: Optional[threading.Thread] = None
        self._in_flight = 0  # events of the batch in flight
        self._refusing = ""  # why put() refuses (closed, opted out...), once it does
        self._ending = False  # the sender sends what is queued without waiting, then ends
        self._stop_by: Optional[float] = None  # and what is still queued then is dropped
        self._why_stop = ""
        self._overflow = 0  # events refused in the current overflow spell
        self._owner_gone = False

    def after_fork(self) -> None:
        """In a forked child: the parent's queue is the parent's to send; no thread, nothing queued."""
        self._reset()

    # -- the client's side ----------------------------------------------------------------

    def put(self, events: "List[str]") -> bool:
        """Queue a call's events, all or none: False when refused (a WARNING says why)."""
        if self._thread is None:
            self._start()
        with self._lock:
            refusing = self._refusing
            full = not refusing and len(self._queue) + len(events) > self._max
            if not refusing and not full:
                was_empty = not self._queue
                now = time.monotonic()
                for event in events:
                    self._queue.append((self._next, now, event))
                    self._next += 1
                if was_empty or len(self._queue) >= self._per_request:
                    self._cond.notify()
                overflow, self._overflow = self._overflow, 0
            elif full:
                self._overflow += len(events)
                overflow = self._overflow
        n = len(events)
        if refusing:
            _add(self._counts.not_accepted, n)
            _log().warning("push not sent: %s", refusing)
            return False
        if full:
            _add(self._counts.not_accepted, n)
            _add(self._counts.refused_queue_full, n)
            if overflow == n:  # the first refusal of this spell
                _log().warning("batch queue full (%d events): push refused, and refused until there is room",
                               self._max)
            return False
        if overflow:
            _log().warning("batch queue has room again; %d event(s) were refused while it was full", overflow)
        return True

    def _start(self) -> None:
        """Start the sender thread, once; its imports are done first (see _prepare_imports)."""
        _prepare_imports()
        import threading

        with self._cond:
            if self._thread is not None or self._refusing:
                return
            thread = threading.Thread(target=self._run, name="vwo_push batch sender", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no new threads while the interpreter shuts down: nothing would send
                self._refusing = "the interpreter is shutting down: no thread can send the batch queue"
                return
            self._thread = thread

    def ask(self) -> None:
        """Ask the sender to send everything queued now, without waiting for it."""
        with self._cond:
            self._flush_to = self._next - 1
            self._cond.notify()

    def flush(self, timeout: "Optional[float]") -> bool:
        """Wait until every event queued before the call is over: True when all were accepted."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._on_sender_thread():
            return self._send_here(self._next - 1, deadline)
        with self._cond:
            flush = _Flush(self._next - 1)
            if self._done > flush.last:
                return True
            self._flushes.append(flush)
            self._flush_to = max(self._flush_to, flush.last)
            self._cond.notify()
            try:
                while self._done <= flush.last:
                    if self._thread is None:  # pragma: no cover - events wait, with no sender: cannot happen
                        return False
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left)
                return flush.ok
            finally:
                self._flushes.remove(flush)

    def close(self) -> None:
        """No more events; what is queued goes within the client's timeout, then the sender ends."""
        self.stop(time.monotonic() + self.timeout, "at close(): the time ran out", "the client is closed")
        if self._on_sender_thread():
            self._send_here(self._next - 1, self._stop_by)
            return
        self.join(self._stop_by or 0.0)
        self.leftover()

    def stop(self, deadline: float, why: str, refusing: str) -> None:
        """Refuse new events, send the queued ones now, and drop what is still queued at `deadline` (`why`)."""
        with self._cond:
            if self._stop_by is None or deadline < self._stop_by:
                self._stop_by, self._why_stop = deadline, why
            self._refusing = self._refusing or refusing
            self._ending = True
            self._cond.notify()

    def join(self, deadline: float) -> None:
        thread = self._thread
        if thread is not None and not self._on_sender_thread():
            thread.join(max(0.0, deadline - time.monotonic()) + _BODY_GRACE)

    def leftover(self) -> None:
        """After a stop: drop what the sender could not send in time, and say what is still in flight."""
        with self._cond:
            dropped = self._drop()
            in_flight = self._in_flight
        self._dropped(dropped, self._why_stop)
        if in_flight:
            _log().warning("%d event(s) still in flight %s: not known to be accepted", in_flight, self._why_stop)

    def discard(self, why: str) -> None:
        """set_opt_out(): refuse new events; drop the queued ones (a batch in flight ends as it will)."""
        with self._cond:
            self._refusing = why
            self._ending = True
            dropped = self._drop()
            self._cond.notify()
        self._dropped(dropped, "(%s)" % why)

    def release(self) -> None:
        """The client was dropped without close(): send what is queued, then end, closing the connections."""
        with self._cond:
            self._owner_gone = self._ending = True
            self._refusing = self._refusing or "the client is gone"
            idle = self._thread is None
            self._cond.notify()
        if idle:
            self._sender.transport.pool.close()

    def busy(self) -> bool:
        """Whether there is anything to send or settle (at exit)."""
        return bool(self._queue or self._in_flight)

    # -- the sender's side -----------------------------------------------------------------

    def _run(self) -> None:
        """The sender thread: take a batch, send it, settle it; end once told to and nothing is left."""
        try:
            while True:
                with self._cond:
                    batch, dropped = self._take()
                self._dropped(dropped, self._why_stop)
                if batch is None:
                    return
                if batch:
                    self._send(batch)
        finally:
            with self._cond:
                self._thread = None
                self._cond.notify_all()
            if self._owner_gone:
                self._sender.transport.pool.close()

    def _take(self) -> "Tuple[Optional[List[Tuple[int, float, str]]], List[str]]":
        """Under the lock: the next batch, waited for with a bound (None: the sender ends), and what was dropped."""
        while True:
            queue = self._queue
            now = time.monotonic()
            if queue and self._stop_by is not None and now >= self._stop_by:
                return [], self._drop()
            if queue:
                due = queue[0][1] + self._interval
                if len(queue) >= self._per_request or queue[0][0] <= self._flush_to or self._ending or now >= due:
                    batch = [queue.popleft() for _ in range(min(len(queue), self._per_request))]
                    self._in_flight = len(batch)
                    return batch, []
                self._cond.wait(due - now)
            elif self._ending:
                return None, []
            else:
                self._cond.wait()  # nothing waits to be sent: woken by the next push, a close or the owner's end

    def _send(self, batch: "List[Tuple[int, float, str]]") -> bool:
        """Send a batch, move the mark past it, then tell flush_callback: True when all was accepted."""
        events = [event for _, _, event in batch]
        try:
            outcomes = self._sender.post(events, self._stop_by)
        except Exception as exc:  # noqa: BLE001 - nothing stops the sender
            outcomes = [(0, len(events), _Outcome(0, False, _error_text(exc)))]
            _add(self._counts.not_accepted, len(events))
            _log().warning("batch of %d event(s) not sent: %s", len(events), outcomes[0][2].reason)
        with self._cond:
            self._in_flight = 0
            self._done = self._queue[0][0] if self._queue else self._next
            for start, _, outcome in outcomes:
                if not outcome.accepted:
                    self._failed_from(batch[start][0])
            self._cond.notify_all()
        if self._callback is not None:
            self._report(events, outcomes)
        return all(outcome.accepted for _, _, outcome in outcomes)

    def _report(self, events: "List[str]", outcomes: "List[Tuple[int, int, _Outcome]]") -> None:
        import json

        for start, end, outcome in outcomes:
            try:
                self._callback(None if outcome.accepted else RuntimeError(outcome.reason),  # type: ignore[misc]
                               [json.loads(event) for event in events[start:end]])
            except Exception as exc:  # noqa: BLE001 - a callback's error is logged, never stops the sender
                _log().warning("flush_callback raised %s", _error_text(exc))

    def _send_here(self, last: int, deadline: "Optional[float]") -> bool:
        """A flush or close on the sender thread (from flush_callback): send up to `last` here."""
        ok = True
        while True:
            with self._cond:
                queue = self._queue
                if not queue or queue[0][0] > last or (deadline is not None and time.monotonic() >= deadline):
                    return ok and not (queue and queue[0][0] <= last)
                batch = [queue.popleft() for _ in range(min(len(queue), self._per_request))]
                self._in_flight = len(batch)
            ok = self._send(batch) and ok

    def _drop(self) -> "List[str]":
        """Under the lock: take every queued event off the queue, as over and not accepted."""
        if not self._queue:
            return []
        self._failed_from(self._queue[0][0])
        dropped = [event for _, _, event in self._queue]
        self._queue.clear()
        if not self._in_flight:
            self._done = self._next
        self._cond.notify_all()
        return dropped

    def _dropped(self, dropped: "List[str]", why: str) -> None:
        if dropped:
            _add(self._counts.not_accepted, len(dropped))
            _log().warning("%d queued event(s) not sent %s", len(dropped), why)

    def _failed_from(self, number: int) -> None:
        """Under the lock: the flushes waiting for event `number` will not see all accepted."""
        for flush in self._flushes:
            if number <= flush.last:
                flush.ok = False

    def _on_sender_thread(self) -> bool:
        return self._thread is not None and self._thread.ident == _thread.get_ident()


class _Spool(_Batcher):
    """Batch mode through an SQLite file (batch_events={"spool": PATH}): nothing lost when the process dies.

    push returns True once its events are committed to the file.  The sender claims a batch
    (a row of vwo_push_claims: a token of this process, and the ids it covers), sends it,
    then marks the claim done (accepted, or refused for good: a 4xx) or lets its rows go
    with a backoff (no network, a server error, a setting to fix: they are tried again
    later).  Rows of done claims are deleted a thousand or so at a time, so that a push
    seldom waits behind a delete.  Several processes may share the file; a claim whose
    process died, or older than any batch can take, is taken over: after a kill, at most
    the batches then in flight are sent twice.  WAL mode with synchronous=NORMAL: a commit
    survives the process (SIGKILL, OOM, a deploy); whether it survives a power loss is the
    disk's affair, up to the last checkpoint.  stats() counts this client's own events:
    those it leaves in the file stay pending, and are sent (uncounted) by whoever opens the
    file next.
    """

    _SWEEP = 1000  # rows of done claims deleted together
    _FREE = "NOT EXISTS (SELECT 1 FROM vwo_push_claims c WHERE c.target = e.target AND e.id BETWEEN c.lo AND c.hi)"
    _NOT_OVER = ("NOT EXISTS (SELECT 1 FROM vwo_push_claims c WHERE c.target = e.target AND c.done = 1 AND "
                 "e.id BETWEEN c.lo AND c.hi)")
    _IN_FLIGHT = ("EXISTS (SELECT 1 FROM vwo_push_claims c WHERE c.target = e.target AND c.done = 0 AND "
                  "e.id BETWEEN c.lo AND c.hi)")

    def __init__(self, sender: "_Sender", options: "Dict[str, Any]") -> None:
        import hashlib

        self.path: str = options["spool"]
        wire = sender.wire
        batch_url = wire.fme_batch_url if wire.fme else wire.batch_url
        self._target = hashlib.sha1(batch_url.encode()).hexdigest()[:20]  # the account, endpoint and key, opaque
        super().__init__(sender, options)
        self._lease = self.timeout + _BODY_GRACE + 30.0  # past it, a claim is over, whatever its process does
        if self._writer() is not None and self._spooled(None):
            self._asked += 1  # what earlier processes left goes now, not at the first push
            self._start()

    def _reset(self) -> None:
        super()._reset()
        import random

        self._token = "%d:%08x" % (os.getpid(), random.getrandbits(32))  # this client in this process
        self._db: Any = None  # the pushing threads' connection
        self._sdb: Any = None  # the sender's
        self._room = 0  # inserts left before the bound is looked at again
        self._new = 0  # events this process queued since the sender last looked
        self._left = 0  # free rows the sender's last look found and left (too few, not due): a batch's start
        self._more = False  # the last claim found more free rows than a batch
        self._stale_at = 0.0  # when claims of dead processes are next looked for (time.monotonic())
        self._asked = self._answered = 0  # forced passes over the file (flush, close, exit) asked and done
        self._done_rows = 0  # rows of done claims not yet deleted
        self._floor = 0  # the last id claimed here: the free rows are mostly past it
        self._retry_at: Optional[float] = None  # when the earliest batch let go with a backoff is due again

    def after_fork(self) -> None:
        """In a forked child: connections of its own (the parent's are kept, untouched, never closed here)."""
        _forked_away.extend(connection for connection in (self._db, self._sdb) if connection is not None)
        super().after_fork()

    # -- the file -------------------------------------------------------------------------

    def _connect(self) -> "Any":
        import sqlite3

        with _sqlite_lock:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            try:
                self._schema(db)
            except BaseException:
                db.close()
                raise
        return db

    @staticmethod
    def _schema(db: "Any") -> None:
        db.execute("PRAGMA page_size=1024")  # for a new file: each commit writes a page, and rows are small
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # AUTOINCREMENT: an id is never given twice (without it, SQLite gives the largest ids again once
        # they are deleted), so that a sender's new rows are those past its last claim.
        db.execute("CREATE TABLE IF NOT EXISTS vwo_push_events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "target TEXT NOT NULL, queued REAL NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, "
                   "event TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0, "
                   "tried REAL NOT NULL DEFAULT 0)")
        db.execute("CREATE TABLE IF NOT EXISTS vwo_push_claims (target TEXT NOT NULL, lo INTEGER NOT NULL, "
                   "hi INTEGER NOT NULL, claim TEXT NOT NULL, claimed REAL NOT NULL, done INTEGER NOT NULL)")
        # "Is this row claimed?" is asked of every free row: the claims that end at or after it, found by index.
        db.execute("CREATE INDEX IF NOT EXISTS vwo_push_claims_hi ON vwo_push_claims (target, hi)")

    def _writer(self) -> "Any":
        """The pushing threads' connection, opened on first use (None, with a WARNING, when it cannot be).

        It never checkpoints (copies the log into the file, with an fsync): a push would pay for it
        now and then.  The sender does, after each batch.
        """
        if self._db is None:
            try:
                self._db = self._connect()
                self._db.execute("PRAGMA wal_autocheckpoint=0")
            except Exception as exc:  # noqa: BLE001 - sqlite3.Error or OSError: the spool cannot be used now
                _log().warning("batch spool %s cannot be opened: %s", self.path, _error_text(exc))
        return self._db

    def _spooled(self, origin: "Optional[str]", last: "Optional[int]" = None, in_flight: bool = False) -> int:
        """Events in the file not over yet (or, `in_flight`, in a batch being sent): this account's, or
        `origin`'s (up to its event `last`, when given).

        When the file cannot be read: 0 (nothing this client can send) or, counting its own, 1 (not known).
        """
        where = "e.target = ?" if origin is None else "e.origin = ?" + ("" if last is None else " AND e.seq <= ?")
        args = (self._target if origin is None else origin,) + (() if last is None else (last,))
        which = self._IN_FLIGHT if in_flight else self._NOT_OVER
        try:
            with _sqlite_lock:
                row = self._db.execute("SELECT count(*) FROM vwo_push_events e WHERE %s AND %s"
                                       % (where, which), args).fetchone()
        except Exception:  # noqa: BLE001 - cannot be read now
            return 0 if origin is None else 1
        return int(row[0])

    # -- the client's side ----------------------------------------------------------------

    def put(self, events: "List[str]") -> bool:
        """Commit a call's events to the file, all or none: False when refused or the file cannot be written."""
        if self._thread is None:
            self._start()
        n = len(events)
        refusing = self._refusing
        if not refusing:
            try:
                if not _sqlite_lock.acquire(False):  # the sender writes: it gives this push its turn next
                    _pushes_waiting.append(None)
                    try:
                        _sqlite_lock.acquire()
                    finally:
                        _pushes_waiting.pop()
                try:
                    refusing = self._insert(events)
                finally:
                    _sqlite_lock.release()
            except Exception as exc:  # noqa: BLE001 - disk full, read-only, locked past the time bound
                refusing = "the batch spool %s cannot be written: %s" % (self.path, _error_text(exc))
        if refusing:
            _add(self._counts.not_accepted, n)
            if refusing == "full":
                _add(self._counts.refused_queue_full, n)
                self._overflow += n
                if self._overflow == n:
                    _log().warning("batch spool full (%d events): push refused, and refused until there is room",
                                   self._max)
            else:
                _log().warning("push not sent: %s", refusing)
            return False
        if self._overflow:
            _log().warning("batch spool has room again; %d event(s) were refused while it was full", self._overflow)
            self._overflow = 0
        new = self._new = self._new + n  # a hint for the sender's wake-up, read under its lock
        # The sender is woken by the first event since it looked, and by the one that may make a full
        # batch with those it found and left (counted twice if it saw some of these: early, never late).
        left = self._left
        if new == n or new + left >= self._per_request > new + left - n:
            with self._cond:
                self._cond.notify()
        return True

    def _insert(self, events: "List[str]") -> str:
        """Under the writers' lock: the events in the file, committed; or why not ("full")."""
        db = self._writer()
        if db is None:
            return "the batch spool %s cannot be opened" % self.path
        if self._room < len(events):
            # The bound, looked at every hundred inserts: ids grow by one, and rows leave from the oldest.
            ends = db.execute("SELECT (SELECT max(id) FROM vwo_push_events), "
                              "(SELECT min(id) FROM vwo_push_events)").fetchone()
            held = 0 if ends[0] is None else ends[0] - ends[1] + 1
            self._room = min(self._max - held, 100)
            if self._room < len(events):
                return "full"
        now, first = time.time(), self._next
        self._next += len(events)
        rows = [(self._target, now, self._token, first + i, event) for i, event in enumerate(events)]
        insert = "INSERT INTO vwo_push_events (target, queued, origin, seq, event) VALUES (?, ?, ?, ?, ?)"
        if len(rows) == 1:
            db.execute(insert, rows[0])  # a statement of its own is a transaction of its own
        else:
            with _transaction(db):
                db.executemany(insert, rows)
        self._room -= len(events)
        return ""

    def flush(self, timeout: "Optional[float]") -> bool:
        """A forced pass over the file: True when none of this client's events queued before the call is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = self._next - 1
        if self._on_sender_thread():  # from flush_callback: the sender is here
            return self._send_here(last, deadline)
        if self._thread is None:
            self._start()
        with self._cond:
            self._asked += 1
            asked = self._asked
            self._cond.notify()
            while self._answered < asked and self._thread is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return self._settled(last, deadline)

    def _settled(self, last: int, deadline: "Optional[float]") -> bool:
        """Whether this client's events up to `last` are all over; those another process is sending are
        waited for (a batch takes at most its timeout), those let go with a backoff are not."""
        deadline = time.monotonic() + self.timeout + _BODY_GRACE if deadline is None else deadline
        while self._db is not None:
            left = self._spooled(self._token, last)
            if left == 0:
                return True
            if self._spooled(self._token, last, in_flight=True) == 0 or time.monotonic() >= deadline:
                return False
            time.sleep(0.05)  # another process's sender has them: no event crosses processes
        return False

    def ask(self) -> None:
        with self._cond:
            self._asked += 1
            self._cond.notify()

    def discard(self, why: str) -> None:
        """set_opt_out(): refuse new events; delete this client's events from the file (not those in flight)."""
        with self._cond:
            self._refusing = why
            self._ending = True
            self._cond.notify()
        dropped = 0
        if self._writer() is not None:
            try:
                with _sqlite_lock:
                    dropped = self._db.execute("DELETE FROM vwo_push_events WHERE id IN (SELECT e.id FROM "
                                               "vwo_push_events e WHERE e.origin = ? AND %s)" % self._FREE,
                                               (self._token,)).rowcount
            except Exception as exc:  # noqa: BLE001 - they stay, and go when the file can be written
                _log().warning("batch spool %s cannot be written: %s", self.path, _error_text(exc))
        if dropped:
            _add(self._counts.not_accepted, dropped)
            _log().warning("%d spooled event(s) not sent (%s)", dropped, why)

    def leftover(self) -> None:
        """After a stop: what could not go stays in the file, for the next client that opens it."""
        left = self._spooled(self._token) if self._db is not None else 0
        if left:
            _log().warning("%d event(s) not sent %s: they stay in the spool %s for the next client that opens it",
                           left, self._why_stop, self.path)

    def busy(self) -> bool:
        return self._thread is not None

    def close(self) -> None:
        super().close()
        if self._db is not None and not self._on_sender_thread():
            with _sqlite_lock:
                self._db.close()
                self._db = None

    # -- the sender's side -----------------------------------------------------------------

    def _run(self) -> None:
        """The sender thread, on a connection of its own: a turn over the file when due, asked, or ending."""
        try:
            while True:
                with self._cond:
                    self._new = self._left = 0  # what is pushed from now on wakes the sender again
                wait = self._turn()
                with self._cond:
                    if self._asked > self._answered or self._new + self._left >= self._per_request:
                        continue
                    if self._ending:
                        return  # after a forced pass: what could not go stays in the file
                    if wait is None and self._new:
                        wait = self._interval  # pushed since the file was looked at: due by then at the latest
                    # Other processes' events (a dead one's, say) are looked for at least once a minute.
                    self._cond.wait(min(60.0 if wait is None else wait, 60.0))
        finally:
            if self._sdb is not None:
                with _sender_writes:
                    self._sdb.close()
                self._sdb = None
            with self._cond:
                self._thread = None
                self._answered = self._asked
                self._cond.notify_all()
            if self._owner_gone:
                self._sender.transport.pool.close()

    def _turn(self) -> "Optional[float]":
        """One wake of the sender: a forced pass when asked (or ending), else the batches due; how long it
        may sleep after (None: nothing waits)."""
        try:
            if self._sdb is None:
                self._sdb = self._connect()
                self._sweep(self._sdb)  # what processes before this one had done (one killed before its sweep)
            db = self._sdb
            if time.monotonic() >= self._stale_at:  # at most once a second: a push seldom waits behind it
                self._free_stale(db)
                self._stale_at = time.monotonic() + 1.0
            with self._cond:
                asked, forced = self._asked, self._asked > self._answered or self._ending
            self._pass(db, self._stop_by if forced else None, time.time(), due_only=not forced)
            if forced:
                if self._done_rows:  # a flushed spool has room for the next push at once
                    self._sweep(db)
                with self._cond:
                    self._answered = max(self._answered, asked)
                    self._cond.notify_all()
            if self._done_rows and not self._new and not self._new_rows(db):  # idle: the done rows go now
                self._sweep(db)
            return self._due_in(db)
        except Exception as exc:  # noqa: BLE001 - a file locked past the time bound, full, gone: tried again
            _log().warning("batch spool %s cannot be used now: %s", self.path, _error_text(exc))
            with self._cond:
                self._answered = self._asked  # the flushes waiting learn it from what is left in the file
                self._cond.notify_all()
            return 5.0

    def _send_here(self, last: int, deadline: "Optional[float]") -> bool:
        """A flush or close on the sender thread (from flush_callback): a forced pass, here."""
        self._pass(self._sdb, deadline, time.time(), due_only=False)
        return self._spooled(self._token, last) == 0  # (not waiting for other processes: this is their sender)

    def _pass(self, db: "Any", deadline: "Optional[float]", before: float, due_only: bool) -> None:
        """Send the free rows (the due ones, unless forced), a batch at a time, until `deadline`."""
        while deadline is None or time.monotonic() < deadline:
            batch = self._claim(db, before, due_only)
            if batch is None:
                continue  # another process claimed some of them meanwhile: look again
            if not batch:
                return
            self._settle(db, batch)
            if due_only and not self._more and self._new < self._per_request:
                return  # no full batch is known to wait: a look now would most likely find none

    def _claim(self, db: "Any", before: float, due_only: bool) -> "Optional[List[Tuple[int, str, str]]]":
        """Claim the next batch of this account's free rows: (id, origin, event) each; [] when none (is due).

        Due rows: their backoff over (next_try by `before`), and a full batch or the oldest past
        its interval.  Forced (a flush, a close): every free row not tried since `before`.  A claim
        covers ids lo to hi, so its rows are the account's every row in that span.
        """
        now = time.time()
        for floor in (self._floor, 0) if self._floor else (0,):  # past the last claim first: the new rows are there
            rows = self._read(db, "SELECT e.id, e.origin, e.queued, e.event FROM vwo_push_events e WHERE "
                                  "e.target = ? AND e.id > ? AND %s AND %s ORDER BY e.id LIMIT ?"
                              % ("e.next_try <= ?" if due_only else "e.tried < ?", self._FREE),
                              (self._target, floor, before, self._per_request + 1))
            if rows:
                break
        self._more = len(rows) > self._per_request  # more than a batch waits: the sender looks again at once
        del rows[self._per_request:]
        if not rows or (due_only and len(rows) < self._per_request and rows[0][2] + self._interval > now):
            self._left = len(rows)
            return []
        with _sqlite_reads:
            span = [row_id for (row_id,) in db.execute("SELECT id FROM vwo_push_events WHERE target = ? AND id >= ? "
                                                       "AND id <= ? ORDER BY id",
                                                       (self._target, rows[0][0], rows[-1][0]))]
        kept = 0
        while kept < len(rows) and span[kept] == rows[kept][0]:  # up to the first row it may not take
            kept += 1
        rows = rows[:kept]
        lo, hi = rows[0][0], rows[-1][0]
        with _sender_writes, _transaction(db):
            clash = db.execute("SELECT 1 FROM vwo_push_claims WHERE target = ? AND lo <= ? AND hi >= ? LIMIT 1",
                               (self._target, hi, lo)).fetchone()
            there = db.execute("SELECT count(*) FROM vwo_push_events WHERE target = ? AND id >= ? AND id <= ?",
                               (self._target, lo, hi)).fetchone()[0]
            if clash or there != len(rows):
                return None
            db.execute("INSERT INTO vwo_push_claims VALUES (?, ?, ?, ?, ?, 0)", (self._target, lo, hi, self._token,
                                                                                   now))
        self._floor = hi
        with self._cond:
            self._in_flight = len(rows)
        return [(row_id, origin, event) for row_id, origin, _, event in rows]

    @staticmethod
    def _read(db: "Any", query: str, args: "Tuple[Any, ...]") -> "List[Any]":
        """A query's rows, read a few at a time under the lock, so that a push may come in between."""
        with _sqlite_reads:
            cursor = db.execute(query, args)
        try:
            rows: List[Any] = []
            while True:
                with _sqlite_reads:
                    part = cursor.fetchmany(20)
                if not part:
                    return rows
                rows += part
        finally:
            with _sqlite_reads:
                cursor.close()

    def _free_stale(self, db: "Any") -> None:
        """Claims of processes that died, or older than any batch can take, are free again."""
        with _sqlite_reads:
            claims = db.execute("SELECT DISTINCT claim FROM vwo_push_claims WHERE target = ? AND done = 0",
                                (self._target,)).fetchall()
        dead = [claim for (claim,) in claims if claim != self._token and int(claim.split(":")[0]) != os.getpid()
                and not _alive(int(claim.split(":")[0]))]
        if claims:
            with _sender_writes, _transaction(db):
                for claim in dead:
                    db.execute("DELETE FROM vwo_push_claims WHERE claim = ? AND done = 0", (claim,))
                db.execute("DELETE FROM vwo_push_claims WHERE target = ? AND done = 0 AND claimed < ?",
                           (self._target, time.time() - self._lease))

    def _settle(self, db: "Any", batch: "List[Tuple[int, str, str]]") -> None:
        """Send a claimed batch; mark done what is over (accepted, or refused for good: a 4xx); let go, with a
        backoff, what could not go (no network, a server error, a setting to fix); then tell flush_callback."""
        events = [event for _, _, event in batch]
        try:
            outcomes = self._sender.post(events, self._stop_by, count=False)
        except Exception as exc:  # noqa: BLE001 - nothing stops the sender
            outcomes = [(0, len(events), _Outcome(0, True, _error_text(exc)))]
        mine, now = self._token, time.time()
        try:
            with _sender_writes, _transaction(db):
                db.execute("DELETE FROM vwo_push_claims WHERE claim = ? AND lo = ?", (mine, batch[0][0]))
                for start, end, outcome in outcomes:
                    rows = batch[start:end]
                    lo, hi = rows[0][0], rows[-1][0]
                    if outcome.accepted or (400 <= outcome.status < 500 and not outcome.retryable):
                        db.execute("INSERT INTO vwo_push_claims VALUES (?, ?, ?, ?, ?, 1)",
                                   (self._target, lo, hi, mine, now))
                        self._done_rows += len(rows)
                    else:
                        tries = db.execute("SELECT max(tries) FROM vwo_push_events WHERE target = ? AND id >= ? "
                                           "AND id <= ?", (self._target, lo, hi)).fetchone()[0] or 0
                        later = now + min(self._sender.backoff * 2 ** tries + 1.0, 300.0)
                        db.execute("UPDATE vwo_push_events SET tries = tries + 1, next_try = ?, tried = ? "
                                   "WHERE target = ? AND id >= ? AND id <= ?", (later, now, self._target, lo, hi))
                        self._retry_at = min(self._retry_at or later, later)
                        self._floor = 0  # it is behind the last claim now
        except Exception as exc:  # noqa: BLE001 - the claim lapses and the batch goes again: at least once
            _log().warning("batch spool %s cannot be written: %s", self.path, _error_text(exc))
        else:
            for start, end, outcome in outcomes:
                if outcome.accepted or (400 <= outcome.status < 500 and not outcome.retryable):
                    ours = sum(origin == mine for _, origin, _ in batch[start:end])
                    _add(self._counts.accepted if outcome.accepted else self._counts.not_accepted, ours)
        with self._cond:
            self._in_flight = 0
            self._cond.notify_all()
        if self._done_rows >= min(self._SWEEP, self._max // 10 + 1):  # done rows count towards the bound
            self._sweep(db)
        if self._callback is not None:
            self._report(events, outcomes)

    def _sweep(self, db: "Any") -> None:
        """Delete the rows of this account's done claims, then checkpoint (outside the writers' lock: it waits
        for the disk)."""
        with _sender_writes, _transaction(db):
            db.execute("DELETE FROM vwo_push_events WHERE id IN (SELECT e.id FROM vwo_push_events e JOIN "
                       "vwo_push_claims c ON c.target = e.target AND e.id BETWEEN c.lo AND c.hi WHERE "
                       "c.target = ? AND c.done = 1)", (self._target,))
            db.execute("DELETE FROM vwo_push_claims WHERE target = ? AND done = 1", (self._target,))
        self._done_rows = 0
        with _sqlite_reads:  # a push does not wait for its fsync: a PASSIVE checkpoint lets writers write
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _new_rows(self, db: "Any") -> bool:
        """Whether free rows wait past the last claim (those behind it, let go for a retry, do not keep a
        sweep waiting; a scan from the first row would look at every row done and not yet swept)."""
        with _sqlite_reads:
            return db.execute("SELECT 1 FROM vwo_push_events e WHERE e.target = ? AND e.id > ? AND %s LIMIT 1"
                              % self._FREE, (self._target, self._floor)).fetchone() is not None

    def _due_in(self, db: "Any") -> "Optional[float]":
        """Seconds until the next free row is due (the oldest's interval, or a backoff let go here ends): None
        when nothing waits.  Other processes' backoffs are found at the once-a-minute look."""
        now = time.time()
        if self._retry_at is not None and self._retry_at <= now:
            self._retry_at = None
        # Past the last claim first (the new rows are there), then from the start (another process's rows,
        # or rows let go for a retry, may stand below it), as _claim looks.
        for floor in (self._floor, 0) if self._floor else (0,):
            with _sqlite_reads:
                row = db.execute("SELECT e.queued FROM vwo_push_events e WHERE e.target = ? AND e.id > ? AND "
                                 "e.next_try <= ? AND %s ORDER BY e.id LIMIT 1" % self._FREE,
                                 (self._target, floor, now)).fetchone()
            if row is not None:
                break
        due = [when for when in (None if row is None else row[0] + self._interval, self._retry_at) if when is not None]
        return max(0.0, min(due) - now) if due else None


class _transaction:  # lower case: it reads as a function, in `with`
    """BEGIN IMMEDIATE ... COMMIT on an autocommit sqlite3 connection; ROLLBACK if the block raises."""

    def __init__(self, db: "Any") -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: "Any", *rest: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


_forked_away: "List[Any]" = []  # sqlite3 connections a forked child inherited: never used, never closed there

# Every call into SQLite holds one of two locks, and a fork waits for both: SQLite's own
# mutexes (its allocator's, its file table's) would be held for ever in a child forked while
# another thread was inside SQLite.  _sqlite_lock: every write, and every use of the pushing
# threads' connection (statements of one connection must not interleave: an autocommit insert
# is not committed while another statement of its connection reads).  _sqlite_reads: the
# sender's reads on its own connection, which a push does not wait for (in WAL mode a read
# and a write go on together).  Reentrant: a thread calls SQLite inside its own calls.  No
# thread takes _sqlite_lock while it holds _sqlite_reads; a fork takes them in that order.
_sqlite_lock = _thread.RLock()
_sqlite_reads = _thread.RLock()
_pushes_waiting: "List[None]" = []  # an entry a push waiting for _sqlite_lock (list.append and pop are atomic)


class _SenderWrites:
    """`with _sender_writes:` the sender's hold of _sqlite_lock, handed to a push that waits for it.

    A lock is not fair: the sender, running, would take it again before a push woken by its
    release has run, and the push would wait through several of the sender's writes.  When a
    push waits, the sender lets it go first (waiting 1 ms at most) before it goes on.
    """

    def __enter__(self) -> None:
        _sqlite_lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        _sqlite_lock.release()
        if _pushes_waiting and not _sqlite_lock._is_owned():  # type: ignore[attr-defined]  # (not nested)
            end = time.monotonic() + 0.001
            while _pushes_waiting and time.monotonic() < end:
                time.sleep(0.00005)  # the GIL goes: the push takes the lock, and takes itself off the list


_sender_writes = _SenderWrites()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, and is someone else's
        return True
    return True


class _Life:
    """What runs after os.fork() (in the child) and at interpreter exit, for every pool, batcher and count.

    One registry, in the order things must run: after a fork, lookups, pools, counts and
    batchers start afresh in the child; at exit, every batcher sends what it holds, all
    within the largest client timeout, then every pool closes its idle connections.
    """

    def __init__(self) -> None:
        self._kinds: Dict[str, Any] = {}  # kind -> WeakSet, made on first use
        self._exit_logs = False

    def add(self, kind: str, thing: "Any") -> None:
        if not self._kinds:
            import atexit
            import weakref

            for name in ("pool", "counts", "batcher", "async"):
                self._kinds[name] = weakref.WeakSet()
            atexit.register(self.at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(before=self.before_fork, after_in_parent=self.after_fork_in_parent,
                                    after_in_child=self.after_fork)
        if kind == "batcher" and not self._exit_logs:
            # Batchers log at exit: logging's own atexit handler must run after ours, and atexit
            # runs the last registered first.  Registered again, ours is now the last.
            import atexit

            _log()
            atexit.unregister(self.at_exit)
            atexit.register(self.at_exit)
            self._exit_logs = True
        self._kinds[kind].add(thing)

    def each(self, kind: str) -> "List[Any]":
        return list(self._kinds.get(kind, ()))

    def before_fork(self) -> None:
        """No thread is inside SQLite while the process forks (see _sqlite_lock)."""
        _sqlite_lock.acquire()
        _sqlite_reads.acquire()

    def after_fork_in_parent(self) -> None:
        _sqlite_reads.release()
        _sqlite_lock.release()

    def after_fork(self) -> None:
        """In the child: nothing of the parent's (socket, lock, lookup, queue, thread, count) is used."""
        global _lookups, _lookups_lock, _sqlite_lock, _sqlite_reads
        _lookups, _lookups_lock = {}, _thread.allocate_lock()
        _sqlite_lock, _sqlite_reads = _thread.RLock(), _thread.RLock()
        del _pushes_waiting[:]  # the parent's threads that waited are not here
        for kind in ("pool", "counts", "batcher", "async"):
            for thing in self.each(kind):
                thing.after_fork()

    def at_exit(self) -> None:
        """Send what every batcher holds, all within the largest timeout; then close idle connections."""
        batchers = [batcher for batcher in self.each("batcher") if batcher.busy()]
        if batchers:
            deadline = time.monotonic() + max(batcher.timeout for batcher in batchers)
            for batcher in batchers:
                batcher.stop(deadline, "at exit: the time ran out", "the interpreter is exiting")
            for batcher in batchers:
                batcher.join(deadline)
            for batcher in batchers:
                batcher.leftover()
        for pool in self.each("pool"):
            pool.close()


_life = _Life()


# ---------------------------------------------------------------------------
# 7. Bulk: push_many streams rows into batches, a few of them in flight at once
# ---------------------------------------------------------------------------

_MAX_CONCURRENCY = 16


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


def _row_fields(row: object) -> "Tuple[object, object, object]":
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


_INTERRUPTED_SENT = "interrupted: sent or about to be, not known to be accepted"
_INTERRUPTED_UNSENT = "interrupted: not sent"


class _Batch:
    """One request's worth of rows on its way: its rows and events, and the invalid rows in their places."""

    __slots__ = ("counted", "dispatched", "done", "events", "invalid", "known", "outcomes", "reported", "rows", "sent")

    def __init__(self) -> None:
        self.rows: List[_Row] = []  # the valid rows, one an event
        self.events: List[str] = []
        self.invalid: List[Tuple[int, _Row, str]] = []  # (events before it, row, reason)
        self.outcomes: Optional[List[Tuple[int, int, _Outcome]]] = None  # once its requests are over
        self.dispatched = False  # its events are counted in stats(), and it is on its way
        self.sent = False  # a sender began to send it: it may have arrived
        self.done: Optional[threading.Event] = None  # set when a sender thread is over with it
        self.counted = False  # its accepted rows are in the result, counted from `known`
        self.known: Optional[List[Tuple[int, int, _Outcome]]] = None  # the outcomes when it was first reported
        self.reported = 0  # how many of its failures were handed on

    def send(self, sender: "_Sender", transport: "_Transport") -> None:
        self.outcomes = sender.post(self.events, transport=transport)

    def count(self) -> int:
        """Its accepted rows, from the outcomes known now (none when interrupted before its answer), once."""
        self.counted, self.known = True, self.outcomes
        return sum(end - start for start, end, outcome in self.known or () if outcome.accepted)

    def failures(self) -> "List[Tuple[_Row, str]]":
        """The rows not accepted, in the order they came: invalid ones in their places."""
        if self.known is not None:
            failed = [(i, 1, self.rows[i], outcome.reason) for start, end, outcome in self.known
                      if not outcome.accepted for i in range(start, end)]
        else:  # interrupted before its answer
            reason = _INTERRUPTED_SENT if self.sent else _INTERRUPTED_UNSENT
            failed = [(i, 1, row, reason) for i, row in enumerate(self.rows)]
        if self.invalid:
            failed += [(before, 0, row, reason) for before, row, reason in self.invalid]
            failed.sort(key=lambda failure: failure[:2])
        return [(row, reason) for _, _, row, reason in failed]


def _push_many(sender: "_Sender", value_problem: "Callable[[object], Optional[str]]", rows: "Iterable[_Row]",
               batch_size: int, on_failure: "Optional[Callable[[_Row, str], object]]", concurrency: int,
               now: "Callable[[], float]") -> "PushManyResult":
    """push_many: read and check rows, build their events, send `concurrency` batches at a time, and
    report every row not accepted in the order the rows came."""
    import collections
    import queue
    import threading

    result = PushManyResult()
    counts, wire = sender.counts, sender.wire
    window: Deque[_Batch] = collections.deque()  # batches sent, not yet reported; oldest first
    transport = sender.transport
    if concurrency > 1:  # each batch in flight on its own connection, closed at the end
        transport = _Transport(_Pool(concurrency), sender.transport.handler.context)

    # With concurrency > 1, up to that many threads take the batches from `work` and send them,
    # each on its own connection: fewer threads to start, and the GIL changes hands less, than a
    # thread a batch.  Once `stopped` (Ctrl-C), they send nothing more.
    work: "queue.SimpleQueue[Optional[_Batch]]" = queue.SimpleQueue()
    threads: List[threading.Thread] = []
    lock, stopped = threading.Lock(), [False]

    def send_batches() -> None:
        for batch in iter(work.get, None):
            done = batch.done
            with lock:
                batch.sent = not stopped[0]
            try:
                if batch.sent:
                    batch.send(sender, transport)
            except Exception:  # noqa: BLE001  # pragma: no cover - never expected: post makes failures outcomes
                _log().exception("push_many: a batch could not be sent")  # and the thread goes on to the next
            finally:
                del batch  # dropped before it is over, not kept while the thread waits: memory holds
                done.set()  # type: ignore[union-attr]  # `concurrency` batches at most; each put has one

    def report(batch: "_Batch") -> None:
        """Hand on a batch's failures; resumable: a failure handed on is never handed on again."""
        if not batch.counted:
            result.accepted += batch.count()
        for row, reason in batch.failures()[batch.reported:]:
            try:
                if on_failure is None:
                    result.failures.append((row, reason))
                else:
                    on_failure(row, reason)
            finally:
                batch.reported += 1
                result.not_accepted += 1

    def settle() -> None:
        """Wait for the oldest batch and report it (it leaves the window only then: see the interruption below)."""
        batch = window[0]
        # Bounded waits: a signal that lands just before a wait blocks does not interrupt it (nor one
        # delivered to another thread); its handler runs when the wait returns, so within 0.1 s.
        while batch.done is not None and not batch.done.wait(0.1):
            pass
        report(batch)
        window.popleft()

    def dispatch(batch: "_Batch") -> None:
        while len(window) >= concurrency:
            settle()
        if batch.events:
            _add(counts.events, len(batch.events))
            batch.dispatched = True
            if concurrency == 1:
                batch.sent = True
                batch.send(sender, transport)
            else:
                batch.done = threading.Event()
                if len(threads) < concurrency:
                    threads.append(threading.Thread(target=send_batches, daemon=True, name="vwo_push push_many"))
                    threads[-1].start()
                work.put(batch)
        window.append(batch)
        if concurrency == 1:
            settle()

    fme, visitor_id, batch_event = wire.fme, wire.visitor_id, wire.batch_event
    batch = _Batch()
    events, valid = batch.events, batch.rows
    user: object = None  # exports list a user's rows together: the visitor id is made once for them
    u = ""
    stamp = now()
    sid = int(stamp)
    iterator = iter(rows)
    try:
        while True:
            try:
                row = next(iterator)
            except StopIteration:
                break
            except Exception:  # the rows broke off: what was read is sent and reported first
                dispatch(batch)
                while window:
                    settle()
                raise
            try:
                user_id, key, value = row if isinstance(row, (tuple, list)) and len(row) == 3 else _row_fields(row)
                if type(key) is not str or not 0 < len(key) <= _MAX_TEXT or not key.isascii() or key == _ENV_PROP:
                    _check_key(key, "key")
                if type(value) is not str or not 0 < len(value) <= _MAX_TEXT or not value.isascii():
                    _check(value, "value", value_problem(value))  # the fast test above is _plain, inlined: per row
                if type(user_id) is not str or user_id != user:
                    u = visitor_id(_checked_user(user_id))
                    user = user_id
            except Exception as exc:  # noqa: BLE001 - a row is whatever the caller's iterable gives
                next(counts.invalid)
                batch.invalid.append((len(events), row, "invalid row: %s" % _error_text(exc)))
                if len(batch.invalid) >= _MAX_BATCH:  # memory stays flat, whatever the rows hold
                    dispatch(batch)
                    batch, stamp = _Batch(), now()
                    events, valid, sid = batch.events, batch.rows, int(stamp)
                continue
            if fme:
                context: Any = (user_id, None, None, 0)
                events.append(wire.fme_body(u, [(key, value)], context, int(stamp * 1000)))  # type: ignore[list-item]
            else:
                events.append(batch_event(u, key, value, sid))  # type: ignore[arg-type]
            valid.append(row)
            if len(events) == batch_size:
                dispatch(batch)
                batch, stamp = _Batch(), now()
                events, valid, sid = batch.events, batch.rows, int(stamp)
        if batch.events or batch.invalid:
            dispatch(batch)
        batch = _Batch()
        while window:
            settle()
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C and the like: every row not known to be accepted is reported
            with lock:
                stopped[0] = True  # from now on, whether each batch was sent is known, and stays so
            for unsettled in [*window, batch] if batch not in window else window:
                if unsettled.dispatched and unsettled.outcomes is None and (concurrency == 1 or not unsettled.sent):
                    _add(counts.not_accepted, len(unsettled.events))  # no sender will count them
                report(unsettled)
        raise
    finally:
        for _ in threads:
            work.put(None)  # each thread ends once the batches before it are over
        if concurrency > 1:
            transport.pool.close()
    return result


def _refuse_rows(rows: "Iterable[_Row]", on_failure: "Optional[Callable[[_Row, str], object]]",
                 reason: str) -> "PushManyResult":
    """push_many after set_opt_out(): every row not accepted, for `reason`; nothing sent."""
    result = PushManyResult()
    for row in rows:
        result.not_accepted += 1
        if on_failure is None:
            result.failures.append((row, reason))
        else:
            on_failure(row, reason)
    return result


# ---------------------------------------------------------------------------
# 8. Command line: main(argv), on the public API, as a user's own script would use it
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
With --dry-run it checks the whole file and sends nothing (--verbose prints the requests).

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
    """stdout and stderr that never stop a run: once one is closed (`| head`), its output is dropped.

    On a terminal, stderr carries a progress line that each message writes over, and
    that the progress thread rewrites; a lock keeps their lines whole.
    """

    def __init__(self) -> None:
        self.closed: set[str] = set()
        self._lock = _thread.allocate_lock()
        try:
            self.tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            self.tty = False

    def write(self, name: str, text: str) -> None:
        stream = getattr(sys, name)
        if name in self.closed or stream is None:
            return
        with self._lock:
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


def _parser(output: "_Output") -> "Any":
    import argparse

    class Parser(argparse.ArgumentParser):
        def _print_message(self, message: str, file: "Any" = None) -> None:  # help and errors survive `| head`
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
    add("--dry-run", action="store_true", help="check and build, send nothing (prints the requests, except "
                                                "with --file, where --verbose does)")
    add("--batch-size", type=int, help="events a request with --file, 1 to 5000; default 1000")
    add("--concurrency", type=int, help="batches in flight at once with --file, 1 to 16; default 4")
    add("--failed", metavar="PATH", help="with --file: write the rows not accepted here, as they stood")
    add("--quiet", action="store_true", help="print nothing when everything was accepted")
    add("--verbose", action="store_true", help="print one line per request and its outcome")
    add("--version", action="version", version="vwo-push " + __version__)
    return parser


def main(argv: "Optional[Sequence[str]]" = None) -> int:
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
    handler = _CommandLineRecords(output, show_warnings=opts.verbose or opts.file is None,
                                  show_requests=opts.verbose or opts.file is None)
    logger.addHandler(handler)  # type: ignore[arg-type]  # a handler by duck typing: logging loads lazily
    logger.setLevel(logging.DEBUG if opts.verbose else logging.INFO)
    try:
        return _run(opts, output)
    except _Usage as exc:
        output.say(str(exc))
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a --file run (which settles its own accounts)
        output.say("interrupted")
        return 130
    finally:  # main may be called again in the same process: leave the logger as it was
        logger.setLevel(saved[0])
        logger.handlers[:] = saved[1]


class _CommandLineRecords:
    """The library's records on the command line: dry-run requests on stdout, the rest on stderr."""

    level = 0

    def __init__(self, output: "_Output", show_warnings: bool, show_requests: bool) -> None:
        self._output = output
        self._show_warnings = show_warnings  # --file reports rows itself; the library's warnings would repeat it
        self._show_requests = show_requests  # a dry run of a two-million-row file must not print 300 MB

    def handle(self, record: "logging.LogRecord") -> bool:
        if getattr(record, "vwo_push_request", None) is not None:
            if self._show_requests:
                self._output.write("stdout", record.vwo_push_request + "\n")  # type: ignore[attr-defined]
        elif self._show_warnings:
            self._output.say(record.getMessage())
        return True


def _run(opts: "Any", output: "_Output") -> int:
    if opts.quiet and opts.verbose:
        raise _Usage("--quiet and --verbose do not go together")
    if opts.file is None:
        if opts.failed is not None or opts.batch_size is not None or opts.concurrency is not None:
            raise _Usage("--failed, --batch-size and --concurrency go with --file")
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
            raise _Usage(_in_command_line_words(str(exc))) from None
        accepted = client.push(*call)
    if not accepted:
        output.say("not accepted")
        return 1
    if not opts.quiet:
        output.say("dry run: valid, nothing sent" if opts.dry_run else "accepted")
    return 0


# What the library's messages call an argument, as the command line calls it.
_WORDS = (("the key of pair #", "the KEY of KEY=VALUE #"), ("the value of pair #", "the VALUE of KEY=VALUE #"),
          (" of custom_dimension_map", ""), ("custom_dimension_map", "the KEY=VALUE arguments"),
          ("custom_dimension_key", "KEY"), ("custom_dimension_value", "VALUE"), ("user_id", "USER_ID"))


def _in_command_line_words(message: str) -> str:
    for python, words in _WORDS:
        message = message.replace(python, words)
    return message


def _command_line_call(opts: "Any") -> "Tuple[Any, ...]":
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


_SETTINGS = (("account_id", "--account-id", "VWO_ACCOUNT_ID"), ("sdk_key", "--sdk-key", "VWO_SDK_KEY"),
             ("collection_prefix", "--collection-prefix", "VWO_COLLECTION_PREFIX"),
             ("endpoint", "--endpoint", "VWO_ENDPOINT"), ("timeout", "--timeout", "VWO_TIMEOUT"),
             ("retries", "--retries", None))


def _command_line_client(opts: "Any") -> "Client":
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
        message = str(exc)
        for name, flag, variable in _SETTINGS:
            if message.startswith(name + " "):  # the setting's name, as the user gave it
                where = flag if given[name] is not None or variable is None else variable
                message = where + message[len(name):]
        raise _Usage(message) from None


# -- --file ----------------------------------------------------------------------------

class _BrokeOff(Exception):
    """The input cannot be read on from line `number` (bytes that are not UTF-8, a read error)."""

    def __init__(self, number: int, raw: bytes, reason: str) -> None:
        super().__init__(reason)
        self.number, self.raw = number, raw


class _Line(list):  # type: ignore[type-arg]
    """A row of the input as push_many takes it, [user_id, key, value], that knows its line.

    A list, not a tuple: a list's subclass can have slots, so a row costs no dict (per row).
    """

    __slots__ = ("number", "raw")
    number: int
    raw: bytes


class _Broken(list):  # type: ignore[type-arg]
    """A line that is no row (malformed CSV, not JSON...): push_many finds it invalid, in its place."""

    __slots__ = ("number", "problem", "raw")
    number: int
    problem: str
    raw: bytes


class _Input:
    """The rows of a --file input: one record a line, each known by its number and its raw bytes.

    JSON Lines when the first line starts with "{", or when it is no CSV header and a line
    among the next thousand starts with "{" (a failed file of JSON Lines may begin with a
    line that is not JSON); otherwise CSV, whose first line is its header.
    """

    def __init__(self, stream: "Any", name: str) -> None:
        import collections
        import stat

        self.stream = stream
        try:
            info = os.fstat(stream.fileno())
            self.size: Optional[int] = info.st_size if stat.S_ISREG(info.st_mode) and info.st_size else None
        except (OSError, ValueError, AttributeError):
            self.size = None  # stdin from a pipe, or no file at all: no share of the file to show
        try:
            first = stream.readline()
            text = first.decode("utf-8-sig")
        except OSError as exc:
            raise _Usage("cannot read %s: %s" % (name, exc.strerror or exc)) from None
        except UnicodeDecodeError:
            raise _Usage("%s is not UTF-8 text (its first line)" % name) from None
        if not text.strip():
            raise _Usage("%s is empty, or its first line is blank" % name)
        self.consumed = len(first)  # bytes read and handed on (for the share of the file read)
        self._ahead: Deque[bytes] = collections.deque()  # lines read ahead, not yet handed on
        self.jsonl = text.lstrip().startswith("{") or (
            _csv_header(text) is None and self._object_line_ahead())
        self.header: Optional[bytes] = None if self.jsonl else first
        self.number = 0 if self.jsonl else 1  # the number of the last line read
        if self.jsonl:
            self._ahead.appendleft(first)
            self.consumed = 0
        else:
            import csv

            # csv.reader is handed one line at a time: a quoted field that runs past its line then
            # finds no next line (IndexError) and costs that line only, instead of swallowing the next.
            self._feed: Deque[str] = collections.deque()
            self._csv = csv.reader(iter(self._feed.popleft, None), strict=True)
            self._csv_error = csv.Error
            self._field_limit = csv.field_size_limit()  # a longer field is malformed CSV
            self._columns, self._width = self._read_header(text.rstrip("\r\n"), name)
            self._as_is = self._columns == [0, 1, 2] and self._width == 3  # user_id,key,value: the fields are the row

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

    def _read_header(self, text: str, name: str) -> "Tuple[List[int], int]":
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

    def _read_ahead(self) -> "Iterator[bytes]":
        while self._ahead:
            yield self._ahead.popleft()

    def records(self) -> "Iterator[Union[_Line, _Broken]]":
        """Each line that is not blank, as a row (_Line) or as what is wrong with it (_Broken)."""
        import itertools

        lines = itertools.chain(self._read_ahead(), self.stream)  # the stream's own iterator: per line
        parse = self._json_row if self.jsonl else self._csv_row
        number = self.number
        while True:
            try:
                raw = next(lines, b"")
            except OSError as exc:
                raise _BrokeOff(number + 1, b"", "read error: %s" % (exc.strerror or exc)) from None
            if not raw:
                return
            self.number = number = number + 1
            self.consumed += len(raw)
            if not raw.strip():
                continue  # a blank line is not a row
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise _BrokeOff(number, raw, "bytes that are not UTF-8") from None
            if text[-1:] == "\n":
                text = text[:-2] if text[-2:] == "\r\n" else text[:-1]
            record: Any = parse(text)
            if type(record) is str:
                record, record.problem = _Broken(), record
            record.number, record.raw = number, raw
            yield record

    def rest(self) -> "Iterator[bytes]":
        """What is left of the input, raw: the lines read ahead, then the stream (OSError when it cannot be read)."""
        while self._ahead:
            yield self._ahead.popleft()
        read = getattr(self.stream, "read1", self.stream.read)  # what is there: a pipe may not fill 64 KiB soon
        while True:
            block = read(1 << 16)
            if not block:
                return
            yield block

    def _csv_row(self, text: str) -> "Union[_Line, str]":
        """The line's row, or what is wrong with it."""
        if '"' not in text and "\r" not in text and "\x00" not in text and len(text) <= self._field_limit:
            fields = text.split(",")  # what csv.reader makes of such a line, at a third of the cost: per row
        elif "\x00" in text:
            return "malformed CSV: the line holds a NUL byte"
        else:
            self._feed.append(text)
            try:
                fields = next(self._csv)
            except self._csv_error as exc:
                return "malformed CSV: %s" % exc
            except IndexError:  # a quote that runs past the line: csv.reader asked for the next one
                return "malformed CSV: unexpected end of data"
        if len(fields) != self._width:
            return "expected %d columns, got %d" % (self._width, len(fields))
        if self._as_is:
            return _Line(fields)
        user, key, value = self._columns
        return _Line((fields[user], fields[key], fields[value]))

    @staticmethod
    def _json_row(text: str) -> "Union[_Line, str]":
        """The line's row, or what is wrong with it."""
        import json

        try:
            record = json.loads(text)
        except ValueError as exc:
            return "not JSON: %s" % exc
        if not isinstance(record, dict) or not {"user_id", "key", "value"} <= record.keys():
            return 'expected {"user_id": ..., "key": ..., "value": ...}'
        user_id = record["user_id"]
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            user_id = str(user_id)  # a JSON integer id means its decimal text
        return _Line((user_id, record["key"], record["value"]))


def _csv_header(text: str) -> "Optional[List[str]]":
    """The names of a CSV header naming user_id, key and value once each; None for any other line."""
    import csv

    try:
        names = next(csv.reader([text.rstrip("\r\n")], strict=True))
    except (csv.Error, StopIteration):
        return None
    return names if all(names.count(n) == 1 for n in ("user_id", "key", "value")) else None


class _FailedFile:
    """--failed: the lines not accepted, byte for byte, in a file beside it renamed into place at the end.

    The file is made with the permissions of any new file of the user (the umask's), not a
    temporary file's 0600: it replaces the failed file the user asked for.
    """

    def __init__(self, path: "Optional[str]", header: "Optional[bytes]") -> None:
        self.path, self.header = path, header
        self.file: Any = None
        self.temp = ""

    def write(self, raw: bytes) -> None:
        """A line as it stood (a last line without its newline gets one)."""
        self.write_raw(raw if raw.endswith(b"\n") or not raw else raw + b"\n")

    def write_raw(self, data: bytes) -> None:
        if self.path is not None:
            (self.file or self._open()).write(data)

    def _open(self) -> "Any":
        """The file beside the failed file, with the header of a CSV input first."""
        import random

        for _ in range(100):
            self.temp = "%s.%06x.partial" % (self.path, random.getrandbits(24))
            try:
                handle = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
            except FileExistsError:
                continue
            self.file = os.fdopen(handle, "wb")
            if self.header is not None:
                self.file.write(self.header if self.header.endswith(b"\n") else self.header + b"\n")
            return self.file
        raise FileExistsError("cannot make a file beside %s" % self.path)  # pragma: no cover

    def copy_rest(self, source: "_Input") -> bool:
        """The rest of the input, raw, after what was written; False when it cannot be read."""
        try:
            for block in source.rest():
                self.write_raw(block)
        except OSError:
            return False
        return True

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


def _line_numbers(numbers: "List[int]") -> str:
    """"line 7", "3 rows (lines 2-4)": a refused batch is named once."""
    if len(numbers) == 1:
        return "line %d" % numbers[0]
    return "%d rows (lines %d-%d)" % (len(numbers), numbers[0], numbers[-1])


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60) if seconds >= 3600 else \
        "%d:%02d" % (seconds // 60, seconds % 60)


class _Report:
    """A --file run's accounts and all it says on stderr.

    push_many hands each row not accepted to `failure`, in input order, which only queues
    it; the report writes them to --failed and names them on stderr between two rows, with
    signals held.  rows read = accepted + not accepted, and every line read is accepted or
    in --failed.
    """

    def __init__(self, output: "_Output", opts: "Any", failed: "_FailedFile", source: "_Input", client: "Client",
                 signals: "_Signals") -> None:
        import collections

        self.output, self.quiet, self.dry_run = output, opts.quiet, opts.dry_run
        self.failed, self.source, self.client, self.signals = failed, source, client, signals
        self.read = self.not_accepted = 0
        self.last = source.number  # the line of the last row handed on (the header, before the first)
        self.in_hand: Optional[_Row] = None  # the row last handed to push_many, until push_many has it
        self._queued: Deque[Tuple[_Row, str]] = collections.deque()
        self._group: Optional[Tuple[str, List[int], float]] = None  # failures to name together
        self.started = time.monotonic()

    def rows(self) -> "Iterator[_Row]":
        """The input's rows for push_many; between two rows the report catches up, and a held signal comes."""
        queued, signals = self._queued, self.signals
        for line in self.source.records():
            if queued:
                self.catch_up()
            if signals.pending:
                signals.check()
            self.read += 1
            self.last = line.number
            self.in_hand = line
            yield line
            self.in_hand = None  # push_many asks for the next row: it has this one

    def failure(self, row: "_Row", reason: str) -> None:
        """push_many's on_failure: queue it (two statements: a signal landing here is held)."""
        self._queued.append((row, reason))
        self.in_hand = None if row is self.in_hand else self.in_hand

    def catch_up(self, final: bool = False) -> None:
        """Write the queued failures to --failed and name them, signals held."""
        self.signals.holding = True
        try:
            while self._queued:
                row, reason = self._queued.popleft()
                self.not_accepted += 1
                self.failed.write(row.raw)
                self._name(row.number, row.problem if isinstance(row, _Broken) else reason)
            if self._group is not None and (final or time.monotonic() - self._group[2] > 1.0):
                self._say_group()
        finally:
            self.signals.holding = False

    def _name(self, number: int, reason: str) -> None:
        group = self._group
        if group is not None and group[0] == reason and group[1][-1] == number - 1:
            group[1].append(number)
            return
        if group is not None:
            self._say_group()
        self._group = (reason, [number], time.monotonic())

    def _say_group(self) -> None:
        reason, numbers, _ = self._group  # type: ignore[misc]
        self._group = None
        self.output.say("%s not accepted: %s" % (_line_numbers(numbers), reason))

    def progress(self) -> str:
        """The progress line: rows read, accepted, not accepted, share of the file, rate, elapsed, ETA."""
        elapsed = time.monotonic() - self.started
        accepted = self.client.stats()["accepted"]
        text = "%d rows read, %d accepted, %d not accepted" % (self.read, accepted,
                                                               self.not_accepted + len(self._queued))
        share = None if self.source.size is None else min(1.0, self.source.consumed / self.source.size)
        if share is not None:
            text += ", %d%% of the file" % (share * 100)
        text += ", %d rows/s, %s elapsed" % (self.read / max(elapsed, 1e-9), _clock(elapsed))
        if share:
            text += ", ETA %s" % _clock(elapsed * (1 - share) / share)
        return text

    def summary(self, note: str = "") -> None:
        self.catch_up(final=True)
        elapsed = time.monotonic() - self.started
        if self.quiet and self.not_accepted == 0 and not note.startswith(";"):
            return
        self.output.say("%d rows read, %d accepted, %d not accepted in %.1f s (%d rows/s)%s" % (
            self.read, self.read - self.not_accepted, self.not_accepted, elapsed, self.read / max(elapsed, 1e-9),
            note))


class _Progress:
    """A thread that shows the progress line: on a terminal, rewritten 4 times a second; elsewhere every 30 s."""

    terminal, elsewhere = 0.25, 30.0  # seconds between two lines

    def __init__(self, report: "_Report", output: "_Output") -> None:
        import threading

        self._report, self._output = report, output
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vwo_push progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tty = self._output.tty
        while not self._stop.wait(self.terminal if tty else self.elsewhere):
            self._output.write("stderr", "vwo-push: %s%s" % (self._report.progress(), "" if tty else "\n"))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _Signals:
    """Ctrl-C and SIGTERM during --file: raised where the run is, except while the accounts are written.

    A signal is held while the report writes (a line half written would be lost or doubled)
    and while push_many hands it a failure (two statements, known by the code of the frame
    the signal lands in), then raised between two rows.  After the first, signals are held
    for good: the accounts are settled once.
    """

    def __init__(self, held: "Any") -> None:
        self.holding = False
        self.pending = 0  # a signal that came while held
        self.raised = False
        self._held = held  # the code during which a signal waits
        self._previous: List[Tuple[int, Any]] = []

    def __enter__(self) -> "_Signals":
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

    def _handle(self, number: int, frame: "Any") -> None:
        if self.raised or self.holding or (frame is not None and frame.f_code is self._held):
            self.pending = self.pending or number
        else:
            self._raise(number)

    def _raise(self, number: int) -> None:
        import signal

        self.raised = True
        raise _Terminated() if number == signal.SIGTERM else KeyboardInterrupt()

    def check(self) -> None:
        """Raise a signal that was held, now that the run is between two rows."""
        if self.pending and not self.raised:
            self._raise(self.pending)


def _status(stop: BaseException) -> int:
    return 143 if isinstance(stop, _Terminated) else 130


def _run_file(client: "Client", opts: "Any", output: "_Output") -> int:
    batch_size = 1000 if opts.batch_size is None else opts.batch_size
    if not 1 <= batch_size <= _MAX_BATCH:
        raise _Usage("--batch-size must be from 1 to %d" % _MAX_BATCH)
    concurrency = 4 if opts.concurrency is None else opts.concurrency
    if not 1 <= concurrency <= _MAX_CONCURRENCY:
        raise _Usage("--concurrency must be from 1 to %d" % _MAX_CONCURRENCY)
    if opts.failed == "-":
        raise _Usage("--failed - is not supported: give it a file name")
    import contextlib

    with _Signals(_Report.failure.__code__) as signals, contextlib.ExitStack() as closing:
        try:
            try:
                # 64 KiB reads, not the file system's block (often 4 KiB): each read lets the GIL go to
                # the batches' threads, and a hand-over costs
                stream = sys.stdin.buffer if opts.file == "-" else closing.enter_context(
                    open(opts.file, "rb", buffering=1 << 16))
            except OSError as exc:
                raise _Usage("cannot read %s: %s" % (opts.file, exc.strerror or exc)) from None
            if opts.failed is not None and _same_file(stream, opts.failed):
                raise _Usage("--failed names the input file, which would be overwritten while it is read; "
                             "write the failed rows to another file")
            source = _Input(stream, "stdin" if opts.file == "-" else opts.file)
        except (KeyboardInterrupt, _Terminated) as stop:
            output.say("interrupted before any row was read: nothing was sent")
            return _status(stop)
        failed = _FailedFile(opts.failed, source.header)
        report = _Report(output, opts, failed, source, client, signals)
        try:
            return _backfill(client, report, batch_size, concurrency)
        except BaseException:
            failed.discard()  # a crash: an earlier failed file is left as it was
            raise


def _backfill(client: "Client", report: "_Report", batch_size: int, concurrency: int) -> int:
    """Send the rows, settle the accounts whatever happens, say how it went: the exit status."""
    progress = None if report.quiet else _Progress(report, report.output)
    try:
        client.push_many(report.rows(), batch_size=batch_size, on_failure=report.failure, concurrency=concurrency)
    except _BrokeOff as broke:
        return _broke_off(report, broke)
    except (KeyboardInterrupt, _Terminated) as stop:
        report.signals.raised = True  # from now on, signals wait: the accounts are settled once
        if report.in_hand is not None:  # handed to push_many just as the signal came: not known to be sent
            report.failure(report.in_hand, _INTERRUPTED_UNSENT)
        report.catch_up(final=True)
        report.failed.finish(complete=False)
        where = "the rows not accepted are in %s; " % report.failed.path if report.failed.file else ""
        last = report.last
        report.summary("; interrupted after line %d: %sto resume, run again on the input's lines after %d%s" % (
            last, where, last, "" if report.source.jsonl else " (with its header line)"))
        return _status(stop)
    finally:
        if progress is not None:
            progress.stop()
    report.catch_up(final=True)
    report.failed.finish(complete=True)
    report.summary(" (dry run: valid rows counted as accepted, nothing sent)" if report.dry_run else "")
    return 0 if report.not_accepted == 0 else 1


def _broke_off(report: "_Report", broke: "_BrokeOff") -> int:
    """Input that cannot be read on: what was read was sent; the rest goes to --failed, from the broken line."""
    report.catch_up(final=True)
    failed, status = report.failed, 1
    where = "that line and the rest were not sent (--failed keeps them)"
    if failed.path is not None:
        failed.write(broke.raw)
        try:
            kept = failed.copy_rest(report.source)
        except (KeyboardInterrupt, _Terminated) as stop:
            report.signals.raised = True
            kept, status = False, _status(stop)
            where = "the copy of the rest to %s was interrupted: it holds the rest only in part" % failed.path
        else:
            where = ("that line and the rest of the input are in %s" % failed.path if kept else
                     "that line is in %s; the rest could not be read" % failed.path)
    report.output.say("stopped at line %d: %s; the rows before it were sent; %s" % (broke.number, broke, where))
    failed.finish(complete=False)
    report.summary()
    return status


def _same_file(stream: "Any", path: str) -> bool:
    try:
        mine, theirs = os.fstat(stream.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


if __name__ == "__main__":
    sys.exit(main())
