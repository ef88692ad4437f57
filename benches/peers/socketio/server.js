// A Socket.IO 4 fan-out server for benches/cluster.sh: every "publish"
// event from any socket is emitted as "m" to every socket of every server
// sharing the Redis (@socket.io/redis-adapter), the sender's own socket
// included (`ws6455 bench --fanout --socketio` ignores what its publisher
// receives). WebSocket transport only, no compression, no client bundle:
// what a deployment tuned for throughput would run.
//
//   node server.js PORT REDIS_URL      # e.g. node server.js 9101 redis://127.0.0.1:6390
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const [port, redisUrl] = process.argv.slice(2);
if (!port || !redisUrl) {
  console.error("usage: node server.js PORT REDIS_URL");
  process.exit(2);
}

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on("error", (e) => console.error(`redis: ${e.message}`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ["websocket"],
    perMessageDeflate: false,
    serveClient: false,
    adapter: createAdapter(pubClient, subClient),
  });
  io.on("connection", (socket) => {
    socket.on("publish", (payload) => io.emit("m", payload));
  });
  httpServer.listen(Number(port), "127.0.0.1", () => {
    console.log(`socket.io fan-out server on ws://127.0.0.1:${port} (redis ${redisUrl})`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
