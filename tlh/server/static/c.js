// The clinician's call page: redeem the one-time login link (token in the fragment) for a
// staff cookie, then the same call UI as the client page over /api/v1/call/ws, and the
// waiting room beside it (waiting, in the call, upcoming today) refreshed from the event
// feed. Each row carries what the dashboard shows: device check, connection, the
// appointment's time, early, online or reconnecting, and the person's latest reply.
// Before the call page opens, the clinician sees their camera and chooses the camera and
// microphone (the client page's device check); both can be changed during the call.

import { $, call, clock, errorText, readToken, showSection } from "./api.js";
import { deviceStep, openMedia, savedChoice } from "./device.js";
import { devicePickers } from "./switcher.js";
import { Call } from "./call.js";
import { socket } from "./ws.js";

const ME = "tlh-staff";
const CHECKED = "tlh-staff-checked";  // the device check was done in this tab
const SECTIONS = ["loading", "problem", "device", "desk"];
let me = null;
let session = null;
let callWs = null;
let eventsWs = null;
let lastActive = Date.now();
let refreshTimer = null;
let lastSession = null;  // the segment the clinician left, for "Rejoin the call"
let openSessions = [];
const names = new Map();  // client id -> name, read once (each read is audited)

function problem(text) {
  $("problem-text").textContent = text;
  showSection(SECTIONS, "problem");
}

// The camera and microphone to send: seen and chosen first (the call starts only after
// "Continue"); a reload in this tab goes straight back with the devices chosen then.
async function devices() {
  if (sessionStorage.getItem(CHECKED)) return (await openMedia()).stream;
  const checked = await deviceStep({ show: () => showSection(SECTIONS, "device"), connectionTest: false });
  sessionStorage.setItem(CHECKED, "1");
  $("device-preview").srcObject = null;  // hidden from now on: the call shows the camera
  return checked.stream;
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
  $("device").hidden = true;
  $("reconnecting").hidden = true;
  if (callWs) callWs.close();
  if (eventsWs) eventsWs.close();
  if (session) session.close();
  sessionStorage.removeItem(ME);
  sessionStorage.removeItem(CHECKED);
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

const DEVICE = { ok: "ok", denied: "blocked", missing: "none", skipped: "not checked" };

// What staff need to know of one person, in words.
function facts(entry) {
  const out = [];
  if (entry.participant === "guest") out.push("guest");
  if (entry.position) out.push(`#${entry.position}`);
  if (entry.due_at) out.push(`appointment ${clock(entry.due_at)}`);
  if (entry.early) out.push("early");
  if (entry.second_device) out.push("second device");
  out.push(entry.online ? "online" : "reconnecting");
  const check = entry.device_check;
  out.push(check ? `camera ${DEVICE[check.camera] || check.camera}, mic ${DEVICE[check.microphone] || check.microphone}` : "device check not done");
  out.push(entry.connection_test ? `connection ${entry.connection_test.verdict}` : "connection not tested");
  if (entry.consent && entry.consent !== "valid") out.push(`consent: ${entry.consent}`);
  return out;
}

function entryItem(entry, actions) {
  const li = document.createElement("li");
  li.dataset.entry = entry.id;
  li.dataset.online = String(entry.online);
  const who = document.createElement("strong");
  who.textContent = entry.label || "Someone";
  const since = entry.state === "waiting" ? ` — waiting since ${clock(entry.arrived_at)}` : "";
  const line = document.createElement("span");
  line.className = "facts";
  line.textContent = facts(entry).join(" · ");
  li.append(who, since, document.createElement("br"), line);
  // Where the client said they are (policy ask_location): on this staff page only.
  if (entry.location) {
    const where = document.createElement("span");
    where.className = "location";
    where.textContent = `Client's location: ${entry.location.place} · phone ${entry.location.phone}`;
    li.append(document.createElement("br"), where);
  }
  const reply = (entry.replies || [])[entry.replies ? entry.replies.length - 1 : 0];
  if (reply) {
    const said = document.createElement("q");
    said.className = "reply";
    said.textContent = reply.text;
    li.append(document.createElement("br"), "Replied: ", said);
  }
  if (actions.length) {
    const row = document.createElement("div");
    row.className = "row-actions";
    row.append(...actions);
    li.append(row);
  }
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
  const waiting = entries.filter((e) => e.state === "waiting").sort((a, b) => (a.position || 0) - (b.position || 0));
  fill("in-session", inSession.map((e) => entryItem(e, [
    button("Send back", () => act(`/api/v1/rooms/entries/${e.id}/return`, {}, "Sent back to the waiting room."), "secondary"),
    button("Message", () => message(`/api/v1/rooms/entries/${e.id}/message`), "secondary"),
  ])), "Nobody yet");
  fill("waiting-list", waiting.map((e) => entryItem(e, [
    button(e.second_device ? "Approve and admit" : "Admit", () => admit(e)),
    button("Deny", () => act(`/api/v1/rooms/entries/${e.id}/deny`, {}, "Denied."), "secondary"),
    button("Message", () => message(`/api/v1/rooms/entries/${e.id}/message`), "secondary"),
  ])), "Nobody is waiting");
  if (room.presence && room.presence !== "offline") $("presence").value = room.presence;
  openSessions = room.sessions || [];
  $("end-session").disabled = !(session && session.sessionId) && !openSessions.length && !lastSession;
  // A session opened elsewhere (an admit, the CLI): join it, unless the clinician left.
  if (openSessions.length && session && !session.me && !lastSession && callWs) callWs.send({ type: "join", session_id: openSessions[0].id });
  upcoming();
}

async function clientName(id) {
  if (!names.has(id)) {
    const { status, data } = await api("GET", `/api/v1/clients/${encodeURIComponent(id)}`);
    names.set(id, status === 200 ? data.name : "");
  }
  return names.get(id);
}

let practiceZone;
async function upcoming() {
  // "Today" is the practice's day, not the browser's: ask for the practice's time zone.
  if (practiceZone === undefined) {
    const practice = await api("GET", "/api/v1/practice");
    practiceZone = practice.status === 200 ? practice.data.timezone : null;
  }
  const date = new Intl.DateTimeFormat("en-CA", { timeZone: practiceZone || undefined, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const { status, data } = await api("GET", `/api/v1/appointments?date=${date}&clinician=${encodeURIComponent(me.staff_id)}`);
  if (status !== 200) return;
  const now = Date.now();
  const later = (data.items || []).filter((a) => a.modality === "telehealth"
    && !["cancelled", "late_cancelled", "missed"].includes(a.status)
    && new Date(a.start).getTime() + a.duration_min * 60_000 > now);
  const items = await Promise.all(later.map(async (a) => {
    const li = document.createElement("li");
    const who = (await Promise.all((a.client_ids || []).map(clientName))).filter(Boolean).join(", ");
    li.textContent = `${clock(a.start)} · ${who || "Client"} · ${a.duration_min} min · ${a.status} `;
    if (openSessions.some((s) => s.appointment_id === a.id)) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "in progress";
      li.append(tag);
    } else li.append(button("Start", () => startSession({ appointment_id: a.id }), "secondary"));
    return li;
  }));
  fill("upcoming", items, "Nothing else today");
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
  $("presence").addEventListener("change", async () => {
    const choice = $("presence").value;
    const { status, data } = await api("POST", "/api/v1/rooms/presence", { presence: choice });
    say(status < 300 ? `Waiting clients now see: ${$("presence").selectedOptions[0].textContent}.` : errorText(data, "That did not work."));
  });
  // Ending takes everyone out: asked first.
  $("end-session").addEventListener("click", () => {
    const id = session.sessionId || lastSession || (openSessions[0] && openSessions[0].id);
    if (!id) { say("No session is open."); return; }
    $("end-confirm").showModal();
  });
  $("end-confirm").addEventListener("close", async () => {
    if ($("end-confirm").returnValue !== "end") { $("end-session").focus(); return; }
    const id = session.sessionId || lastSession || (openSessions[0] && openSessions[0].id);
    if (id) await act(`/api/v1/sessions/${id}/end`, {}, "Session ended.");
    $("end-session").focus();
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
    case "peer.away": session.peerAway(frame); return scheduleRefresh();
    case "peer.left": session.peerLeft(frame); return scheduleRefresh();
    case "signal": return session.signal(frame);
    case "ended":
      session.ended("The session has ended.");
      lastSession = null;
      $("start-session").textContent = "Start the session";
      $("start-session").hidden = false;
      say("The session has ended.");
      return scheduleRefresh();
    default: return undefined;
  }
}

// The call socket's address: back after a blip or a restart of the server with the call
// still flowing, it says so (``resume``), so the others keep their connections to us.
function callPath() {
  if (session && session.sessionId && session.holding()) {
    const id = encodeURIComponent(session.sessionId);
    return `/api/v1/call/ws?session=${id}&resume=${id}`;
  }
  return "/api/v1/call/ws";
}

async function start() {
  const token = readToken("tlh-call-link");
  if (token) {
    sessionStorage.removeItem("tlh-call-link");  // single use: a reload relies on the cookie
    sessionStorage.removeItem(CHECKED);  // a new sign-in: the devices are checked again
    const { status, data } = await call("POST", "/api/v1/call-links/redeem", { token });
    if (status !== 200) { problem("This sign-in link is not valid or was already used. Make a new one with the tlh command."); return; }
    sessionStorage.setItem(ME, JSON.stringify(data));
  }
  me = JSON.parse(sessionStorage.getItem(ME) || "null");
  if (!me) { problem("Open this page from a call link made with the tlh command."); return; }
  $("who").textContent = `Signed in as ${me.name}`;
  const stream = await devices();
  const leave = () => {
    lastSession = session.sessionId;
    callWs.send({ type: "leave" });
    session.ended("You left the call.");
    $("start-session").textContent = lastSession ? "Rejoin the call" : "Start the session";
    $("start-session").hidden = false;
  };
  session = new Call({ root: $("call"), stream, speaker: savedChoice().speaker || "", send: (f) => callWs.send(f), onLeave: leave });
  window.tlhCall = session;  // for the browser tests and for debugging in the console
  showSection(SECTIONS, "desk");
  devicePickers({ camera: $("call-camera"), microphone: $("call-mic") }, $("devices-note"), session)();
  wire();
  idleWatch(me.idle_logoff_min);
  let restarting = false;  // the server said so (1012): said until it is back
  const down = (event) => {
    restarting = restarting || (event && event.code === 1012);
    $("reconnecting").textContent = restarting ? "The server is restarting; reconnecting…" : "Reconnecting…";
    if ($("lock").hidden) $("reconnecting").hidden = false;
  };
  const up = () => { restarting = false; $("reconnecting").hidden = true; };
  callWs = socket(callPath, {
    onOpen: up,
    onMessage: (frame) => { lastActive = Date.now(); onFrame(frame); },
    onDown: down,
    // Refused at the upgrade after an idle logoff: /me answers 401 and api() locks the page.
    onClose: () => { api("GET", "/api/v1/me"); return true; },
  });
  eventsWs = socket("/api/v1/events", {
    onOpen: () => { up(); scheduleRefresh(); },  // what changed meanwhile
    onMessage: (frame) => {
      if (/^(room|session)\./.test(frame.type || "")) scheduleRefresh();
      if (frame.type === "room.joined") say("Someone arrived in the waiting room.");
      if (frame.type === "room.replied") say("Someone in the waiting room replied.");
    },
    onDown: down,
  });
  await refresh();
  document.body.dataset.ready = "true";  // for the browser tests
}

start();
