#!/usr/bin/env python3
"""Echo server on Python `websockets` (asyncio API, 17.x), a peer of
autobahn/parity.py: every text and binary message goes back as it came.

usage: python3 websockets_server.py --listen 127.0.0.1:PORT

Settings are the library's defaults (permessage-deflate offered to and
accepted from clients, UTF-8 checked per message) except two, as in the
library's own Autobahn setup (compliance/): max_size 32 MiB instead of
1 MiB, since section 9 sends messages of up to 16 MiB, and no keepalive
pings, so that a slow case never sees a ping it did not ask for.
Stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(host, port):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(echo, host, port, max_size=2**25, ping_interval=None):
        print(f"websockets_server on {host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:9001", help="HOST:PORT")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    asyncio.run(main(host, int(port)))
