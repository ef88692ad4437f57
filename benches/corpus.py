#!/usr/bin/env python3
"""Message corpora for `ws6455 bench --ratio` (benches/deflate.sh), written
as JSON Lines (one JSON string per line), the same bytes on every run.

* chat.jsonl: a chat session in the chat demo's wire format
  (cli/src/apps/chat.rs `ToPage`): room messages, direct messages,
  presence lists, joins and leaves, room lists; 3,000 messages.
* mixed.jsonl: text of several kinds taking turns, as a general-purpose
  connection carries it: README paragraphs, Rust source blocks, HTML and
  script of the demo pages, chat JSON; 3,000 messages, each under 8 KiB.

    python3 benches/corpus.py OUT_DIR
"""
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("the a to and of is in it you that was for on are with as I his they be at one have this from or had by "
         "hot word but what some we can out other were all there when up use your how said an each she which do "
         "their time if will way about many then them write would like so these her long make thing see him two "
         "has look more day could go come did number sound no most people my over know water than call first who "
         "may down side been now find game score level lobby ready win lost again nice gg lol ok thanks").split()
NICKS = [f"{a}{b}" for a in ("ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo")
         for b in ("", "_", "42", "x")]
ROOMS = ["lobby", "general", "random", "game-7", "help"]


def sentence(rng):
    n = rng.randint(2, 18)
    words = [rng.choice(WORDS) for _ in range(n)]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", "!", "?", "", " :)"])


def chat_messages(rng, count):
    t = 1_764_000_000_000
    online = {room: set(rng.sample(NICKS, 8)) for room in ROOMS}
    out = []
    while len(out) < count:
        t += rng.randint(50, 4000)
        room = rng.choice(ROOMS)
        kind = rng.random()
        if kind < 0.70:
            msg = {"type": "message", "room": room, "from": rng.choice(sorted(online[room])),
                   "text": sentence(rng), "time": t}
        elif kind < 0.80:
            a, b = rng.sample(NICKS, 2)
            msg = {"type": "dm", "from": a, "to": b, "text": sentence(rng), "time": t}
        elif kind < 0.88:
            nick = rng.choice(NICKS)
            if nick in online[room]:
                online[room].discard(nick)
                msg = {"type": "left", "room": room, "nick": nick, "reason": rng.choice(["left", "closed"])}
            else:
                online[room].add(nick)
                msg = {"type": "joined", "room": room, "nick": nick}
        elif kind < 0.97:
            msg = {"type": "presence", "room": room, "users": sorted(online[room])}
        else:
            msg = {"type": "rooms", "rooms": [{"name": r, "users": len(online[r])} for r in ROOMS]}
        out.append(json.dumps(msg, separators=(",", ":")))
    return out


def blocks(text, limit=8000):
    """Paragraphs (split at blank lines) joined up to about 1–4 KiB."""
    out, cur = [], ""
    for para in text.split("\n\n"):
        para = para[:limit]
        if cur and len(cur) + len(para) > 4000:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n\n{para}" if cur else para
        if len(cur) >= 1000:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def mixed_messages(rng, count):
    sources = {
        "prose": blocks((ROOT / "README.md").read_text()),
        "rust": [b for p in sorted((ROOT / "proto" / "src").rglob("*.rs")) for b in blocks(p.read_text())],
        "html": [b for p in sorted((ROOT / "cli" / "src" / "apps").glob("*.html")) for b in blocks(p.read_text())],
        "json": chat_messages(rng, count),
    }
    turns = [0] * len(sources)
    out = []
    names = sorted(sources)
    while len(out) < count:
        i = len(out) % len(names)
        items = sources[names[i]]
        out.append(items[turns[i] % len(items)])
        turns[i] += 1
    return out


def main():
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, messages in (("chat", chat_messages(random.Random(6455), 3000)),
                           ("mixed", mixed_messages(random.Random(7692), 3000))):
        with open(out_dir / f"{name}.jsonl", "w") as f:
            for m in messages:
                f.write(json.dumps(m) + "\n")


if __name__ == "__main__":
    main()
