// The client page: redeem the link (token from the URL fragment) → identity check when the
// practice asks → consent if missing → device check → waiting room → call → ended.
// No framework, no build step; the token never appears in a URL the server sees.
// The camera and microphone are on only for the device check and the call: released
// while waiting, taken again when the person is let in.

import { $, call, deviceId, errorText, readToken, showSection } from "./api.js";
import { preferred, setLanguage, t } from "./i18n.js";
import { consentStep } from "./consent.js";
import { deviceStep, openMedia, savedChoice } from "./device.js";
import { identityStep } from "./identity.js";
import { locationStep } from "./location.js";
import { WaitingRoom } from "./waiting.js";
import { Call } from "./call.js";
import { socket } from "./ws.js";

const SECTIONS = ["loading", "problem", "identity", "consent", "done", "device", "location", "waiting", "call", "ended"];
// Words are functions: t() answers in the language chosen when they are shown.
const INVALID = () => t("This link is not valid. Ask your practice for a new one.");
const EXPIRED = () => t("Your link has expired. Please open it again from your message.");
const CHECKED = "tlh-checked";
const LOCATION_REQUIRED = 4428;  // the close code of a hello refused until the location is given
const TITLE = () => t("Your appointment");
// What the page says when the link stops working while the person waits, by reason.
const REVOKED = {
  cancelled: () => t("Your appointment was cancelled."),
  moved: () => t("Your appointment was moved to another time. Your practice will send you a new link."),
  revoked: () => t("This link was replaced or withdrawn. Please use the newest message from your practice."),
};

let link = null;
let state = null;
let ws = null;
let room = null;
let session = null;
let media = null;
let where = "loading";
let final = false;  // a last word is on screen (revoked, denied, a dead link): it stays
let frames = Promise.resolve();  // frames are handled one at a time, in order

function show(id) {
  where = id;
  document.body.classList.toggle("in-call", id === "call");
  showSection(SECTIONS, id);
}

// `restarting`: the server said it is restarting (close code 1012): the person keeps
// their place, and is told so until it is back (the failed tries meanwhile say nothing new).
let serverRestarting = false;
function reconnecting(on, restarting = false) {
  serverRestarting = on && (restarting || serverRestarting);
  $("reconnecting").textContent = serverRestarting
    ? t("The practice's server is restarting. You keep your place; reconnecting…")
    : t("Reconnecting…");
  $("reconnecting").hidden = !on || final;
}

function contact() {
  const ways = [state && state.contact_phone, state && state.contact_email].filter(Boolean);
  const practice = (state && state.practice_name) || (link && link.practice_name) || t("your practice");
  if (!ways.length) return "";
  const both = ways.length === 2 ? t("{a} or {b}", { a: ways[0], b: ways[1] }) : ways[0];
  return ` ${t("You can reach {practice} at {ways}.", { practice, ways: both })}`;
}

// The page's last word: nothing after it (a socket closing, a retry) may overwrite it.
function problem(text, title = t("We could not open this link")) {
  if (final) return;
  final = true;
  if (ws) ws.close();
  release();
  reconnecting(false);
  $("problem-title").textContent = title;
  $("problem-text").textContent = text;
  $("problem-message").hidden = true;
  show("problem");
}

// Camera and microphone off (waiting, ended, sent away).
function release() {
  if (media) for (const track of media.stream.getTracks()) track.stop();
  media = null;
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
      if (session && where === "call") session.say(t("Message from your clinician: {text}", { text: frame.text }));
      return undefined;
    case "reply.sent":
      if (frame.accepted === false) $("reply-note").textContent = t("Please wait a moment before sending another message.");
      else { room.message(frame, true); $("reply-note").textContent = t("Sent."); }
      return undefined;
    case "admitted": return letIn(frame);
    case "peer.joined": return session.peerJoined(frame);
    case "peer.away": return session.peerAway(frame);
    case "peer.left": return session.peerLeft(frame);
    case "signal": return session.signal(frame);
    case "ended": return ended(t("Your clinician ended the session."));
    default: return undefined;
  }
}

// Let in: said (title, a chime, a vibration where allowed, the words), then the camera
// and microphone are taken again and the call begins. Let in again to the same call (the
// socket came back), the call simply carries on.
async function letIn(frame) {
  if (where !== "call") {
    document.title = t("You are being let in — {title}", { title: TITLE() });
    $("waiting-text").textContent = t("You are being let in…");
    chime();
    if (navigator.vibrate) { try { navigator.vibrate([120, 80, 120]); } catch { /* not allowed */ } }
  }
  if (!media) {
    media = await openMedia();
    session.useStream(media.stream);
  }
  if (final) return;
  show("call");
  session.admitted(frame);
  session.say(t("You are being let in"));
}

function chime() {
  const Context = window.AudioContext || window.webkitAudioContext;
  window.tlhChimes = (window.tlhChimes || 0) + 1;  // for the browser tests
  if (!Context) return;
  try {
    const audio = new Context();
    for (const [i, pitch] of [660, 880].entries()) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      const at = audio.currentTime + i * 0.18;
      tone.frequency.value = pitch;
      gain.gain.setValueAtTime(0.15, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.17);
    }
    setTimeout(() => audio.close().catch(() => {}), 1000);
  } catch { /* no sound: the title and the words still say it */ }
}

function onStatus(frame) {
  room.status(frame);
  const status = frame.state;
  if (status === "waiting") {
    if (where === "call") { session.ended(t("You are back in the waiting room.")); release(); }
    document.title = TITLE();
    if (where !== "waiting") show("waiting");
  } else if (status === "revoked") {
    session.ended();
    const why = REVOKED[frame.reason] ? REVOKED[frame.reason]() : t("This link no longer works: the appointment was changed or cancelled. Please check for a message from your practice.");
    problem(`${why}${contact()}`, t("Your appointment changed"));
  } else if (status === "denied") {
    session.ended();
    problem(`${t("Your clinician could not let you in this time.")}${contact() || ` ${t("Please contact your practice.")}`}`, t("You were not let in"));
    if (frame.message) {
      $("problem-message").textContent = t("Message from your clinician: {text}", { text: frame.message });
      $("problem-message").hidden = false;
    }
  } else if (status === "ended" || status === "left" || status === "expired") {
    if (where !== "ended") ended(status === "ended" ? t("The session is not open right now.") : t("You left the session."));
  }
}

function ended(text) {
  session.ended();
  release();
  document.title = TITLE();
  $("ended-text").textContent = `${text} ${t("If your clinician opens it again, press Rejoin.")}`;
  show("ended");
}

function connect(result) {
  const hello = () => {
    reconnecting(false);
    const frame = { type: "hello", device_id: deviceId() };
    const name = $("display-name").value.trim();
    if (name) frame.display_name = name;
    // Back after a blip or a restart of the server with the call still flowing: say so,
    // so the others keep their connections to us.
    if (session.sessionId && session.holding()) frame.resume = session.sessionId;
    ws.send(frame);
    ws.send({ type: "device_check", ...result });
  };
  ws = socket("/api/v1/link/ws", {
    onOpen: hello,
    onMessage: (frame) => { frames = frames.then(() => onFrame(frame)).catch((e) => console.warn("frame", e)); },
    onDown: (event) => reconnecting(true, event.code === 1012),
    onClose: (event) => {
      if (final) return false;
      // The server wants to know where the person is first (policy ask_location).
      if (event.code === LOCATION_REQUIRED) { relocate(); return false; }
      // 1008 after we sent something it refused: show it rather than loop forever.
      if (event.code === 1008 && where !== "call") {
        problem(t("The connection to your practice was refused. Please reload the page."));
        return false;
      }
      renewCookie();
      return true;
    },
  });
}

// Asked where they are (the hello was refused without it), then back to the room.
async function relocate() {
  await locationStep({ show: () => show("location"), problem });
  show("waiting");
  $("waiting-text").textContent = "Connecting to the waiting room…";
  ws.restart();
}

// The link cookie is short-lived: when a reconnect finds it gone, redeem the link again.
// While the server is away the check answers nothing (status 0): keep trying.
let renewing = false;
async function renewCookie() {
  if (renewing || final) return;
  renewing = true;
  try {
    const { status } = await call("GET", "/api/v1/link/state");
    if (status !== 401 || final) return;
    const token = sessionStorage.getItem("tlh-link");
    const again = token ? await call("POST", "/api/v1/link/redeem", { token }) : { status: 404, data: null };
    if (again.status === 404) problem(errorText(again.data, EXPIRED()));
  } finally {
    renewing = false;
  }
}

async function joinFlow() {
  deviceId();  // made once per browser, before anything can fail
  state = await linkState();
  if (!state) { problem(EXPIRED()); return; }
  if (state.practice_name) $("practice").textContent = state.practice_name;
  if (state.next === "identity") {
    await identityStep(state.identity, { show: () => show("identity"), problem });
    state = await linkState();
    if (!state) { problem(INVALID()); return; }
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
    result = JSON.parse(sessionStorage.getItem(CHECKED));
    $("display-name").value = sessionStorage.getItem("tlh-name") || "";
  } else {
    const checked = await deviceStep({ show: () => show("device"), iceServers: state.ice_servers || [] });
    // Released while waiting: the camera light goes off until the person is let in.
    for (const track of checked.stream.getTracks()) track.stop();
    result = checked.result;
    sessionStorage.setItem(CHECKED, JSON.stringify(result));
    sessionStorage.setItem("tlh-name", $("display-name").value.trim());
  }
  if (state.ask_location) await locationStep({ show: () => show("location"), problem });
  room = new WaitingRoom({
    starts_at: state.starts_at,
    ends_at: state.ends_at,
    practice: state.practice_name,
    clinician: state.clinician_name,
  });
  session = new Call({
    root: $("call"),
    send: (frame) => ws.send(frame),
    iceServers: state.ice_servers || [],
    speaker: savedChoice().speaker || "",
    onMedia: (value) => ws.send({ type: "media", state: value }),
    onLeave: () => {
      ws.send({ type: "leave" });
      ended(t("You left the session."));
    },
  });
  window.tlhCall = session;  // for the browser tests and for debugging in the console
  show("waiting");
  $("waiting-text").textContent = t("Connecting to the waiting room…");
  connect(result);
}

function declined() {
  $("done-title").textContent = t("Thank you — we have your answer");
  $("done-text").textContent =
    t("You told us you do not agree to telehealth. Your practice will contact you about other options.");
  show("done");
}

async function start() {
  const token = readToken("tlh-link");
  // The browser's language until the link says the client's own (no flash of English
  // for a browser set to Spanish: nothing is shown before this).
  await setLanguage(preferred());
  if (!token) { problem(INVALID()); return; }
  const { status, data } = await call("POST", "/api/v1/link/redeem", { token });
  if (status === 429) { problem(t("Too many attempts. Please wait a minute and try again.")); return; }
  if (status === 0) { problem(t("We could not reach the practice. Check your connection and reload.")); return; }
  if (status !== 200) {
    sessionStorage.removeItem("tlh-link");
    const practice = data && data.error && data.error.details && data.error.details.practice_name;
    if (practice) $("practice").textContent = practice;
    problem(errorText(data, INVALID()));
    return;
  }
  link = data;
  if (data.language) await setLanguage(data.language);
  $("practice").textContent = data.practice_name;
  if (data.next === "portal") {
    // The practice asks for portal sign-in first; the portal then joins this appointment.
    sessionStorage.removeItem("tlh-link");
    location.replace(`/p#join=${encodeURIComponent(data.appointment_id)}`);
    return;
  }
  if (data.purpose === "consent") {
    const decision = await consentStep({ show: () => show("consent"), problem });
    if (decision === "declined") declined();
    else {
      $("done-text").textContent = t("Your consent form is signed. You can close this page.");
      show("done");
    }
    return;
  }
  await joinFlow();
}

$("rejoin").addEventListener("click", () => {
  show("waiting");
  $("waiting-text").textContent = t("Reconnecting to the waiting room…");
  ws.restart();
});
$("reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) { $("reply-note").textContent = t("Type a reply first."); $("reply-text").focus(); return; }
  if (!ws || !ws.send({ type: "reply", text })) { $("reply-note").textContent = t("Not connected right now. Please try again in a moment."); return; }
  $("reply-text").value = "";
  $("reply-note").textContent = t("Sending…");
});
start();
