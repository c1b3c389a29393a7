// A websocket to this server that reconnects by itself, soon: a restart of the server
// must find every page back within 2 s of it answering, so the delay stays short (with a
// little jitter, so a waiting room full of pages does not knock all at once).
// `onOpen` runs on every (re)connection so the page can say hello again; `onDown` when a
// connection is lost and another is being tried (the page says "Reconnecting…"), with
// the close event (1012: the server is restarting, and says so).
// `path` may be a function: asked on every (re)connection.

const FIRST_DELAY = 250;
const MAX_DELAY = 1000;

export function socket(path, { onOpen, onMessage, onClose, onDown }) {
  let ws = null;
  let stopped = false;
  let delay = FIRST_DELAY;
  let timer = null;
  const url = () => {
    const where = typeof path === "function" ? path() : path;
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${where}`;
  };

  const open = () => {
    timer = null;
    if (stopped) return;
    const current = new WebSocket(url());
    ws = current;
    current.addEventListener("open", () => {
      delay = FIRST_DELAY;
      if (onOpen) onOpen();
    });
    current.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(frame);
    });
    current.addEventListener("close", (event) => {
      if (ws === current) ws = null;
      // Closed on purpose (the page is done): nothing more to say or try.
      if (stopped) return;
      // 1008: the server refused what we sent: let the page decide.
      const retry = onClose ? onClose(event) !== false : true;
      if (!stopped && retry) {
        if (onDown) onDown(event);
        timer = setTimeout(open, delay + Math.random() * 250);
        delay = Math.min(delay * 2, MAX_DELAY);
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
      delay = FIRST_DELAY;
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
