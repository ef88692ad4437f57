#!/usr/bin/env python3
"""Autobahn client on Python `websockets` (asyncio API, 17.x), a peer of
autobahn/parity.py: asks the fuzzingserver (wstest -m fuzzingserver or
`ws6455 conformance client`) for /getCaseCount, runs every case on
/runCase?case=N&agent=A echoing each text and binary message, then asks
for /updateReports?agent=A.

usage: python3 websockets_client.py [--url ws://127.0.0.1:9001] [--agent websockets]

Settings are the library's defaults (permessage-deflate offered, UTF-8
checked per message) except max_size 32 MiB (section 9 sends up to
16 MiB), no keepalive pings and no proxy from the environment.
Exit 0 once the reports were asked for, 1 if the fuzzingserver could not
be reached for /getCaseCount or /updateReports.
"""

import argparse
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

OPTIONS = dict(max_size=2**25, ping_interval=None, proxy=None)


async def main(url, agent):
    async with connect(f"{url}/getCaseCount", **OPTIONS) as ws:
        count = int(await ws.recv())
    print(f"websockets_client: {count} cases", file=sys.stderr)
    for case in range(1, count + 1):
        try:
            async with connect(f"{url}/runCase?case={case}&agent={agent}", **OPTIONS) as ws:
                async for message in ws:
                    await ws.send(message)
        except ConnectionClosed:
            pass
        except (WebSocketException, OSError) as e:
            print(f"case {case}: {e!r}", file=sys.stderr)
    async with connect(f"{url}/updateReports?agent={agent}", **OPTIONS) as ws:
        try:
            await ws.recv()
        except ConnectionClosed:
            pass
    print("websockets_client: reports updated", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9001")
    parser.add_argument("--agent", default="websockets")
    args = parser.parse_args()
    try:
        asyncio.run(main(args.url.rstrip("/"), args.agent))
    except (WebSocketException, OSError) as e:
        print(f"websockets_client: {e!r}", file=sys.stderr)
        sys.exit(1)
