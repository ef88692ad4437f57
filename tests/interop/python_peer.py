#!/usr/bin/env python3
"""Python `websockets` as a peer of ws6455 (driven by tests/interop_python.rs).

    python_peer.py client URL SMALL  run the scenario against `ws6455 serve`'s echo
                                     (SMALL: a serve with --max-message 1000)
    python_peer.py oversize URL      send 16 MiB + 1 byte, print the close code received
    python_peer.py wait-close URL    connect, print CONNECTED, wait for the server to close
    python_peer.py server            a scripted server for ws6455's client (prints LISTENING port)

Over TLS: a wss:// URL is checked against the CA in $WS6455_TLS_CA; the
server speaks TLS with $WS6455_TLS_CERT and $WS6455_TLS_KEY when both are set.

Every check prints `PASS <what>`; the first failure prints `FAIL <what>` and
exits 1. The server prints one `CLOSED <code> <reason>` line per connection
with the close frame it received, so the Rust side can see what arrived.
"""

import asyncio
import os
import ssl
import sys

from websockets.asyncio.client import connect as plain_connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

LIMIT = 1 << 25  # above ws6455's 16 MiB so ws6455's own limit is what we test
MIB16 = 16 << 20
SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, MIB16]


def client_tls():
    """The TLS context for wss:// URLs: trusts the test's CA only."""
    ca = os.environ.get("WS6455_TLS_CA")
    return ssl.create_default_context(cafile=ca) if ca else None


def connect(url, **kwargs):
    if url.startswith("wss://"):
        kwargs["ssl"] = client_tls()
    return plain_connect(url, **kwargs)


def server_tls():
    cert, key = os.environ.get("WS6455_TLS_CERT"), os.environ.get("WS6455_TLS_KEY")
    if not (cert and key):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def say(line):
    print(line, flush=True)


def check(ok, what):
    if not ok:
        say(f"FAIL {what}")
        sys.exit(1)
    say(f"PASS {what}")


async def client(url, small_url):
    async with connect(url, max_size=LIMIT, subprotocols=["nope", "ws6455.echo"],
                       ping_interval=None, open_timeout=10) as ws:
        check(ws.subprotocol == "ws6455.echo", "subprotocol ws6455.echo selected")

        for n in SIZES:
            text = ("é" * (n // 2)) + ("x" * (n % 2))  # n bytes of UTF-8, 2-byte chars
            await ws.send(text)
            check(await ws.recv() == text, f"text echo {n} bytes")
            data = os.urandom(n)
            await ws.send(data)
            check(await ws.recv() == data, f"binary echo {n} bytes")

        # Fragmented messages: an iterable sends one frame per item.
        await ws.send(["frag", "mented ", "wörld"])
        check(await ws.recv() == "fragmented wörld", "fragmented text echo")
        await ws.send([b"\x00\x01", b"", b"\x02"])
        check(await ws.recv() == b"\x00\x01\x02", "fragmented binary echo")
        chunks = [os.urandom(1 << 20) for _ in range(16)]
        await ws.send(chunks)
        check(await ws.recv() == b"".join(chunks), "16 x 1 MiB fragments echo")

        # Ping/pong: ws6455 must answer with the same payload (§5.5.3).
        waiter = await ws.ping(b"py-ping")
        latency = await asyncio.wait_for(waiter, 10)
        check(latency >= 0, "ping answered by a pong")

    async with connect(url, subprotocols=["nope"], open_timeout=10) as ws:
        check(ws.subprotocol is None, "no subprotocol when none is supported")

    for code in (1000, 1001, 3000, 4999):
        ws = await connect(url, open_timeout=10)
        await ws.close(code, f"python says {code}")
        rcvd = ws.protocol.close_rcvd
        check(rcvd is not None and rcvd.code == code, f"client close {code} echoed by the server")

    # One byte over the limit of a server started with --max-message 1000:
    # ws6455 fails the connection with 1009 (§7.4.1).
    async with connect(small_url, open_timeout=10) as ws:
        await ws.send(b"\x01" * 1000)
        check(await ws.recv() == b"\x01" * 1000, "a message at the limit is echoed")
        await ws.send(b"\x00" * 1001)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "oversized message refused")
        except ConnectionClosed:
            pass
        rcvd = ws.protocol.close_rcvd
        check(rcvd is not None and rcvd.code == 1009,
              "server close 1009 for a message over the limit")

    # A server-initiated closing handshake with a reason: the chat refuses
    # binary messages with 1003 (§7.4.1).
    chat = url.rsplit("/", 1)[0] + "/chat"
    async with connect(chat, open_timeout=10) as ws:
        await ws.send(b"\x00")
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed:
            pass
        rcvd = ws.protocol.close_rcvd
        check(rcvd is not None and (rcvd.code, rcvd.reason) == (1003, "the chat speaks JSON text"),
              "server close 1003 with a reason")


async def oversize(url):
    """16 MiB + 1 byte: ws6455 fails on the frame header, while we are still
    sending the payload."""
    ws = await connect(url, max_size=LIMIT, open_timeout=10)
    try:
        await ws.send(b"\x00" * (MIB16 + 1))
        await asyncio.wait_for(ws.recv(), 10)
        check(False, "oversized message refused")
    except ConnectionClosed:
        pass
    rcvd = ws.protocol.close_rcvd
    say(f"CLOSED {rcvd.code if rcvd else 'none'}")


async def wait_close(url):
    async with connect(url, open_timeout=10) as ws:
        say("CONNECTED")
        try:
            await asyncio.wait_for(ws.recv(), 30)
        except ConnectionClosed:
            pass
        rcvd = ws.protocol.close_rcvd
        say(f"CLOSED {rcvd.code if rcvd else 'none'} {rcvd.reason if rcvd else ''}")


async def handler(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("cmd:"):
                command, _, arg = message[4:].partition(" ")
                if command == "close":
                    code, _, reason = arg.partition(" ")
                    await ws.close(int(code), reason)
                elif command == "fragments":
                    await ws.send(arg.split(","))
                elif command == "binary-fragments":
                    await ws.send([part.encode() for part in arg.split(",")])
                elif command == "ping":
                    waiter = await ws.ping(arg.encode())
                    await asyncio.wait_for(waiter, 10)
                    await ws.send(f"pong-received {arg}")
                elif command == "subprotocol":
                    await ws.send(ws.subprotocol or "none")
                else:
                    await ws.send(f"unknown command {command}")
            else:
                await ws.send(message)
    except ConnectionClosed:
        pass
    rcvd = ws.protocol.close_rcvd
    say(f"CLOSED {rcvd.code if rcvd else 'none'} {rcvd.reason if rcvd else ''}")


def select_subprotocol(connection, offered):
    # websockets refuses the handshake (400) when nothing offered matches;
    # the RFC lets a server accept without a subprotocol instead (§4.2.2).
    return "ws6455.test" if "ws6455.test" in offered else None


async def server():
    async with serve(handler, "127.0.0.1", 0, select_subprotocol=select_subprotocol,
                     max_size=LIMIT, ping_interval=None, ssl=server_tls()) as srv:
        port = srv.sockets[0].getsockname()[1]
        say(f"LISTENING {port}")
        # Until the test closes our stdin (or kills us).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main():
    if os.environ.get("WS6455_PEER_DEBUG"):
        import logging
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "client":
        asyncio.run(client(sys.argv[2], sys.argv[3]))
        say("DONE")
    elif mode == "oversize":
        asyncio.run(oversize(sys.argv[2]))
    elif mode == "wait-close":
        asyncio.run(wait_close(sys.argv[2]))
    elif mode == "server":
        asyncio.run(server())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
