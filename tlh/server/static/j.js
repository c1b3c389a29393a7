// The client page: redeem the link (token from the URL fragment), then consent or wait.
// No framework, no build step. The token is never logged, never put in a URL the server
// sees, and removed from the address bar once read.

const $ = (id) => document.getElementById(id);
const SECTIONS = ["loading", "problem", "consent", "done", "waiting"];
const INVALID = "This link is not valid. Ask your practice for a new one.";

function show(id) {
  for (const name of SECTIONS) $(name).hidden = name !== id;
  $("main").focus();
}

function problem(text) {
  $("problem-text").textContent = text;
  show("problem");
}

async function call(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    return { status: 0, data: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, data };
}

function readToken() {
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (fromHash) {
    // Out of the address bar (and so out of screenshots and shared URLs); kept for a reload.
    sessionStorage.setItem("tlh-link", fromHash);
    history.replaceState(null, "", location.pathname);
    return fromHash;
  }
  return sessionStorage.getItem("tlh-link") || "";
}

function when(iso) {
  const date = new Date(iso);
  return date.toLocaleString([], {
    weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit",
  });
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

// -- the consent form: markdown rendered as text nodes only (nothing is parsed as HTML) --

function renderMarkdown(target, markdown) {
  target.replaceChildren();
  let list = null;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) {
      const p = document.createElement("p");
      p.textContent = paragraph.join(" ");
      target.append(p);
      paragraph = [];
    }
  };
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trim();
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const item = /^[-*]\s+(.*)$/.exec(line);
    if (!item) list = null;
    if (!line) { flush(); continue; }
    if (heading) {
      flush();
      const h = document.createElement(heading[1].length === 1 ? "h2" : "h3");
      h.textContent = heading[2].replace(/\*\*|__/g, "");
      target.append(h);
    } else if (item) {
      flush();
      if (!list) { list = document.createElement("ul"); target.append(list); }
      const li = document.createElement("li");
      li.textContent = item[1].replace(/\*\*|__/g, "");
      list.append(li);
    } else {
      paragraph.push(line.replace(/\*\*|__/g, ""));
    }
  }
  flush();
}

// -- the signature pad: pointer events (mouse, pen and touch alike) --

function signaturePad(canvas) {
  const context = canvas.getContext("2d");
  let drawing = false;
  let drawn = false;
  const resize = () => {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    canvas.width = Math.round(canvas.clientWidth * ratio);
    canvas.height = Math.round(canvas.clientHeight * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111827";
    drawn = false;
  };
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    const [x, y] = point(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x + 0.1, y + 0.1);
    context.stroke();
    drawn = true;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = point(event);
    context.lineTo(x, y);
    context.stroke();
  });
  for (const type of ["pointerup", "pointercancel"]) {
    canvas.addEventListener(type, () => { drawing = false; });
  }
  resize();
  return {
    clear: resize,
    get drawn() { return drawn; },
    png: () => canvas.toDataURL("image/png"),
  };
}

// -- steps --

let form = null;
let pad = null;
let link = null;

function formError(text) {
  const box = $("form-error");
  box.textContent = text;
  box.hidden = !text;
}

async function loadConsent() {
  const { status, data } = await call("GET", "/api/v1/link/consent");
  if (status !== 200) {
    problem(status === 401 ? "Your link has expired. Please open it again from your message." : INVALID);
    return;
  }
  form = data;
  if (["accepted", "declined", "valid"].includes(data.state)) {
    finished(data.state === "declined");
    return;
  }
  renderMarkdown($("form-text"), data.form_markdown);
  show("consent");
  if (!pad) pad = signaturePad($("pad"));
}

function finished(declined) {
  if (declined) {
    $("done-title").textContent = "Thank you — we have your answer";
    $("done-text").textContent =
      "You told us you do not agree to telehealth. Your practice will contact you about other options.";
    show("done");
    return;
  }
  if (link && link.purpose === "join") {
    waiting();
    $("done-text").textContent = $("waiting-text").textContent;
  } else {
    $("done-text").textContent = "Your consent form is signed. You can close this page.";
  }
  show("done");
}

function waiting() {
  const parts = [];
  if (link.starts_at) parts.push(`Your appointment is at ${when(link.starts_at)}.`);
  if (link.state === "early" && link.opens_at) {
    parts.push(`This page will let you in from ${clock(link.opens_at)}.`);
  } else {
    parts.push("This page will let you in from 10 minutes before the start.");
  }
  $("waiting-text").textContent = parts.join(" ");
  show("waiting");
}

async function submit(decision) {
  formError("");
  const body = { decision, form_hash: form.form_hash };
  if (decision === "accepted") {
    const name = $("signed-name").value.trim();
    if (name.length < 2) { formError("Please type your full name."); $("signed-name").focus(); return; }
    if (!pad.drawn) { formError("Please sign in the box."); $("pad").focus(); return; }
    body.signed_name = name;
    body.signature_png = pad.png();
  }
  for (const button of document.querySelectorAll("#consent-form button")) button.disabled = true;
  const { status, data } = await call("POST", "/api/v1/link/consent", body);
  for (const button of document.querySelectorAll("#consent-form button")) button.disabled = false;
  const code = data && data.error ? data.error.code : "";
  if (status === 200) finished(decision === "declined");
  else if (code === "form_changed") {
    await loadConsent();
    formError("The form was updated while you were reading. Please read the updated form.");
  } else if (status === 409) formError("Your answer was already recorded. Thank you.");
  else if (status === 413) { pad.clear(); formError("The signature is too large. Please sign again, a little smaller."); }
  else if (status === 401) problem("Your link has expired. Please open it again from your message.");
  else if (status === 0) formError("We could not reach the practice. Check your connection and try again.");
  else formError((data && data.error && data.error.message) || "Something went wrong. Please try again.");
}

async function start() {
  const token = readToken();
  if (!token) { problem(INVALID); return; }
  const { status, data } = await call("POST", "/api/v1/link/redeem", { token });
  if (status === 429) { problem("Too many attempts. Please wait a minute and try again."); return; }
  if (status === 0) { problem("We could not reach the practice. Check your connection and reload."); return; }
  if (status !== 200) { sessionStorage.removeItem("tlh-link"); problem(INVALID); return; }
  link = data;
  $("practice").textContent = data.practice_name;
  if (data.next === "consent") await loadConsent();
  else waiting();
}

$("consent-form").addEventListener("submit", (event) => { event.preventDefault(); submit("accepted"); });
$("decline").addEventListener("click", () => submit("declined"));
$("clear").addEventListener("click", () => pad && pad.clear());
start();
