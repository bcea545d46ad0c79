"""A keep-alive HTTP/1.1 collector for the bench, in its own process: answers 200 to everything.

    python server.py [--tls CERT_AND_KEY.pem] [--silent] [--delay SECONDS]

It prints its port, counts requests and events so that the bench can check that every push
arrived, and serves an FME settings file at /server-side/v2-settings (the FME SDK fetches it
before anything else).  GET /__stats answers {"requests": N, "events": M}.  --silent reads
requests and never answers (a server that hangs); --delay holds each answer that long (a
collector at a real distance, say 0.1 s); --tls serves https with the given cert.
"""

import argparse
import asyncio
import json
import ssl
import sys

STATS = {"requests": 0, "events": 0}
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
SETTINGS = json.dumps({"version": 1, "accountId": 123456, "sdkKey": "bench0sdk0key0000000000000000000",
                       "campaigns": [], "features": []}).encode()


class Collector(asyncio.Protocol):
    silent = False
    delay = 0.0

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self.buffer[:head_end]).lower()
            length = 0
            start = head.find(b"content-length:")
            if start >= 0:
                end = head.find(b"\r\n", start)
                length = int(head[start + 15:end if end > 0 else None])
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[head_end + 4:total])
            del self.buffer[:total]
            if head.startswith(b"get /__stats"):
                payload = json.dumps(STATS).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
                continue
            if b"/server-side/v2-settings" in head.split(b"\r\n", 1)[0]:
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d"
                                     b"\r\n\r\n%s" % (len(SETTINGS), SETTINGS))
                continue
            STATS["requests"] += 1
            STATS["events"] += body.count(b'"eT": 3') + body.count(b'"name": "vwo_syncVisitorProp"') or 1
            if self.delay:  # answers keep their order on a connection: each is due `delay` after its request
                asyncio.get_running_loop().call_later(self.delay, self.transport.write, OK)
            elif not self.silent:
                self.transport.write(OK)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls")
    parser.add_argument("--silent", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    opts = parser.parse_args()
    Collector.silent, Collector.delay = opts.silent, opts.delay
    context = None
    if opts.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(opts.tls)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Collector, "127.0.0.1", 0, backlog=256, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
