#!/usr/bin/env python3
"""One chat client per server (Python `websockets`), all in one room: each
sends its share of MESSAGES room messages numbered from 0, and every
client checks that it receives every sender's messages exactly once and
in order. Prints PASS lines and DONE; exits non-zero on any violation.

    cluster_order.py MESSAGES ws://server1/chat ws://server2/chat …
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect

WINDOW = 100  # own messages in flight before waiting for our own copy


def fail(why):
    print(f"FAIL {why}", flush=True)
    sys.exit(1)


async def client(name, url, share, everyone, ready, go, results):
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
                    await ws.send(json.dumps({"type": "say", "text": f"{name} {sent}"}))
                    sent += 1
                    continue
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.05 if go.is_set() else 60)
                except asyncio.TimeoutError:
                    continue
            m = json.loads(raw)
            if m["type"] == "presence" and not announced and sorted(m["users"]) == sorted(everyone):
                announced = True
                ready.release()
                continue
            if m["type"] == "undelivered":
                fail(f"{name}: reported undelivered: {m}")
            if m["type"] != "message" or m["room"] != "order":
                continue
            sender, seq = m["text"].rsplit(" ", 1)
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
    total = int(sys.argv[1])
    urls = sys.argv[2:]
    names = [f"c{i + 1}" for i in range(len(urls))]
    shares = {n: total // len(urls) + (1 if i < total % len(urls) else 0) for i, n in enumerate(names)}
    ready = asyncio.Semaphore(0)
    go = asyncio.Event()
    results = {}
    tasks = [
        asyncio.create_task(client(n, u, shares[n], shares, ready, go, results))
        for n, u in zip(names, urls)
    ]

    async def start_when_all_present():
        for _ in names:
            await ready.acquire()
        print("PASS every client sees every server's client in presence", flush=True)
        go.set()

    await asyncio.wait_for(asyncio.gather(start_when_all_present(), *tasks), 300)
    for n in names:
        if results.get(n) != total:
            fail(f"{n} received {results.get(n)} of {total}")
    print(f"PASS {total} room messages from {len(names)} servers, each received by every client once and in order per sender", flush=True)
    print("DONE", flush=True)


asyncio.run(main())
