"""A keep-alive HTTP/1.1 collector for the bench, in its own process: answers 200 to everything.

It counts requests and batch events so that the bench can check that every push arrived.
GET /__stats answers {"requests": N, "events": M} and resets nothing.
"""

import asyncio
import json
import sys

STATS = {"requests": 0, "events": 0}
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Collector(asyncio.Protocol):
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
                length = int(head[start + 15:head.find(b"\r\n", start) if head.find(b"\r\n", start) > 0 else None])
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[head_end + 4:total])
            del self.buffer[:total]
            if head.startswith(b"get /__stats"):
                payload = json.dumps(STATS).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
                continue
            STATS["requests"] += 1
            STATS["events"] += body.count(b'"eT": 3')
            self.transport.write(OK)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Collector, "127.0.0.1", 0, backlog=256)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
