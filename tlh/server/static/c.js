// The clinician's call page: redeem the one-time login link (token in the fragment) for a
// staff cookie, then the same call UI as the client page over /api/v1/call/ws, and a
// people panel (in session, waiting, guests, upcoming today) refreshed from the event feed.

import { $, call, clock, errorText, readToken } from "./api.js";
import { openMedia } from "./device.js";
import { Call } from "./call.js";
import { socket } from "./ws.js";

const ME = "tlh-staff";
let me = null;
let session = null;
let callWs = null;
let eventsWs = null;
let lastActive = Date.now();
let refreshTimer = null;
let lastSession = null;  // the segment the clinician left, for "Rejoin the call"

function problem(text) {
  $("problem-text").textContent = text;
  $("loading").hidden = true;
  $("desk").hidden = true;
  $("problem").hidden = false;
}

function say(text) { $("panel-status").textContent = text; }

// Every staff request goes through here so a 401 (idle or signed out) locks the page.
async function api(method, path, body) {
  const answer = await call(method, path, body);
  if (answer.status === 401) lock(errorText(answer.data, "You were signed out."));
  return answer;
}

function lock(text) {
  if (!$("lock").hidden) return;
  if (text) $("lock-text").textContent = text;
  $("lock").hidden = false;
  $("desk").hidden = true;
  if (callWs) callWs.close();
  if (eventsWs) eventsWs.close();
  if (session) session.close();
  sessionStorage.removeItem(ME);
  call("POST", "/api/v1/call-links/logout");
}

function idleWatch(minutes) {
  if (!minutes) return;
  for (const type of ["pointerdown", "keydown", "pointermove"]) {
    document.addEventListener(type, () => { lastActive = Date.now(); }, { passive: true });
  }
  setInterval(() => {
    // A call in progress counts as activity: nobody should be locked out mid-session.
    if (session && session.peers.size) lastActive = Date.now();
    if (Date.now() - lastActive > minutes * 60_000) lock(`You were signed out after ${minutes} minutes without activity.`);
  }, 5000);
}

function button(text, action, className = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (className) b.className = className;
  b.addEventListener("click", action);
  return b;
}

function entryItem(entry, actions) {
  const li = document.createElement("li");
  li.dataset.entry = entry.id;
  const since = entry.state === "waiting" ? ` — waiting since ${clock(entry.arrived_at)}` : "";
  const flags = [];
  if (entry.position) flags.push(`#${entry.position}`);
  if (entry.second_device) flags.push("second device");
  if (!entry.online) flags.push("offline");
  if (entry.reconnects) flags.push("reconnected");
  if (entry.consent && entry.consent !== "valid") flags.push(`consent: ${entry.consent}`);
  const text = document.createElement("span");
  text.textContent = `${entry.label || "Someone"}${since}${flags.length ? ` (${flags.join(", ")})` : ""}`;
  li.append(text, document.createElement("br"), ...actions);
  return li;
}

// Fill a list, or say plainly that it is empty.
function fill(id, items, empty) {
  if (items.length) { $(id).replaceChildren(...items); return; }
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = empty;
  $(id).replaceChildren(li);
}

async function act(path, body, done) {
  const { status, data } = await api("POST", path, body);
  say(status < 300 ? done : errorText(data, "That did not work."));
  await refresh();
  return status < 300 ? data : null;
}

async function admit(entry) {
  const body = entry.second_device ? { approve_second_device: true } : {};
  await act(`/api/v1/rooms/entries/${entry.id}/admit`, body, "Admitted.");
}

function message(path, extra = {}) {
  const text = $("message-text").value.trim();
  if (!text) { say("Type a message first."); $("message-text").focus(); return; }
  act(path, { text, ...extra }, "Message sent.").then(() => { $("message-text").value = ""; });
}

async function refresh() {
  const rooms = await api("GET", `/api/v1/rooms?clinician=${encodeURIComponent(me.staff_id)}`);
  if (rooms.status !== 200) return;
  const room = (rooms.data.items || [])[0] || { entries: [], sessions: [] };
  const entries = room.entries || [];
  const inSession = entries.filter((e) => e.state === "admitted" || e.state === "in_session");
  const waiting = entries.filter((e) => e.state === "waiting");
  fill("in-session", inSession.map((e) => entryItem(e, [
    button("Send back", () => act(`/api/v1/rooms/entries/${e.id}/return`, {}, "Sent back to the waiting room.")),
    button("Message", () => message(`/api/v1/rooms/entries/${e.id}/message`), "secondary"),
  ])), "Nobody yet");
  fill("waiting-list", waiting.map((e) => entryItem(e, [
    button(e.second_device ? "Approve and admit" : "Admit", () => admit(e)),
    button("Deny", () => act(`/api/v1/rooms/entries/${e.id}/deny`, {}, "Denied."), "secondary"),
    button("Message", () => message(`/api/v1/rooms/entries/${e.id}/message`), "secondary"),
  ])), "Nobody is waiting");
  fill("guests", entries.filter((e) => e.participant === "guest").map((e) => entryItem(e, [])), "No guests");
  const open = room.sessions || [];
  $("end-session").disabled = !(session && session.sessionId) && !open.length && !lastSession;
  // A session opened elsewhere (an admit, the CLI): join it, unless the clinician left.
  if (open.length && session && !session.me && !lastSession && callWs) callWs.send({ type: "join", session_id: open[0].id });
}

async function upcoming() {
  // "Today" is the practice's day, not the browser's: ask for the practice's time zone.
  const practice = await api("GET", "/api/v1/practice");
  const zone = practice.status === 200 ? practice.data.timezone : undefined;
  const date = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const { status, data } = await api("GET", `/api/v1/appointments?date=${date}&clinician=${encodeURIComponent(me.staff_id)}`);
  if (status !== 200) return;
  const now = Date.now();
  const later = (data.items || []).filter((a) => a.modality === "telehealth"
    && !["cancelled", "late_cancelled", "missed"].includes(a.status)
    && new Date(a.start).getTime() + a.duration_min * 60_000 > now);
  fill("upcoming", later.map((a) => {
    const li = document.createElement("li");
    li.textContent = `${clock(a.start)} · ${a.duration_min} min · ${a.status} `;
    li.append(button("Start", () => startSession({ appointment_id: a.id }), "secondary"));
    return li;
  }), "Nothing else today");
}

async function startSession(body) {
  const data = await act("/api/v1/sessions", body, "Session started.");
  if (data && data.session && callWs) callWs.send({ type: "join", session_id: data.session.id });
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 150);  // a burst of events → one request
}

function wire() {
  $("start-session").addEventListener("click", () => {
    if (lastSession) { callWs.send({ type: "join", session_id: lastSession }); return; }
    startSession(me.appointment_id ? { appointment_id: me.appointment_id } : { room: true });
  });
  $("next").addEventListener("click", () => act("/api/v1/rooms/next", {}, "Next person admitted."));
  $("admit-all").addEventListener("click", () => act("/api/v1/rooms/admit-all", {}, "Everyone waiting was admitted."));
  $("message-all").addEventListener("click", () => message("/api/v1/rooms/message"));
  $("end-session").addEventListener("click", async () => {
    const id = session.sessionId || lastSession;
    if (!id) { say("No session is open."); return; }
    await act(`/api/v1/sessions/${id}/end`, {}, "Session ended.");
  });
  $("invite").addEventListener("click", async () => {
    const { status, data } = await api("POST", "/api/v1/invites/guest", { clinician: me.staff_id });
    if (status !== 201) { say(errorText(data, "Could not make an invite link.")); return; }
    $("invite-url").textContent = data.url;
    try { await navigator.clipboard.writeText(data.url); say("Invite link copied."); } catch { say("Copy the invite link below."); }
  });
  $("logout").addEventListener("click", () => lock("You signed out."));
}

function onFrame(frame) {
  switch (frame.type) {
    case "status":
      // The call socket says no_session when there is no open segment to join.
      if (frame.state === "no_session" && !lastSession) $("start-session").hidden = false;
      return undefined;
    case "admitted":
      session.admitted(frame);
      lastSession = null;
      $("start-session").hidden = true;
      return scheduleRefresh();
    case "peer.joined": session.peerJoined(frame); return scheduleRefresh();
    case "peer.left": session.peerLeft(frame); return scheduleRefresh();
    case "signal": return session.signal(frame);
    case "ended":
      session.ended();
      lastSession = null;
      $("start-session").textContent = "Start the session";
      $("start-session").hidden = false;
      say("The session has ended.");
      return scheduleRefresh();
    default: return undefined;
  }
}

async function start() {
  const token = readToken("tlh-call-link");
  if (token) {
    sessionStorage.removeItem("tlh-call-link");  // single use: a reload relies on the cookie
    const { status, data } = await call("POST", "/api/v1/call-links/redeem", { token });
    if (status !== 200) { problem("This sign-in link is not valid or was already used. Make a new one with the tlh command."); return; }
    sessionStorage.setItem(ME, JSON.stringify(data));
  }
  me = JSON.parse(sessionStorage.getItem(ME) || "null");
  if (!me) { problem("Open this page from a call link made with the tlh command."); return; }
  $("who").textContent = `Signed in as ${me.name}`;
  const media = await openMedia();
  const leave = () => {
    lastSession = session.sessionId;
    callWs.send({ type: "leave" });
    session.ended();
    $("start-session").textContent = lastSession ? "Rejoin the call" : "Start the session";
    $("start-session").hidden = false;
  };
  session = new Call({ root: $("call"), stream: media.stream, send: (f) => callWs.send(f), onLeave: leave });
  window.tlhCall = session;  // for the browser tests and for debugging in the console
  $("loading").hidden = true;
  $("desk").hidden = false;
  wire();
  idleWatch(me.idle_logoff_min);
  callWs = socket("/api/v1/call/ws", {
    onMessage: (frame) => { lastActive = Date.now(); onFrame(frame); },
    // Refused at the upgrade after an idle logoff: /me answers 401 and api() locks the page.
    onClose: () => { api("GET", "/api/v1/me"); return true; },
  });
  eventsWs = socket("/api/v1/events", {
    onMessage: (frame) => {
      if (/^(room|session)\./.test(frame.type || "")) scheduleRefresh();
      if (frame.type === "room.joined") say("Someone arrived in the waiting room.");
    },
  });
  await Promise.all([refresh(), upcoming()]);
  document.body.dataset.ready = "true";  // for the browser tests
}

start();
