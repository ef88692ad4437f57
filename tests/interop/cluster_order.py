#!/usr/bin/env python3
"""One chat client per server (Python `websockets`), all in one room: each
sends its share of MESSAGES room messages numbered from 0, and every
client checks that it receives every sender's messages exactly once and
in order. Prints PASS lines and DONE; exits non-zero on any violation.

    cluster_order.py [--size BYTES] [--stalled URL] MESSAGES ws://server1/chat …

With --stalled, one more client joins the room on URL and never reads
again: the others must still get everything, at full speed (the server
drops what the stalled client's output buffer cannot hold).
"""

import argparse
import asyncio
import json
import sys

from websockets.asyncio.client import connect

WINDOW = 100  # own messages in flight before waiting for our own copy


def fail(why):
    print(f"FAIL {why}", flush=True)
    sys.exit(1)


async def stalled(url, ready):
    """Joins, waits to be seen, then never reads again."""
    async with connect(url, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "join", "room": "order", "nick": "stalled"}))
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if m["type"] == "joined" and m["nick"] == "stalled":
                break
        ready.release()
        await asyncio.sleep(3600)


async def client(name, url, share, everyone, ready, go, results, pad):
    async with connect(url, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "join", "room": "order", "nick": name}))
        expected = {sender: n for sender, n in everyone.items()}
        next_seq = {sender: 0 for sender in everyone}
        sent = 0
        own_seen = -1
        announced = False
        while True:
            if not announced:
                raw = await asyncio.wait_for(ws.recv(), 60)
            else:
                if go.is_set() and sent < share and sent - own_seen <= WINDOW:
                    await ws.send(json.dumps({"type": "say", "text": f"{pad}{name} {sent}"}))
                    sent += 1
                    continue
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.05 if go.is_set() else 60)
                except asyncio.TimeoutError:
                    continue
            m = json.loads(raw)
            if m["type"] == "presence" and not announced and set(everyone) <= set(m["users"]):
                announced = True
                ready.release()
                continue
            if m["type"] == "undelivered":
                fail(f"{name}: reported undelivered: {m}")
            if m["type"] != "message" or m["room"] != "order":
                continue
            sender, seq = m["text"].lstrip(".").rsplit(" ", 1)
            seq = int(seq)
            if sender not in next_seq:
                fail(f"{name}: message from unknown sender {sender}")
            if seq != next_seq[sender]:
                kind = "duplicate" if seq < next_seq[sender] else "gap or reorder"
                fail(f"{name}: {kind} from {sender}: got {seq}, expected {next_seq[sender]}")
            next_seq[sender] = seq + 1
            if sender == name:
                own_seen = seq
            if all(next_seq[s] == expected[s] for s in everyone) and sent == share:
                results[name] = sum(next_seq.values())
                return


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=0, help="pad each message to about this many characters")
    parser.add_argument("--stalled", help="a client on this URL that never reads")
    parser.add_argument("messages", type=int)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    total, urls = args.messages, args.urls
    pad = "." * max(0, args.size - 10)
    names = [f"c{i + 1}" for i in range(len(urls))]
    shares = {n: total // len(urls) + (1 if i < total % len(urls) else 0) for i, n in enumerate(names)}
    ready = asyncio.Semaphore(0)
    go = asyncio.Event()
    results = {}
    tasks = [
        asyncio.create_task(client(n, u, shares[n], shares, ready, go, results, pad))
        for n, u in zip(names, urls)
    ]
    waits = len(names)
    if args.stalled:
        stuck = asyncio.create_task(stalled(args.stalled, ready))
        waits += 1

    async def start_when_all_present():
        for _ in range(waits):
            await ready.acquire()
        print("PASS every client sees every server's client in presence", flush=True)
        go.set()

    await asyncio.wait_for(asyncio.gather(start_when_all_present(), *tasks), 300)
    for n in names:
        if results.get(n) != total:
            fail(f"{n} received {results.get(n)} of {total}")
    print(f"PASS {total} room messages from {len(names)} servers, each received by every client once and in order per sender", flush=True)
    if args.stalled:
        stuck.cancel()
        print("PASS a client that never reads slowed nobody", flush=True)
    print("DONE", flush=True)


asyncio.run(main())
