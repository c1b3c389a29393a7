// The PeerJS signalling server (npm `peer`) on loopback, for bench/bench_signal_relay.py.
// Usage: node server.js PORT   -> prints "ready PORT" once it listens.
// Peers connect to ws://127.0.0.1:PORT/peerjs/peerjs?key=peerjs&id=ID&token=TOKEN.
const { PeerServer } = require("peer");

const port = Number(process.argv[2] || 9000);
// A long alive_timeout: the benchmark's peers send no HEARTBEAT while they measure.
PeerServer({ port, host: "127.0.0.1", path: "/peerjs", alive_timeout: 600000 }, () =>
  console.log(`ready ${port}`),
);
