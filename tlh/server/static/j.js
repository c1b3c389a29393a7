// The client page: redeem the link (token from the URL fragment) → identity check when the
// practice asks → consent if missing → device check → waiting room → call → ended.
// No framework, no build step; the token never appears in a URL the server sees.

import { $, call, deviceId, errorText, readToken, showSection } from "./api.js";
import { consentStep } from "./consent.js";
import { deviceStep, openMedia, savedChoice } from "./device.js";
import { identityStep } from "./identity.js";
import { WaitingRoom } from "./waiting.js";
import { Call } from "./call.js";
import { socket } from "./ws.js";

const SECTIONS = ["loading", "problem", "identity", "consent", "done", "device", "waiting", "call", "ended"];
const INVALID = "This link is not valid. Ask your practice for a new one.";
const CHECKED = "tlh-checked";

let link = null;
let ws = null;
let room = null;
let session = null;
let media = null;
let where = "loading";

function show(id) {
  where = id;
  document.body.classList.toggle("in-call", id === "call");
  showSection(SECTIONS, id);
}

function problem(text, title = "We could not open this link") {
  if (ws) ws.close();
  $("problem-title").textContent = title;
  $("problem-text").textContent = text;
  $("problem-message").hidden = true;
  show("problem");
}

async function linkState() {
  const { status, data } = await call("GET", "/api/v1/link/state");
  if (status === 200) return data;
  if (status === 401) return null;
  return { next: link.next, identity: "off", ice_servers: [] };  // older server: redeem's answer
}

function onFrame(frame) {
  switch (frame.type) {
    case "status": return onStatus(frame);
    case "message":
      room.message(frame);
      if (session) session.say(`Message from your clinician: ${frame.text}`);
      return;
    case "admitted":
      show("call");
      session.admitted(frame);
      return;
    case "peer.joined": return session.peerJoined(frame);
    case "peer.left": return session.peerLeft(frame);
    case "signal": return session.signal(frame);
    case "ended": return ended("Your clinician ended the session.");
    default: return undefined;
  }
}

function onStatus(frame) {
  room.status(frame);
  const state = frame.state;
  if (state === "waiting") {
    if (where === "call") session.ended();
    if (where !== "waiting") show("waiting");
  } else if (state === "revoked") {
    session.ended();
    problem("This link no longer works: the appointment was changed or cancelled. Please check for a message from your practice.", "Your appointment changed");
  } else if (state === "denied") {
    session.ended();
    problem("Your clinician could not let you in this time. Please contact your practice.", "You were not let in");
    if (frame.message) {
      $("problem-message").textContent = `Message from your clinician: ${frame.message}`;
      $("problem-message").hidden = false;
    }
  } else if (state === "ended" || state === "left" || state === "expired") {
    if (where !== "ended") ended(state === "ended" ? "The session is not open right now." : "You left the session.");
  }
}

function ended(text) {
  session.ended();
  $("ended-text").textContent = `${text} If your clinician opens it again, press Rejoin.`;
  show("ended");
}

function connect(result) {
  const hello = () => {
    const frame = { type: "hello", device_id: deviceId() };
    const name = $("display-name").value.trim();
    if (name) frame.display_name = name;
    ws.send(frame);
    ws.send({ type: "device_check", ...result });
  };
  ws = socket("/api/v1/link/ws", {
    onOpen: hello,
    onMessage: onFrame,
    onClose: (event) => {
      // 1008 after we sent something it refused: show it rather than loop forever.
      if (event.code === 1008 && where !== "call") {
        problem("The connection to your practice was refused. Please reload the page.");
        return false;
      }
      renewCookie();
      return true;
    },
  });
}

// The link cookie is short-lived: when a reconnect finds it gone, redeem the link again.
let renewing = false;
async function renewCookie() {
  if (renewing) return;
  renewing = true;
  try {
    const { status } = await call("GET", "/api/v1/link/state");
    if (status !== 401) return;
    const token = sessionStorage.getItem("tlh-link");
    const again = token ? await call("POST", "/api/v1/link/redeem", { token }) : { status: 404 };
    if (again.status === 404) problem("Your link has expired. Please open it again from your message.");
  } finally {
    renewing = false;
  }
}

async function joinFlow() {
  deviceId();  // made once per browser, before anything can fail
  let state = await linkState();
  if (!state) { problem("Your link has expired. Please open it again from your message."); return; }
  if (state.practice_name) $("practice").textContent = state.practice_name;
  if (state.next === "identity") {
    await identityStep(state.identity, { show: () => show("identity"), problem });
    state = await linkState();
    if (!state) { problem(INVALID); return; }
  }
  if (state.next === "consent") {
    const decision = await consentStep({ show: () => show("consent"), problem });
    if (decision === "declined") { declined(); return; }
  }
  const guest = (state.participant || link.participant) === "guest";
  $("guest-name").hidden = !guest;
  let result;
  if (sessionStorage.getItem(CHECKED)) {
    // A reload: the check was done in this tab, so go straight back in.
    media = await openMedia();
    result = JSON.parse(sessionStorage.getItem(CHECKED));
    $("display-name").value = sessionStorage.getItem("tlh-name") || "";
  } else {
    const checked = await deviceStep({ show: () => show("device"), iceServers: state.ice_servers || [] });
    media = { stream: checked.stream };
    result = checked.result;
    sessionStorage.setItem(CHECKED, JSON.stringify(result));
    sessionStorage.setItem("tlh-name", $("display-name").value.trim());
  }
  room = new WaitingRoom();
  session = new Call({
    root: $("call"),
    stream: media.stream,
    send: (frame) => ws.send(frame),
    iceServers: state.ice_servers || [],
    speaker: savedChoice().speaker || "",
    onMedia: (value) => ws.send({ type: "media", state: value }),
    onLeave: () => {
      ws.send({ type: "leave" });
      ended("You left the session.");
    },
  });
  window.tlhCall = session;  // for the browser tests and for debugging in the console
  show("waiting");
  $("waiting-text").textContent = "Connecting to the waiting room…";
  connect(result);
}

function declined() {
  $("done-title").textContent = "Thank you — we have your answer";
  $("done-text").textContent =
    "You told us you do not agree to telehealth. Your practice will contact you about other options.";
  show("done");
}

async function start() {
  const token = readToken("tlh-link");
  if (!token) { problem(INVALID); return; }
  const { status, data } = await call("POST", "/api/v1/link/redeem", { token });
  if (status === 429) { problem("Too many attempts. Please wait a minute and try again."); return; }
  if (status === 0) { problem("We could not reach the practice. Check your connection and reload."); return; }
  if (status !== 200) { sessionStorage.removeItem("tlh-link"); problem(errorText(data, INVALID)); return; }
  link = data;
  $("practice").textContent = data.practice_name;
  if (data.purpose === "consent") {
    const decision = await consentStep({ show: () => show("consent"), problem });
    if (decision === "declined") declined();
    else {
      $("done-text").textContent = "Your consent form is signed. You can close this page.";
      show("done");
    }
    return;
  }
  await joinFlow();
}

$("rejoin").addEventListener("click", () => {
  show("waiting");
  $("waiting-text").textContent = "Reconnecting to the waiting room…";
  ws.restart();
});
start();
