"""Tests for vwo_push, against real HTTP(S) servers started on 127.0.0.1.

Nothing here patches urlopen or sockets: the servers record what arrives and are
scripted to answer, stall, dribble, reset or close.  No traffic leaves loopback.
"""

from __future__ import annotations

import ast
import collections
import email.utils
import http.server
import json
import logging
import os
import queue
import random
import select
import shutil
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

import vwo_push

HERE = Path(__file__).resolve().parent
CA = str(HERE / "testdata" / "ca.pem")
SERVER_CERT = str(HERE / "testdata" / "server.pem")
SECRET = "SeCrEt+k/y=Key-0042"  # quote_plus changes it: every form must stay out of logs
SECRET_FORMS = (SECRET, urllib.parse.quote_plus(SECRET), urllib.parse.quote(SECRET), "SeCrEt")


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------

Received = collections.namedtuple("Received", "method path query headers body port")


class Reply:
    """What the server does with one request: an answer, or a way to misbehave."""

    def __init__(self, status=200, headers=None, body=b'{"ok": true}', action=None):
        self.status, self.headers, self.body, self.action = status, headers or {}, body, action


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args):
        pass

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        got = Received(self.command, path, query, self.headers, body, self.client_address[1])
        self.server.received.put(got)
        reply = self.server.reply_for(got)
        getattr(self, "_" + (reply.action or "answer"))(reply)

    do_POST = do_GET

    def _answer(self, reply):
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _close_after(self, reply):  # answer, then close as an idle-timeout would
        self._answer(reply)
        self.wfile.flush()
        self.close_connection = True

    def _silent(self, reply):  # accept the request, never answer
        self.server.release.wait(30)
        self.close_connection = True

    def _stall_headers(self, reply):  # status line and headers, then nothing
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n")
        self.wfile.flush()
        self.server.release.wait(30)
        self.close_connection = True

    def _stall_body(self, reply):  # a 2xx whose body never comes
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        self.wfile.flush()
        self.server.release.wait(30)
        self.close_connection = True

    def _short_body(self, reply):  # a 2xx whose body is cut short
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        self.wfile.flush()
        self.close_connection = True

    def _dribble(self, reply):  # a byte every 0.1 s: no single read ever times out
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 300:
            if self.server.release.wait(0.1):
                break
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
        self.close_connection = True

    def _close(self, reply):  # read the request, close without a word
        self.close_connection = True

    def _reset(self, reply):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    tls = None

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.received = queue.Queue()
        self.script = collections.deque()  # Replies (or statuses) for the next requests, in order
        self.decide = None  # or a function of the Received, consulted when the script is empty
        self.release = threading.Event()
        self.connections = 0
        self.errors = []

    def reply_for(self, got):
        if self.script:
            reply = self.script.popleft()
        elif self.decide is not None:
            reply = self.decide(got)
        else:
            reply = Reply()
        return Reply(reply) if isinstance(reply, int) else reply

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.errors.append(exc)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        self.errors.append(sys.exc_info()[1])

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.server_address[1])

    def all_received(self):
        got = []
        while True:
            try:
                got.append(self.received.get_nowait())
            except queue.Empty:
                return got

    def wait_for(self, count, timeout=5.0):
        """The first `count` requests, waiting at most `timeout` for them."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            got.append(self.received.get(timeout=max(0.01, deadline - time.monotonic())))
        return got


def _start(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server


def _stop(server):
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def server():
    srv = _start(Server())
    yield srv
    _stop(srv)


@pytest.fixture
def tls_server():
    srv = Server()
    srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.tls.load_cert_chain(SERVER_CERT)
    _start(srv)
    yield srv
    _stop(srv)


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy on 127.0.0.1 that alone resolves `collector.test`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, names):
        self.names = names  # "host:port" -> (ip, port)
        self.tunnels = []
        self.stall = False  # True: read the CONNECT, then never answer
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if self.server.stall:
            self.server.release.wait(30)
            return
        if len(line) < 2 or line[0] != "CONNECT" or line[1] not in self.server.names:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.tunnels.append(line[1])
        upstream = socket.create_connection(self.server.names[line[1]])
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        ends = [self.connection, upstream]
        with upstream:
            while True:
                readable, _, _ = select.select(ends, [], [], 10)
                if not readable:
                    return
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.connection else self.connection).sendall(data)


@pytest.fixture
def proxy(tls_server):
    srv = ConnectProxy({"collector.test:443": tls_server.server_address})
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_proxy_from_outside(monkeypatch):
    """Tests choose their proxies; the machine's settings must not reroute loopback traffic."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.startswith("VWO_") or name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def no_key_in_any_log_record(caplog):
    """Every test runs with the root logger at DEBUG, and no record it makes may hold the key."""
    caplog.set_level(logging.DEBUG)
    yield
    leaks = [r.getMessage() for r in caplog.records if any(form in r.getMessage() for form in SECRET_FORMS)]
    assert leaks == []


@pytest.fixture
def client(server):
    return vwo_push.Client(123456, SECRET, endpoint=server.url, timeout=5, retries=0)


def quick(client):
    """Retries without real waiting: the waits asked for are recorded instead."""
    client.waits = []
    client._sleep = client.waits.append
    client._jitter = lambda: 1.0
    return client


# ---------------------------------------------------------------------------
# What protocol.md says the requests are, written out independently of vwo_push
# ---------------------------------------------------------------------------

VECTORS = [
    (88888888, "user-1", "15E778314C8E5648849E5F42E31A5904"),
    (123456, "Ashley", "4C9BA81BAF53591488EB5FD5E66A98B9"),
    (123456, "ünïcode-用户", "AD95F8E3705254E886E2BC0946F0154B"),
    ("654321", "42", "C7C4B3CB85E1580BAE87647FC97C602F"),
    (1, "a" * 255, "00940EF57E6E5881AD9978FED28BB556"),
]


def expected_u(account_id, user_id):
    ns = uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "https://vwo.com"), str(account_id))
    return uuid.uuid5(ns, user_id).hex.upper()


def expected_push_query(got, account_id, key, value, user_id, sdk_key=SECRET):
    """protocol.md section 1, with the random and sId fields taken from what arrived."""
    fields = dict(part.split("=", 1) for part in got.query.split("&"))
    assert 0 <= float(fields["random"]) < 1
    assert abs(int(fields["sId"]) - time.time()) < 60
    return "&".join([
        "random=" + fields["random"], "sdk=vwo-python-sdk", "sdk-v=1.68.2", "ap=server",
        "sId=" + fields["sId"], "u=" + expected_u(account_id, user_id), "account_id=%s" % account_id,
        "env=" + urllib.parse.quote_plus(sdk_key), "visitor_ua=", "visitor_ip=",
        "tags=" + urllib.parse.quote_plus(json.dumps({"u": {key: value}})),
    ])


def check_event_request(got, account_id, pairs, user_id, sdk_key=SECRET):
    """protocol.md section 2: query in order, and the body to the byte."""
    fields = dict(part.split("=", 1) for part in got.query.split("&"))
    ms = int(fields["eTime"])
    assert abs(ms / 1000 - time.time()) < 60
    assert 0 <= float(fields["random"]) < 1
    assert got.query == "&".join([
        "en=vwo_syncVisitorProp", "a=%s" % account_id, "env=" + urllib.parse.quote_plus(sdk_key),
        "eTime=%d" % ms, "random=" + fields["random"], "p=FS", "visitor_ua=", "visitor_ip="])
    u = expected_u(account_id, user_id)
    body = json.loads(got.body)
    props = {"vwo_fs_environment": sdk_key}
    props.update(pairs)
    expected = {"d": {"msgId": "%s-%d" % (u, body["d"]["event"]["time"]), "visId": u,
                      "sessionId": body["d"]["sessionId"],
                      "event": {"props": {"vwo_sdkName": "vwo-python-sdk", "vwo_sdkVersion": "1.68.2",
                                          "vwo_envKey": sdk_key, "isCustomEvent": True},
                                "name": "vwo_syncVisitorProp", "time": body["d"]["event"]["time"]},
                      "visitor": {"props": props}}}
    assert got.body == json.dumps(expected).encode()
    assert abs(body["d"]["sessionId"] - time.time()) < 60
    assert got.headers["Content-Type"] == "application/json"


# ---------------------------------------------------------------------------
# Building requests (pure)
# ---------------------------------------------------------------------------

class TestBuildRequests:
    @pytest.mark.parametrize("account_id, user_id, u", VECTORS)
    def test_visitor_id_matches_protocol_vectors_to_the_byte(self, account_id, user_id, u):
        req, = vwo_push.Client(account_id, "k").build_requests("k", "v", user_id)
        assert "&u=%s&" % u in req.full_url
        assert expected_u(account_id, user_id) == u  # the vectors agree with uuid.uuid5 too

    def test_event_arch_visitor_id_matches_vector(self):
        req, = vwo_push.Client(123456, "k", event_arch=True).build_requests({"a": "b"}, "Ashley")
        body = json.loads(req.data)
        assert body["d"]["visId"] == "4C9BA81BAF53591488EB5FD5E66A98B9"
        assert body["d"]["msgId"].startswith("4C9BA81BAF53591488EB5FD5E66A98B9-")

    def test_standard_map_gives_one_get_per_pair_in_order(self):
        client = vwo_push.Client(1, "k")
        reqs = client.build_requests({"z": "1", "a": "2", "m": "3"}, "u")
        assert [r.get_method() for r in reqs] == ["GET"] * 3
        tags = [urllib.parse.parse_qs(urllib.parse.urlsplit(r.full_url).query)["tags"][0] for r in reqs]
        assert tags == ['{"u": {"z": "1"}}', '{"u": {"a": "2"}}', '{"u": {"m": "3"}}']

    def test_default_host_and_collection_prefix(self):
        plain, = vwo_push.Client(1, "k").build_requests("a", "b", "c")
        eu, = vwo_push.Client(1, "k", collection_prefix="eu01").build_requests("a", "b", "c")
        ev, = vwo_push.Client(1, "k", collection_prefix="eu01", event_arch=True).build_requests("a", "b", "c")
        assert plain.full_url.startswith("https://dev.visualwebsiteoptimizer.com/server-side/push?random=")
        assert eu.full_url.startswith("https://dev.visualwebsiteoptimizer.com/eu01/server-side/push?random=")
        assert ev.full_url.startswith("https://dev.visualwebsiteoptimizer.com/eu01/events/t?en=")

    def test_tags_are_form_encoded_exactly_as_quote_plus_does(self):
        every_ascii = "".join(chr(c) for c in range(128))
        for key, value in [("k", every_ascii), (every_ascii, "v"), ("用户 😀", "😀 x\\")]:
            req, = vwo_push.Client(1, "k").build_requests(key, value, "u")
            tags = req.full_url.split("&tags=", 1)[1]
            assert tags == urllib.parse.quote_plus(json.dumps({"u": {key: value}}))

    def test_user_agent_names_this_module(self):
        req, = vwo_push.Client(1, "k").build_requests("a", "b", "c")
        assert req.get_header("User-agent") == "vwo-push/" + vwo_push.__version__

    @pytest.mark.parametrize("args, kwargs", [
        (("a", "b", "u"), {}),
        ((), {"custom_dimension_key": "a", "custom_dimension_value": "b", "user_id": "u"}),
        ((), {"tag_key": "a", "tag_value": "b", "user_id": "u"}),
        (("a",), {"tag_value": "b", "user_id": "u"}),
        (({"a": "b"}, "u"), {}),
        ((), {"custom_dimension_map": {"a": "b"}, "user_id": "u"}),
        (({"a": "b"},), {"user_id": "u"}),
        ((collections.OrderedDict(a="b"), "u"), {}),
    ])
    def test_every_call_form_builds_the_same_request(self, args, kwargs):
        req, = vwo_push.Client(1, "k").build_requests(*args, **kwargs)
        assert req.full_url.endswith("&tags=" + urllib.parse.quote_plus('{"u": {"a": "b"}}'))
        assert "&u=%s&" % expected_u(1, "u") in req.full_url

    @pytest.mark.parametrize("args, kwargs, error", [
        (("a", 1, "u"), {}, ValueError),
        (("a" * 256, "b", "u"), {}, ValueError),
        (({}, "u"), {}, ValueError),
        (({"a": 1}, "u"), {}, ValueError),
        (("vwo_fs_environment", "x", "u"), {}, ValueError),
        (("a", "b", ""), {}, ValueError),
        (("a", "b", "\ud800"), {}, ValueError),
        (([1, 2], "u"), {}, TypeError),
        (("a", "b"), {}, TypeError),
        ((), {}, TypeError),
        (("a", "b", "u"), {"tag_key": "x"}, TypeError),
    ])
    def test_invalid_input_raises(self, args, kwargs, error):
        with pytest.raises(error):
            vwo_push.Client(1, "k").build_requests(*args, **kwargs)

    def test_value_error_names_what_is_wrong_without_the_value(self):
        with pytest.raises(ValueError, match="at most 255 characters, got a str of 256") as info:
            vwo_push.Client(1, "k").build_requests("key", "v" * 256, "u")
        assert "vvvv" not in str(info.value)


# ---------------------------------------------------------------------------
# Push: the wire, validation, answers
# ---------------------------------------------------------------------------

WIRE_CASES = [
    ("one pair", {"browser": "chrome"}),
    ("map of 3", {"a": "1", "b": "2", "c": "3"}),
    ("map of 5 keeps order", {"e": "5", "d": "4", "c": "3", "b": "2", "a": "1"}),
    ("non-ascii", {"café": "crème brûlée"}),
    ("cjk", {"用户": "价值"}),
    ("emoji", {"mood": "😀🚀"}),
    ("spaces", {"two words": "a b  c"}),
    ("url specials", {"k&=?#%+/": "v&=?#%+/;"}),
    ("quotes and backslashes", {'q"\'\\': 'say "hi" \\ \\n'}),
    ("255 characters", {"k" * 255: "v" * 255}),
]


class TestPush:
    @pytest.mark.parametrize("name, pairs", WIRE_CASES, ids=[c[0] for c in WIRE_CASES])
    @pytest.mark.parametrize("account_id", [123456, "654321"])
    def test_standard_request_is_exactly_the_protocol(self, server, name, pairs, account_id):
        client = vwo_push.Client(account_id, SECRET, endpoint=server.url)
        if len(pairs) == 1:
            (key, value), = pairs.items()
            assert client.push(key, value, "user-42") is True
        else:
            assert client.push(pairs, "user-42") is True
        got = server.wait_for(len(pairs))
        for (key, value), request in zip(pairs.items(), got):
            assert request.method == "GET"
            assert request.path == "/server-side/push"
            assert request.query == expected_push_query(request, account_id, key, value, "user-42")
            assert request.headers["User-Agent"] == "vwo-push/" + vwo_push.__version__
            assert request.body == b""
        assert server.all_received() == []

    @pytest.mark.parametrize("name, pairs", WIRE_CASES, ids=[c[0] for c in WIRE_CASES])
    def test_event_arch_request_is_exactly_the_protocol(self, server, name, pairs):
        client = vwo_push.Client(123456, SECRET, endpoint=server.url, event_arch=True)
        assert client.push(pairs, "ünïcode-用户") is True
        got, = server.wait_for(1)
        assert (got.method, got.path) == ("POST", "/events/t")
        check_event_request(got, 123456, pairs, "ünïcode-用户")
        assert server.all_received() == []

    def test_event_arch_single_pair_is_the_map_form_with_one_pair(self, server):
        client = vwo_push.Client(123456, SECRET, endpoint=server.url, event_arch=True)
        assert client.push("plan", "pro", "u1") is True
        check_event_request(server.wait_for(1)[0], 123456, {"plan": "pro"}, "u1")

    @pytest.mark.parametrize("event_arch, path", [(False, "/eu01/server-side/push"), (True, "/eu01/events/t")])
    def test_collection_prefix_is_the_first_path_segment(self, server, event_arch, path):
        client = vwo_push.Client(1, SECRET, endpoint=server.url, collection_prefix="eu01", event_arch=event_arch)
        assert client.push("a", "b", "c") is True
        assert server.wait_for(1)[0].path == path

    @pytest.mark.parametrize("settings", [
        '{"accountId": 654321, "sdkKey": "%s", "isEventArchEnabled": true, "collectionPrefix": "eu01"}' % SECRET,
        ('{"accountId": 654321, "sdkKey": "%s", "isEventArchEnabled": true, "collectionPrefix": "eu01"}'
         % SECRET).encode(),
        {"accountId": 654321, "sdkKey": SECRET, "isEventArchEnabled": True, "collectionPrefix": "eu01"},
    ], ids=["str", "bytes", "dict"])
    def test_launch_reads_the_settings_file(self, server, settings):
        client = vwo_push.launch(settings, endpoint=server.url)
        assert client.push({"a": "b"}, "42") is True
        got, = server.wait_for(1)
        assert got.path == "/eu01/events/t"
        check_event_request(got, 654321, {"a": "b"}, "42")

    def test_launch_standard_account_without_prefix(self, server):
        client = vwo_push.launch('{"accountId": 88888888, "sdkKey": "k", "collectionPrefix": null}',
                                 endpoint=server.url)
        assert client.push("a", "b", "user-1") is True
        got, = server.wait_for(1)
        assert got.path == "/server-side/push"
        assert "&u=15E778314C8E5648849E5F42E31A5904&" in got.query

    def test_launch_development_mode_is_a_dry_run(self, server):
        client = vwo_push.launch({"accountId": 1, "sdkKey": "k"}, endpoint=server.url, is_development_mode=True)
        assert client.push("a", "b", "c") is True
        assert server.all_received() == []

    @pytest.mark.parametrize("args", [
        ("key", 5, "u"),                      # the SDK's own: an int value
        ("k" * 256, "v", "u"),
        ("k", "v" * 256, "u"),
        ({}, "u"), ([1, 2], "u"), ("str", "u"), (9999999, "u"),
        (None, "v", "u"), ("k", None, "u"), ("k", "v", None),
        (b"k", "v", "u"), ("k", b"v", "u"), ("k", "v", b"u"),
        (True, "v", "u"), ("k", True, "u"), ("k", "v", False),
        ("k", 1.5, "u"), ({"k": {"nested": "dict"}}, "u"), ({1: "v"}, "u"), ({"k": "v", 2: "w"}, "u"),
        ("vwo_fs_environment", "x", "u"), ({"vwo_fs_environment": "x"}, "u"),
        ("", "v", "u"), ("k", "", "u"), ("k", "v", ""),
        ("k", "v"), ("k",), (), ("k", "v", "u", "extra"), ({"k": "v"},), ({"k": "v"}, "u", "extra"),
    ])
    def test_invalid_input_returns_false_and_sends_nothing(self, server, args):
        for event_arch in (False, True):
            client = vwo_push.Client(1, SECRET, endpoint=server.url, event_arch=event_arch)
            assert client.push(*args) is False
        assert server.all_received() == []

    @pytest.mark.parametrize("kwargs", [
        {"custom_dimension_map": "str", "user_id": "u"},
        {"custom_dimension_key": "k", "user_id": "u"},
        {"custom_dimension_key": "k", "custom_dimension_value": "v", "user_id": "u", "extra": 1},
        {"tag_key": "k", "custom_dimension_key": "k", "tag_value": "v", "user_id": "u"},
        {"user_id": "u"},
    ])
    def test_bad_keyword_calls_return_false_and_send_nothing(self, client, server, kwargs):
        assert client.push(**kwargs) is False
        assert server.all_received() == []

    def test_exactly_255_characters_is_accepted(self, client, server):
        assert client.push("k" * 255, "v" * 255, "u") is True
        assert len(server.wait_for(1)) == 1

    def test_map_with_one_bad_pair_sends_none_of_its_pairs(self, client, server, caplog):
        with caplog.at_level(logging.WARNING, logger="vwo_push"):
            assert client.push({"a": "1", "b": "2", "c": 3, "d": "4"}, "u") is False
        assert server.all_received() == []
        assert "value of custom dimension 'c'" in caplog.text

    def test_invalid_input_logs_one_warning(self, client, caplog):
        with caplog.at_level(logging.DEBUG, logger="vwo_push"):
            assert client.push("k", 5, "u") is False
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "must be a non-empty str" in warnings[0].getMessage()

    def test_mapping_that_raises_gives_false(self, client, server):
        class Broken(collections.abc.Mapping):
            def __getitem__(self, key):
                raise RuntimeError("boom")

            def __iter__(self):
                raise RuntimeError("boom")

            def __len__(self):
                return 1

        assert client.push(Broken(), "u") is False
        assert server.all_received() == []

    @pytest.mark.parametrize("status", [200, 201, 202, 204])
    def test_2xx_is_true(self, client, server, status):
        server.script.append(Reply(status, body=b""))
        assert client.push("a", "b", "c") is True

    @pytest.mark.parametrize("status", [400, 500])
    def test_error_status_is_false(self, client, server, status):
        server.script.append(status)
        assert client.push("a", "b", "c") is False

    def test_refused_connection_is_false(self):
        with socket.socket() as sock:  # a port that was just free and is closed again
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        client = vwo_push.Client(1, "k", endpoint="http://127.0.0.1:%d" % port, retries=0)
        assert client.push("a", "b", "c") is False

    def test_map_tries_every_pair_and_names_failed_keys_once(self, client, server, caplog):
        server.script.extend([200, 400, 200, 500])
        with caplog.at_level(logging.WARNING, logger="vwo_push"):
            assert client.push({"k1": "v1", "k2": "SENSITIVE", "k3": "v3", "k4": "v4"}, "u") is False
        assert len(server.wait_for(4)) == 4
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "'k2'" in warnings[0] and "'k4'" in warnings[0] and "'k1'" not in warnings[0]
        assert "SENSITIVE" not in warnings[0]

    def test_dry_run_validates_and_sends_nothing(self, server):
        client = vwo_push.Client(1, "k", endpoint=server.url, dry_run=True)
        assert client.push({"a": "b"}, "u") is True
        assert client.push({"a": 1}, "u") is False
        assert server.all_received() == []

    def test_module_push_uses_the_environment(self, server, monkeypatch):
        monkeypatch.setattr(vwo_push, "_default_client", None)
        assert vwo_push.push("a", "b", "c") is False  # not configured: False, no exception
        monkeypatch.setenv("VWO_ACCOUNT_ID", "654321")
        monkeypatch.setenv("VWO_SDK_KEY", SECRET)
        monkeypatch.setenv("VWO_EVENT_ARCH", "true")
        monkeypatch.setenv("VWO_COLLECTION_PREFIX", "eu01")
        monkeypatch.setenv("VWO_ENDPOINT", server.url)
        assert vwo_push.push(custom_dimension_map={"a": "b"}, user_id="42") is True
        got, = server.wait_for(1)
        assert got.path == "/eu01/events/t"
        check_event_request(got, 654321, {"a": "b"}, "42")


class TestConfiguration:
    @pytest.mark.parametrize("kwargs", [
        {"account_id": 0}, {"account_id": -1}, {"account_id": "12a"}, {"account_id": ""}, {"account_id": True},
        {"account_id": 1.0}, {"account_id": None}, {"sdk_key": ""}, {"sdk_key": "has space"},
        {"sdk_key": "tab\t"}, {"sdk_key": "ключ"}, {"sdk_key": None}, {"timeout": 0}, {"timeout": -1},
        {"timeout": float("inf")}, {"timeout": float("nan")}, {"timeout": "10"}, {"timeout": True},
        {"retries": -1}, {"retries": 1.5}, {"retries": True}, {"backoff": -0.1}, {"backoff": float("nan")},
        {"collection_prefix": ""}, {"collection_prefix": "eu/01"}, {"collection_prefix": "eu 01"},
        {"collection_prefix": 1}, {"endpoint": "http://example.com"}, {"endpoint": "ftp://127.0.0.1"},
        {"endpoint": "https://host/path"}, {"endpoint": "https://host?q=1"}, {"endpoint": "https://u:p@host"},
        {"endpoint": "https://host:99999"}, {"endpoint": "127.0.0.1:80"}, {"endpoint": 5},
        {"event_arch": "yes"}, {"dry_run": 1}, {"ssl_context": "ctx"},
    ])
    def test_bad_configuration_raises_value_error_without_the_key(self, kwargs, caplog):
        config = {"account_id": 1, "sdk_key": SECRET}
        config.update(kwargs)
        with caplog.at_level(logging.DEBUG), pytest.raises(ValueError) as info:
            vwo_push.Client(**config)
        assert SECRET not in str(info.value) and SECRET not in caplog.text

    @pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080", "http://127.5.6.7", "http://localhost:1",
                                          "http://[::1]:8080", "https://collector.example:8443", "https://x/"])
    def test_accepted_endpoints(self, endpoint):
        vwo_push.Client(1, "k", endpoint=endpoint)

    @pytest.mark.parametrize("settings", ["not json", "[]", b"\xff", '{"sdkKey": "k"}', '{"accountId": 1}',
                                          '{"accountId": 1, "sdkKey": "k", "isEventArchEnabled": "yes"}',
                                          '{"accountId": 1, "sdkKey": "k", "collectionPrefix": "a/b"}'])
    def test_launch_rejects_bad_settings(self, settings):
        with pytest.raises(ValueError):
            vwo_push.launch(settings)

    @pytest.mark.parametrize("prefix", [None, ""])
    def test_launch_missing_null_or_empty_prefix_means_none(self, prefix):
        client = vwo_push.launch({"accountId": 1, "sdkKey": "k", "collectionPrefix": prefix})
        req, = client.build_requests("a", "b", "c")
        assert urllib.parse.urlsplit(req.full_url).path == "/server-side/push"

    def test_launch_options_override_settings(self):
        client = vwo_push.launch({"accountId": 1, "sdkKey": "k", "isEventArchEnabled": True}, event_arch=False,
                                 account_id=2)
        req, = client.build_requests("a", "b", "c")
        assert req.get_method() == "GET" and "&account_id=2&" in req.full_url

    def test_numeric_string_account_id_is_normalised(self):
        req, = vwo_push.Client("000123456", "k").build_requests("a", "b", "Ashley")
        assert "&u=4C9BA81BAF53591488EB5FD5E66A98B9&account_id=123456&" in req.full_url


# ---------------------------------------------------------------------------
# Transport: time bound, retries, keep-alive, threads, TLS, proxies
# ---------------------------------------------------------------------------

def timed_push(client, *args):
    start = time.monotonic()
    result = client.push(*args)
    return result, time.monotonic() - start


class TestTransport:
    @pytest.mark.parametrize("action", ["silent", "stall_headers", "dribble"])
    def test_timeout_bounds_the_call_whatever_the_server_does(self, server, action):
        server.decide = lambda got: Reply(action=action)
        client = vwo_push.Client(1, "k", endpoint=server.url, timeout=1.0, retries=3, backoff=0.05)
        result, elapsed = timed_push(client, "a", "b", "c")
        assert result is False
        assert 0.9 <= elapsed < 1.5

    def test_timeout_bounds_a_tls_handshake_that_never_comes(self):
        with socket.socket() as listener:  # accepts connections (the backlog does) and never speaks TLS
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            client = vwo_push.Client(1, "k", endpoint="https://127.0.0.1:%d" % listener.getsockname()[1],
                                     timeout=1.0, retries=3, backoff=0.05)
            result, elapsed = timed_push(client, "a", "b", "c")
        assert result is False and 0.9 <= elapsed < 1.5

    def test_timeout_bounds_a_proxy_that_never_answers_connect(self, proxy, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.server_address[1])
        proxy.stall = True
        client = vwo_push.Client(1, "k", endpoint="https://collector.test", timeout=1.0, retries=3, backoff=0.05)
        result, elapsed = timed_push(client, "a", "b", "c")
        assert result is False and 0.9 <= elapsed < 1.5

    def test_timeout_bounds_a_whole_map_of_stalling_requests(self, server):
        server.decide = lambda got: Reply(action="silent")
        client = vwo_push.Client(1, "k", endpoint=server.url, timeout=1.0, retries=1)
        result, elapsed = timed_push(client, {"a": "1", "b": "2", "c": "3"}, "u")
        assert result is False and elapsed < 1.5

    def test_timeout_bounds_retries_and_waits(self, server):
        server.decide = lambda got: Reply(503)
        client = vwo_push.Client(1, "k", endpoint=server.url, timeout=1.0, retries=100, backoff=0.05)
        result, elapsed = timed_push(client, "a", "b", "c")
        assert result is False and elapsed < 1.5

    def test_retry_after_beyond_the_deadline_ends_the_call_at_once(self, server):
        server.script.append(Reply(503, headers={"Retry-After": "30"}))
        client = vwo_push.Client(1, "k", endpoint=server.url, timeout=5.0, retries=3)
        result, elapsed = timed_push(client, "a", "b", "c")
        assert result is False and elapsed < 0.5
        assert len(server.all_received()) == 1

    def test_retry_after_in_seconds_is_honoured(self, server):
        server.script.append(Reply(429, headers={"Retry-After": "2"}))
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        assert client.push("a", "b", "c") is True
        assert client.waits == [2.0]

    def test_retry_after_as_http_date_is_honoured(self, server):
        when = email.utils.formatdate(time.time() + 4, usegmt=True)
        server.script.append(Reply(503, headers={"Retry-After": when}))
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        assert client.push("a", "b", "c") is True
        assert len(client.waits) == 1 and 2.0 <= client.waits[0] <= 4.0

    def test_503_forever_makes_exactly_retries_plus_one_requests_with_growing_waits(self, server):
        server.decide = lambda got: Reply(503)
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3, backoff=0.5))
        assert client.push("a", "b", "c") is False
        assert len(server.all_received()) == 4
        assert client.waits == [0.5, 1.0, 2.0]

    def test_jitter_spreads_waits_between_half_and_full_backoff(self, server):
        server.decide = lambda got: Reply(503)
        client = vwo_push.Client(1, "k", endpoint=server.url, retries=2, backoff=0.5)
        waits = []
        client._sleep = waits.append
        for _ in range(20):
            client.push("a", "b", "c")
        firsts = {w for w in waits[::2]}
        assert all(0.25 <= w <= 0.5 for w in firsts) and len(firsts) > 1

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    def test_retryable_statuses_are_retried(self, server, status):
        server.script.extend([status, status])
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        assert client.push("a", "b", "c") is True
        assert len(server.all_received()) == 3

    @pytest.mark.parametrize("action", ["close", "reset"])
    def test_connection_errors_are_retried(self, server, action):
        server.script.extend([Reply(action=action), Reply(action=action)])
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        assert client.push("a", "b", "c") is True
        assert len(server.all_received()) == 3

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
    def test_other_4xx_are_not_retried(self, server, status):
        server.decide = lambda got: Reply(status)
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        assert client.push("a", "b", "c") is False
        assert len(server.all_received()) == 1 and client.waits == []

    @pytest.mark.parametrize("status", [301, 302, 307, 308])
    def test_redirects_are_failures_and_not_followed(self, server, status):
        server.script.append(Reply(status, headers={"Location": server.url + "/elsewhere"}))
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        assert client.push("a", "b", "c") is False
        got = server.all_received()
        assert [g.path for g in got] == ["/server-side/push"]

    def test_a_retry_sends_the_very_same_request(self, server):
        server.script.extend([503, 503])
        client = quick(vwo_push.Client(1, SECRET, endpoint=server.url, event_arch=True, retries=3))
        assert client.push({"a": "b", "c": "d"}, "u") is True
        first, second, third = server.wait_for(3)
        assert first.body == second.body == third.body and first.query == second.query == third.query
        assert json.loads(first.body)["d"]["msgId"] == json.loads(third.body)["d"]["msgId"]

    def test_a_2xx_whose_body_stalls_or_is_cut_short_counts_as_accepted(self, server):
        server.script.extend([Reply(action="stall_body"), Reply(action="short_body")])
        client = vwo_push.Client(1, "k", endpoint=server.url, timeout=1.0, retries=3)
        result, elapsed = timed_push(client, "a", "b", "c")
        assert result is True and elapsed < 1.5
        assert client.push("a", "b", "c") is True
        assert len(server.all_received()) == 2  # neither was sent twice

    def test_keep_alive_reuses_connections(self, client, server):
        for i in range(200):
            assert client.push("k", str(i), "u") is True
        assert len(server.wait_for(200)) == 200
        assert server.connections <= 3

    @pytest.mark.parametrize("scheme", ["http", "https"])
    @pytest.mark.parametrize("check_before_reuse", [True, False])
    def test_connections_closed_while_idle_are_replaced_without_using_retries(self, request, scheme,
                                                                              check_before_reuse, monkeypatch):
        if not check_before_reuse:  # every reuse then meets the closed socket, as in a race with the FIN
            monkeypatch.setattr(vwo_push, "_dropped", lambda sock: False)
        server = request.getfixturevalue("server" if scheme == "http" else "tls_server")
        server.decide = lambda got: Reply(action="close_after")
        client = vwo_push.Client(1, "k", endpoint=server.url, retries=0, ssl_context=ssl.create_default_context(
            cafile=CA))
        for i in range(50):
            assert client.push("k", str(i), "u") is True
        got = server.wait_for(50)
        values = [json.loads(urllib.parse.parse_qs(g.query)["tags"][0])["u"]["k"] for g in got]
        assert values == [str(i) for i in range(50)]  # each exactly once, in order
        assert server.all_received() == []

    def test_a_connection_dropped_just_before_reuse_is_replaced(self, server):
        """The pooled socket is closed by the server but the client has not seen the FIN yet."""
        client = vwo_push.Client(1, "k", endpoint=server.url, retries=0)
        assert client.push("k", "0", "u") is True
        handler = client._opener_.handlers[-1]
        conn, = [c for conns in handler._idle.values() for c in conns]
        conn.sock.shutdown(socket.SHUT_WR)  # the server sees EOF and closes its end
        server.wait_for(1)
        assert client.push("k", "1", "u") is True
        assert len(server.wait_for(1)) == 1 and server.all_received() == []

    def test_sixteen_threads_share_one_client(self, client, server):
        def work(thread):
            return [client.push("k", "%d-%d" % (thread, i), "u%d" % thread) for i in range(200)]

        threads = []
        results = {}
        for t in range(16):
            threads.append(threading.Thread(target=lambda t=t: results.__setitem__(t, work(t))))
            threads[-1].start()
        for thread in threads:
            thread.join(60)
        assert all(all(r) for r in results.values()) and len(results) == 16
        got = server.wait_for(3200, timeout=10)
        values = collections.Counter(json.loads(urllib.parse.parse_qs(g.query)["tags"][0])["u"]["k"] for g in got)
        assert len(values) == 3200 and set(values.values()) == {1}
        assert server.all_received() == []
        assert server.connections <= 32

    def test_default_settings_refuse_an_unknown_certificate(self, tls_server):
        client = quick(vwo_push.Client(1, "k", endpoint=tls_server.url, retries=3))
        assert client.push("a", "b", "c") is False
        assert tls_server.all_received() == [] and client.waits == []  # not retried

    def test_ssl_context_with_the_ca_accepts(self, tls_server):
        context = ssl.create_default_context(cafile=CA)
        client = vwo_push.Client(1, "k", endpoint=tls_server.url, ssl_context=context)
        for i in range(5):
            assert client.push("a", str(i), "c") is True
        assert len(tls_server.wait_for(5)) == 5 and tls_server.connections == 1

    def test_ssl_cert_file_accepts(self, tls_server, monkeypatch):
        monkeypatch.setenv("SSL_CERT_FILE", CA)
        client = vwo_push.Client(1, "k", endpoint=tls_server.url)
        assert client.push("a", "b", "c") is True
        assert len(tls_server.wait_for(1)) == 1

    def test_https_proxy_tunnels_to_a_name_only_the_proxy_resolves(self, tls_server, proxy, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.server_address[1])
        context = ssl.create_default_context(cafile=CA)
        client = vwo_push.Client(1, SECRET, endpoint="https://collector.test", ssl_context=context, retries=0)
        assert client.push("a", "b", "u") is True
        assert client.push("a", "c", "u") is True
        got = tls_server.wait_for(2)
        assert got[0].headers["Host"] == "collector.test"
        assert proxy.tunnels == ["collector.test:443"]  # one tunnel, kept alive

    def test_a_retry_through_the_proxy_goes_through_the_tunnel_again(self, tls_server, proxy, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.server_address[1])
        tls_server.script.extend([503, Reply(action="close")])
        context = ssl.create_default_context(cafile=CA)
        client = quick(vwo_push.Client(1, "k", endpoint="https://collector.test", ssl_context=context, retries=3))
        assert client.push("a", "b", "u") is True
        got = tls_server.wait_for(3)
        # the close came on a reused connection, so it is taken as an idle close: a new tunnel, no retry used
        assert [g.headers["Host"] for g in got] == ["collector.test"] * 3 and len(client.waits) == 1
        assert len(proxy.tunnels) == 2
        assert set(proxy.tunnels) == {"collector.test:443"}

    def test_https_proxy_tunnel_still_verifies_the_certificate(self, tls_server, proxy, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.server_address[1])
        client = vwo_push.Client(1, "k", endpoint="https://collector.test", retries=0)
        assert client.push("a", "b", "u") is False
        assert proxy.tunnels == ["collector.test:443"] and tls_server.all_received() == []

    def test_no_proxy_is_honoured(self, tls_server, proxy, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % proxy.server_address[1])
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        context = ssl.create_default_context(cafile=CA)
        client = vwo_push.Client(1, "k", endpoint=tls_server.url, ssl_context=context)
        assert client.push("a", "b", "u") is True
        assert proxy.tunnels == [] and len(tls_server.wait_for(1)) == 1


# ---------------------------------------------------------------------------
# Fuzzing push with junk
# ---------------------------------------------------------------------------

class Unprintable:
    def __str__(self):
        raise RuntimeError("no str for you")

    __repr__ = __str__


JUNK = [None, 0, 1, -1, 1.5, float("nan"), True, b"bytes", bytearray(b"x"), [], ["a"], (), {}, {"a": 1},
        set(), Unprintable(), object(), "", "\x00", "\r\n", "\ud800", "a\udfffb", "x" * 256, 10 ** 100]
GOOD = ["a", "plain", "with space", "nul\x00inside", "cr\rlf\n", "emoji😀", "用户", "&=?#%+/", "x" * 255]


def good_text(value, limit=255):
    """The oracle, written apart from vwo_push: a non-empty str, no lone surrogate, within the limit."""
    return (isinstance(value, str) and value != "" and (limit is None or len(value) <= limit)
            and not any("\ud800" <= c <= "\udfff" for c in value))


def fuzz_call(rng):
    """A random call, and whether it is valid."""
    def text():
        return rng.choice(GOOD) if rng.random() < 0.8 else rng.choice(JUNK)

    def user():
        return rng.choice(GOOD + ["u" * 100_000]) if rng.random() < 0.85 else rng.choice(JUNK)

    shape = rng.random()
    if 0.45 <= shape < 0.85:
        size = rng.choice([1, 2, 3, 10_000]) if rng.random() < 0.05 else rng.choice([1, 2, 3])
        pairs = {"k%d" % i: rng.choice(GOOD) for i in range(size)}
        if rng.random() < 0.4:
            hashable = [j for j in JUNK + ["k" * 256] if isinstance(j, collections.abc.Hashable)]
            pairs[rng.choice(hashable) if rng.random() < 0.5 else "bad"] = rng.choice(JUNK)
        if size == 10_000:  # a valid 10,000-pair map would be 10,000 GETs: make it invalid
            pairs[None] = "x"
        uid = user()
        ok = good_text(uid, limit=None) and all(good_text(k) and good_text(v) and k != "vwo_fs_environment"
                                                for k, v in pairs.items())
        return (pairs, uid), ok
    args = (text(), text(), user()) if shape < 0.45 else tuple(
        rng.choice(GOOD + JUNK) for _ in range(rng.choice([0, 1, 2, 4, 5])))
    ok = (len(args) == 3 and good_text(args[0]) and good_text(args[1]) and good_text(args[2], limit=None)
          and args[0] != "vwo_fs_environment")
    return args, ok


class TestFuzz:
    @pytest.mark.parametrize("event_arch, seed, calls", [(False, 20261129, 1200), (True, 7, 400)])
    def test_random_calls_never_raise_and_send_only_valid_input(self, server, event_arch, seed, calls):
        rng = random.Random(seed)
        client = vwo_push.Client(1, SECRET, endpoint=server.url, retries=0, event_arch=event_arch)
        expected = valid = 0
        for _ in range(calls):
            args, ok = fuzz_call(rng)
            result = client.push(*args)
            assert result is ok, (args[:3] if len(repr(args)) < 300 else "long args", ok)
            valid += ok
            if ok:  # standard accounts send one GET a pair, event-architecture ones one POST a call
                expected += len(args[0]) if isinstance(args[0], dict) and not event_arch else 1
        assert 0.2 * calls < valid < 0.8 * calls  # the mix really is mixed
        got = server.wait_for(expected, timeout=10)
        assert len(got) == expected and server.all_received() == []


# ---------------------------------------------------------------------------
# Bulk: push_many
# ---------------------------------------------------------------------------

def events_of(got):
    return json.loads(got.body)["ev"]


class TestPushMany:
    @pytest.mark.parametrize("event_arch, prefix, path", [
        (False, None, "/server-side/batch-events"), (True, None, "/server-side/batch-events"),
        (False, "eu01", "/eu01/server-side/batch-events")])
    def test_batch_request_is_exactly_the_protocol(self, server, event_arch, prefix, path):
        client = vwo_push.Client(654321, SECRET, endpoint=server.url, event_arch=event_arch, collection_prefix=prefix)
        rows = [("42", "browser", "chrome"), ("ünïcode-用户", "q\"&=", "😀 \\")]
        result = client.push_many(rows)
        assert (result.accepted, result.not_accepted, result.failures) == (2, 0, [])
        got, = server.wait_for(1)
        assert (got.method, got.path) == ("POST", path)
        assert got.query == "a=654321&sdk=vwo-python-sdk&sdk-v=1.68.2&env=" + urllib.parse.quote_plus(SECRET)
        assert got.headers["Authorization"] == SECRET
        assert got.headers["Content-Type"] == "application/json"
        sent = events_of(got)
        expected = {"ev": [{"u": expected_u(654321, uid), "sId": event["sId"], "visitor_ua": "", "visitor_ip": "",
                            "t": json.dumps({"u": {key: value}}), "eT": 3}
                           for (uid, key, value), event in zip(rows, sent)]}
        assert got.body == json.dumps(expected).encode()
        assert all(abs(event["sId"] - time.time()) < 60 for event in sent)

    def test_each_row_gets_its_own_users_visitor_id(self, client, server):
        class LooksEqual:
            def __eq__(self, other):
                return True

            __hash__ = object.__hash__

        rows = [("a", "k", "1"), ("a", "k2", "2"), ("b", "k", "3"), ("a", "k", "4"), (LooksEqual(), "k", "5")]
        result = client.push_many(rows)
        assert (result.accepted, result.not_accepted) == (4, 1)
        sent = events_of(server.wait_for(1)[0])
        assert [e["u"] for e in sent] == [expected_u(123456, uid) for uid in "aaba"]

    @pytest.mark.parametrize("batch_size", [1, 7, 1000])
    def test_batches_hold_at_most_batch_size_events(self, server, batch_size):
        client = vwo_push.Client(1, "k", endpoint=server.url)
        rows = (("u%d" % i, "k", str(i)) for i in range(50))  # a generator
        result = client.push_many(rows, batch_size=batch_size)
        assert result.accepted == 50
        sizes = [len(events_of(g)) for g in server.all_received()]
        assert sum(sizes) == 50 and max(sizes) == min(batch_size, 50)

    @pytest.mark.parametrize("batch_size", [0, 5001, 1.5, True])
    def test_batch_size_out_of_range_raises(self, client, batch_size):
        with pytest.raises(ValueError):
            client.push_many([("u", "k", "v")], batch_size=batch_size)

    def test_nothing_is_lost(self, server):
        """One batch refused for good, another failing twice with 503: every row is accounted for."""
        server.script.extend([200, 400, 503, 503])  # batch 1 ok, 2 refused, 3 ok on its third try
        client = quick(vwo_push.Client(1, "k", endpoint=server.url, retries=3))
        rows = [("u%d" % i, "k", "v%d" % i) for i in range(40)] + [("", "k", "bad"), ("u", "k", 5)]
        failures = []
        result = client.push_many(iter(rows), batch_size=10, on_failure=lambda row, why: failures.append((row, why)))
        assert (result.accepted, result.not_accepted) == (30, 12)
        assert result.failures == []
        assert sorted(r for r, _ in failures if r[0] != "" and r[2] != 5) == sorted(rows[10:20])
        assert {why for r, why in failures if r in rows[10:20]} == {"HTTP 400"}
        delivered = collections.Counter()
        batches = server.all_received()
        for got in batches:
            if got is not batches[1] and got not in batches[2:4]:
                delivered.update(json.loads(e["t"])["u"]["k"] for e in events_of(got))
        assert sorted(delivered) == sorted("v%d" % i for i in list(range(10)) + list(range(20, 40)))
        assert set(delivered.values()) == {1}

    def test_failures_are_kept_in_the_result_without_a_callback(self, server):
        server.script.append(400)
        client = vwo_push.Client(1, "k", endpoint=server.url)
        result = client.push_many([("u", "k", "v"), ("u", "", "v")])
        assert result.accepted == 0 and result.not_accepted == 2
        assert sorted(why.split(":")[0] for _, why in result.failures) == ["HTTP 400", "invalid row"]

    def test_413_splits_the_batch_into_halves(self, server):
        server.decide = lambda got: Reply(413) if len(events_of(got)) > 3 else Reply(200)
        client = vwo_push.Client(1, "k", endpoint=server.url)
        result = client.push_many([("u%d" % i, "k", "v") for i in range(10)], batch_size=10)
        assert result.accepted == 10 and result.not_accepted == 0
        sizes = [len(events_of(g)) for g in server.all_received()]
        assert sizes == [10, 5, 2, 3, 5, 2, 3]

    def test_invalid_rows_do_not_stop_the_rest(self, client, server):
        rows = [("u", "k", "v"), None, ("u", "k"), ("u", "k", "v", "x"), ("u", "vwo_fs_environment", "v"),
                (1, "k", "v"), ("u", "k", "v" * 256), ("u", "k2", "v2")]
        result = client.push_many(rows)
        assert result.accepted == 2 and result.not_accepted == 6
        assert all(why.startswith("invalid row") for _, why in result.failures)

    def test_rows_read_before_the_iterable_breaks_are_sent_first(self, client, server):
        def rows():
            for i in range(5):
                yield ("u%d" % i, "k", "v%d" % i)
            raise OSError("export connection lost")

        with pytest.raises(OSError, match="export connection lost"):
            client.push_many(rows(), batch_size=10)
        assert len(events_of(server.wait_for(1)[0])) == 5

    def test_dry_run_sends_nothing(self, server):
        client = vwo_push.Client(1, "k", endpoint=server.url, dry_run=True)
        assert client.push_many([("u", "k", "v")] * 3).accepted == 3
        assert server.all_received() == []


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def run_cli(*args, stdin=None, env=None):
    """The command line as a user runs it: `python vwo_push.py ...`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VWO_") and not k.lower().endswith("_proxy")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(HERE / "vwo_push.py")] + list(args), input=stdin,
                          capture_output=True, env=full_env, timeout=120)


class TestCommandLine:
    def test_pair_form(self, server, capsys):
        code = vwo_push.main(["--account-id", "123456", "--sdk-key", SECRET, "--endpoint", server.url,
                              "browser", "chrome", "user-42"])
        assert code == 0
        got, = server.wait_for(1)
        assert got.query == expected_push_query(got, 123456, "browser", "chrome", "user-42")

    def test_map_form_splits_at_the_first_equals(self, server):
        code = vwo_push.main(["--account-id", "1", "--sdk-key", "k", "--endpoint", server.url,
                              "user-42", "a=b=c", "d="])
        assert code == 2  # "d=" has an empty value: invalid arguments, found before sending
        assert server.all_received() == []
        code = vwo_push.main(["--account-id", "1", "--sdk-key", "k", "--endpoint", server.url, "--event-arch",
                              "user-42", "a=b=c", "x=y"])
        assert code == 0
        got, = server.wait_for(1)
        assert json.loads(got.body)["d"]["visitor"]["props"] == {"vwo_fs_environment": "k", "a": "b=c", "x": "y"}

    def test_environment_configures_and_flags_win(self, server, monkeypatch):
        monkeypatch.setenv("VWO_ACCOUNT_ID", "1")
        monkeypatch.setenv("VWO_SDK_KEY", "k")
        monkeypatch.setenv("VWO_ENDPOINT", "http://127.0.0.1:1")
        monkeypatch.setenv("VWO_COLLECTION_PREFIX", "eu01")
        assert vwo_push.main(["--endpoint", server.url, "--account-id", "2", "a", "b", "c"]) == 0
        got, = server.wait_for(1)
        assert got.path == "/eu01/server-side/push" and "&account_id=2&" in got.query

    def test_dry_run_prints_the_requests_with_the_key_hidden(self, capsys):
        code = vwo_push.main(["--dry-run", "--account-id", "123456", "--sdk-key", SECRET, "--event-arch",
                              "Ashley", "a=b"])
        out = capsys.readouterr().out.splitlines()
        assert code == 0 and len(out) == 2
        method, url = out[0].split(" ", 1)
        assert method == "POST" and url.startswith("https://dev.visualwebsiteoptimizer.com/events/t?en=")
        assert "&env=****&" in url
        body = json.loads(out[1])
        assert body["d"]["visId"] == "4C9BA81BAF53591488EB5FD5E66A98B9"
        assert body["d"]["visitor"]["props"] == {"vwo_fs_environment": "****", "a": "b"}
        code = vwo_push.main(["--dry-run", "--account-id", "1", "--sdk-key", SECRET, "k", "v", "u"])
        out = capsys.readouterr().out.splitlines()
        assert code == 0 and len(out) == 1 and out[0].startswith("GET https://") and "&env=****&" in out[0]

    @pytest.mark.parametrize("args", [
        [], ["a"], ["a", "b"], ["a", "b", "c", "d"], ["u", "a=b", "a=c"], ["--retries", "x", "a", "b", "c"],
        ["--timeout", "0", "a", "b", "c"], ["--endpoint", "http://example.com", "a", "b", "c"],
        ["k" * 256, "v", "u"], ["--file", "x.csv", "extra"], ["--failed", "f.csv", "a", "b", "c"],
        ["--bogus", "a", "b", "c"], ["--quiet", "--verbose", "a", "b", "c"],
    ])
    def test_bad_usage_exits_2_and_sends_nothing(self, server, args, capsys):
        base = ["--account-id", "1", "--sdk-key", "k", "--endpoint", server.url]
        assert vwo_push.main(base + args) == 2
        assert server.all_received() == []
        assert capsys.readouterr().err

    def test_missing_account_exits_2(self, capsys):
        assert vwo_push.main(["a", "b", "c"]) == 2
        assert "account_id" in capsys.readouterr().err

    def test_not_accepted_exits_1_and_says_why(self, server, capsys):
        server.decide = lambda got: Reply(400)
        code = vwo_push.main(["--account-id", "1", "--sdk-key", SECRET, "--endpoint", server.url, "a", "b", "c"])
        err = capsys.readouterr().err
        assert code == 1 and "HTTP 400" in err and SECRET not in err

    def test_verbose_shows_each_request_with_the_key_hidden(self, server, capsys):
        code = vwo_push.main(["--verbose", "--account-id", "1", "--sdk-key", SECRET, "--endpoint", server.url,
                              "u", "a=1", "b=2"])
        err = capsys.readouterr().err
        assert code == 0 and err.count("-> 200") == 2 and "env=****" in err
        assert not any(form in err for form in SECRET_FORMS)

    def test_python_m_and_script_forms_run(self, tmp_path):
        for command in ([sys.executable, "-m", "vwo_push"], [sys.executable, str(HERE / "vwo_push.py")]):
            done = subprocess.run(command + ["--dry-run", "--account-id", "1", "--sdk-key", "k", "a", "b", "c"],
                                  capture_output=True, text=True, cwd=str(HERE), timeout=60)
            assert done.returncode == 0 and done.stdout.startswith("GET https://"), done.stderr


def write(path, text, bom=False):
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def received_rows(server):
    rows = []
    for got in server.all_received():
        for event in events_of(got):
            (key, value), = json.loads(event["t"])["u"].items()
            rows.append((event["u"], key, value))
    return rows


class TestFileCommand:
    def base(self, server):
        return ["--account-id", "1", "--sdk-key", SECRET, "--endpoint", server.url]

    def test_csv_with_quotes_unicode_bom_reordered_and_extra_columns(self, server, tmp_path, capsys):
        path = write(tmp_path / "in.csv", 'note,value,user_id,key\n"a, b","x, y",u1,k1\n'
                                          'z,"用户 ""q""",u2,k2\n', bom=True)
        assert vwo_push.main(self.base(server) + ["--file", path]) == 0
        assert received_rows(server) == [(expected_u(1, "u1"), "k1", "x, y"), (expected_u(1, "u2"), "k2", '用户 "q"')]
        assert capsys.readouterr().err.strip().endswith("2 rows read, 2 accepted, 0 not accepted")

    def test_json_lines_from_stdin(self, server, tmp_path):
        lines = '{"user_id": "u1", "key": "k", "value": "v1"}\n\n{"key": "k", "value": "v2", "user_id": "u2"}\n'
        done = run_cli(*self.base(server), "--file", "-", stdin=lines.encode())
        assert done.returncode == 0, done.stderr
        assert [r[2] for r in received_rows(server)] == ["v1", "v2"]

    def test_invalid_rows_are_named_with_their_line_and_written_to_failed(self, server, tmp_path, capsys):
        path = write(tmp_path / "in.csv", "user_id,key,value,extra\nu1,k,v,e1\nu2,,v,e2\nu3,k\nu4,k,v,e4\n")
        failed = tmp_path / "failed.csv"
        code = vwo_push.main(self.base(server) + ["--file", path, "--failed", str(failed)])
        err = capsys.readouterr().err
        assert code == 1
        assert "line 3: invalid row" in err and "line 4: expected 4 columns" in err
        assert err.strip().endswith("4 rows read, 2 accepted, 2 not accepted")
        assert failed.read_text(encoding="utf-8") == "user_id,key,value,extra\nu2,,v,e2\nu3,k\n"

    def test_malformed_json_lines_are_named_and_kept(self, server, tmp_path, capsys):
        path = write(tmp_path / "in.jsonl", '{"user_id": "u1", "key": "k", "value": "v"}\nnot json\n'
                                            '{"user_id": "u2"}\n{"user_id": "u3", "key": "k", "value": 5}\n')
        failed = tmp_path / "failed.jsonl"
        code = vwo_push.main(self.base(server) + ["--file", path, "--failed", str(failed)])
        err = capsys.readouterr().err
        assert code == 1 and "line 2: not JSON" in err and "line 3: expected" in err and "line 4: invalid" in err
        assert failed.read_text(encoding="utf-8") == (
            'not json\n{"user_id": "u2"}\n{"user_id": "u3", "key": "k", "value": 5}\n')
        assert len(received_rows(server)) == 1
        assert err.strip().endswith("4 rows read, 1 accepted, 3 not accepted")

    @pytest.mark.parametrize("content", ["", "user,key,val\nu,k,v\n", "\xff"])
    def test_unusable_file_exits_2_before_sending(self, server, tmp_path, content, capsys):
        path = tmp_path / "in.csv"
        path.write_bytes(content.encode("latin-1"))
        assert vwo_push.main(self.base(server) + ["--file", str(path)]) == 2
        assert server.all_received() == []

    def test_a_file_that_breaks_off_sends_what_was_read_and_says_where_it_stopped(self, server, tmp_path, capsys):
        good = "".join("user-%d,plan,p%d\n" % (i, i) for i in range(2000))  # well past the decoder's first chunk
        path = tmp_path / "in.csv"
        path.write_bytes(b"user_id,key,value\n" + good.encode() + b"u,k,\xff\n")
        assert vwo_push.main(self.base(server) + ["--file", str(path), "--batch-size", "5000"]) == 1
        err = capsys.readouterr().err
        sent = len(received_rows(server))
        assert 0 < sent <= 2000 and "stopped after %d rows: cannot read the rest" % sent in err

    def test_missing_file_exits_2(self, server, tmp_path, capsys):
        assert vwo_push.main(self.base(server) + ["--file", str(tmp_path / "nope.csv")]) == 2
        assert "cannot read" in capsys.readouterr().err

    def test_dry_run_prints_the_batches(self, tmp_path, capsys):
        path = write(tmp_path / "in.csv", "user_id,key,value\nu1,k,v\nu2,k,v\nu3,k,v\n")
        code = vwo_push.main(["--dry-run", "--account-id", "1", "--sdk-key", SECRET, "--file", path,
                              "--batch-size", "2"])
        captured = capsys.readouterr()
        out = captured.out.splitlines()
        assert captured.err.strip().endswith("3 rows read, 3 accepted, 0 not accepted "
                                             "(dry run: valid rows counted as accepted, nothing sent)")
        assert code == 0 and len(out) == 4
        assert out[0] == "POST https://dev.visualwebsiteoptimizer.com/server-side/batch-events?a=1" \
                         "&sdk=vwo-python-sdk&sdk-v=1.68.2&env=****"
        assert len(json.loads(out[1])["ev"]) == 2 and len(json.loads(out[3])["ev"]) == 1

    @pytest.mark.parametrize("size", ["0", "5001", "x"])
    def test_batch_size_out_of_range_is_bad_usage(self, server, tmp_path, size, capsys):
        path = write(tmp_path / "in.csv", "user_id,key,value\nu,k,v\n")
        assert vwo_push.main(self.base(server) + ["--file", path, "--batch-size", size]) == 2

    def test_hundred_thousand_rows_with_one_refused_batch_and_a_rerun(self, server, tmp_path):
        lines = ["user_id,key,value,row"] + ["user-%d,plan,p%d,%d" % (i % 5000, i, i) for i in range(100_000)]
        path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
        refused = "p50000"  # the batch holding this row is refused for good
        server.decide = lambda got: Reply(400) if b'\\"' + refused.encode() + b'\\"' in got.body else Reply(200)
        failed = tmp_path / "failed.csv"
        done = run_cli(*self.base(server), "--file", path, "--failed", str(failed))
        assert done.returncode == 1
        err = done.stderr.decode()
        assert err.count("not accepted: HTTP 400") == 1 and "(lines 50002-51001)" in err
        assert err.strip().endswith("100000 rows read, 99000 accepted, 1000 not accepted")
        got = received_rows(server)
        values = collections.Counter(v for _, _, v in got)
        refused_rows = failed.read_text().splitlines()
        assert refused_rows[0] == "user_id,key,value,row" and len(refused_rows) == 1001
        assert len(values) == 100_000 and set(values.values()) == {1}  # the refused batch arrived once, was refused
        accepted = set(values) - {row.split(",")[2] for row in refused_rows[1:]}
        assert len(accepted) + len(refused_rows) - 1 == 100_000

        server.decide = None
        done = run_cli(*self.base(server), "--file", str(failed), "--failed", str(tmp_path / "again.csv"))
        assert done.returncode == 0, done.stderr
        assert sorted(v for _, _, v in received_rows(server)) == sorted(r.split(",")[2] for r in refused_rows[1:])
        assert (tmp_path / "again.csv").read_text() == ""

    @pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
    def test_progress_is_shown_while_stderr_is_a_terminal(self, server, tmp_path):
        path = write(tmp_path / "in.csv", "user_id,key,value\n" + "u,k,v\n" * 30)
        leader, follower = os.openpty()
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        with subprocess.Popen([sys.executable, str(HERE / "vwo_push.py")] + self.base(server) +
                              ["--file", path, "--batch-size", "10"], stderr=follower, env=env) as proc:
            os.close(follower)
            shown = b""
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                shown += chunk
            assert proc.wait(60) == 0
        os.close(leader)
        assert b"\r\x1b[Kvwo-push: 10 rows read, 10 accepted, 0 not accepted" in shown
        assert shown.rstrip().endswith(b"vwo-push: 30 rows read, 30 accepted, 0 not accepted")

    def test_quiet_prints_only_failures_and_the_summary(self, server, tmp_path, capsys):
        path = write(tmp_path / "in.csv", "user_id,key,value\nu,k,v\nu,,v\n")
        assert vwo_push.main(self.base(server) + ["--quiet", "--file", path]) == 1
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 2 and err[0].startswith("vwo-push: line 3: invalid row")


# ---------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------

class TestSecrets:
    def test_no_log_record_exception_or_repr_holds_the_key(self, server, tls_server, caplog, capsys):
        root = logging.getLogger()
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="vwo_push"):
            assert root.isEnabledFor(logging.DEBUG)
            client = quick(vwo_push.Client(1, SECRET, endpoint=server.url, retries=2))
            texts = [repr(client), str(client)]
            server.script.extend([503, 400, Reply(action="close"), Reply(action="reset")])
            client.push("a", "b", "c")
            client.push({"a": "b", "c": "d"}, "u")
            client.push("a", SECRET, "u")  # even where a caller puts the key in a value
            client.push(SECRET, 5, "u")
            client.push_many([("u", "k", "v"), ("u", SECRET, 1)])
            vwo_push.Client(1, SECRET, endpoint=tls_server.url, retries=0).push("a", "b", "c")
            vwo_push.Client(1, SECRET, event_arch=True, dry_run=True).push("a", "b", "c")
            for bad in ({"sdk_key": SECRET + " "}, {"account_id": SECRET}, {"endpoint": "http://" + SECRET}):
                config = {"account_id": 1, "sdk_key": SECRET}
                config.update(bad)
                with pytest.raises(ValueError) as info:
                    vwo_push.Client(**config)
                texts.append(str(info.value))
            with pytest.raises(ValueError) as info:
                vwo_push.Client(1, SECRET).build_requests(SECRET, 5, "u")
            texts.append(str(info.value))
            vwo_push.main(["--verbose", "--account-id", "1", "--sdk-key", SECRET, "--endpoint", server.url,
                           "u", "a=" + SECRET])
            vwo_push.main(["--dry-run", "--account-id", "1", "--sdk-key", SECRET, "--event-arch", "a", "b", "c"])
        assert caplog.records, "the scenario logged nothing: the check would prove nothing"
        out = capsys.readouterr()
        texts += [r.getMessage() for r in caplog.records] + [caplog.text, out.out, out.err]
        texts += [str(r.exc_info) for r in caplog.records if r.exc_info]
        leaks = [t for t in texts for form in SECRET_FORMS if form in t]
        assert leaks == []
        assert "****" in out.out


# ---------------------------------------------------------------------------
# Vendoring and cold start
# ---------------------------------------------------------------------------

def stdlib_names():
    if hasattr(sys, "stdlib_module_names"):
        return set(sys.stdlib_module_names)
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    names = set(sys.builtin_module_names)
    for entry in stdlib.iterdir():
        if entry.name != "site-packages":
            names.add(entry.name.split(".")[0])
    for entry in (stdlib / "lib-dynload").iterdir():
        names.add(entry.name.split(".")[0])
    return names


class TestVendoring:
    def test_imports_only_the_standard_library(self):
        tree = ast.parse((HERE / "vwo_push.py").read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
        assert "http" in names and "urllib" in names  # the walk did see the imports
        assert names - stdlib_names() - {"__future__"} == set()

    def test_a_copy_alone_imports_and_pushes_under_isolated_mode(self, tmp_path):
        shutil.copy(str(HERE / "vwo_push.py"), str(tmp_path))
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import vwo_push; "
                "c = vwo_push.Client(88888888, 'k', dry_run=True); "
                "r, = c.build_requests('a', 'b', 'user-1'); assert c.push('a', 'b', 'user-1') is True; "
                "print(vwo_push.__file__, r.full_url)")
        done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(tmp_path)], capture_output=True,
                              text=True, cwd=str(tmp_path), timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(str(tmp_path)) and "&u=15E778314C8E5648849E5F42E31A5904&" in done.stdout

    def test_import_loads_no_network_json_or_logging_module(self):
        code = ("import sys; before = set(sys.modules); sys.path.insert(0, sys.argv[1]); import vwo_push; "
                "print(' '.join(sorted(set(sys.modules) - before)))")
        done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(HERE)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        loaded = set(done.stdout.split())
        assert "vwo_push" in loaded
        heavy = {"urllib", "urllib.request", "urllib.parse", "http", "http.client", "ssl", "json", "logging",
                 "functools", "typing", "hashlib", "random", "socket", "threading", "email"}
        assert loaded & heavy == set()

    def test_version_is_semver(self):
        parts = vwo_push.__version__.split(".")
        assert len(parts) == 3 and all(p.isdigit() for p in parts)

    def test_public_names_are_those_of_the_design(self):
        assert sorted(vwo_push.__all__) == ["Client", "PushManyResult", "launch", "main", "push"]
        public = {n for n in dir(vwo_push.Client) if not n.startswith("_")}
        assert public == {"build_requests", "push", "push_many"}
