// A websocket to this server that reconnects by itself with a growing delay.
// `onOpen` runs on every (re)connection so the page can say hello again.

export function socket(path, { onOpen, onMessage, onClose }) {
  let ws = null;
  let stopped = false;
  let delay = 500;
  let timer = null;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;

  const open = () => {
    timer = null;
    if (stopped) return;
    ws = new WebSocket(url);
    ws.addEventListener("open", () => {
      delay = 500;
      if (onOpen) onOpen();
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(frame);
    });
    ws.addEventListener("close", (event) => {
      ws = null;
      // 1008: the server refused what we sent, 4401-ish / policy: let the page decide.
      const retry = onClose ? onClose(event) !== false : true;
      if (!stopped && retry) {
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 8000);
      }
    });
  };
  open();

  return {
    send(frame) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(frame));
        return true;
      }
      return false;
    },
    get open() {
      return Boolean(ws && ws.readyState === WebSocket.OPEN);
    },
    // Drop the current connection and open a fresh one now (rejoin, network change).
    restart() {
      stopped = false;
      delay = 500;
      if (ws) ws.close();
      else if (!timer) open();
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (ws) ws.close();
    },
  };
}
