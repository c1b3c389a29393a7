// The call's markup and the small UI pieces around it (movable preview, quality grade).

import { t } from "./i18n.js";

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// Builds the call's markup inside `root` (the same on /j and /c).
export function buildUI(root) {
  const ui = {
    remotes: el("div", { className: "remotes", id: "remotes" }),
    empty: el("p", { className: "call-empty", textContent: t("Connecting…") }),
    selfVideo: el("video", { id: "self-video", muted: true, autoplay: true, playsInline: true }),
    status: el("p", { id: "call-status", className: "sr-only" }),
    timer: el("span", { id: "call-timer", className: "timer" }),
    quality: el("span", { id: "call-quality", className: "quality" }),
  };
  ui.selfVideo.setAttribute("aria-label", t("Your own camera"));
  ui.status.setAttribute("aria-live", "polite");
  ui.self = el("div", { id: "self", className: "self", tabIndex: 0, title: t("Your preview: drag it, or use the arrow keys") }, ui.selfVideo);
  ui.self.setAttribute("role", "group");
  ui.self.setAttribute("aria-label", t("Your preview. Use the arrow keys to move it."));
  const button = (id, text) => el("button", { type: "button", id, textContent: text });
  ui.mute = button("mute", t("Mute"));
  ui.camera = button("camera", t("Camera off"));
  ui.share = button("share", t("Share screen"));
  ui.hide = button("hide-self", t("Hide me"));
  ui.timerToggle = button("timer-toggle", t("Hide timer"));
  ui.leave = button("leave", t("Leave"));
  ui.leave.className = "danger";
  ui.sound = button("sound", t("Turn on sound"));
  ui.sound.hidden = true;
  // Each toggle says what pressing it does next ("Unmute", "Camera on"): its label
  // changes, so it carries no aria-pressed too (a screen reader would say both).
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) ui.share.hidden = true;
  // A plain group of buttons, each its own Tab stop (not a toolbar: no arrow-key pattern).
  const bar = el("div", { className: "controls", role: "group" },
    ui.mute, ui.camera, ui.share, ui.hide, ui.timerToggle, ui.leave);
  bar.setAttribute("aria-label", t("Call controls"));
  const info = el("div", { className: "call-info" }, ui.timer, ui.quality);
  const stage = el("div", { className: "stage" }, ui.remotes, ui.empty, ui.self);
  const title = el("h1", { className: "sr-only", textContent: t("Video call") });
  root.replaceChildren(title, info, stage, ui.sound, bar, ui.status);
  return ui;
}

// Drag with a pointer or move with the arrow keys, kept inside the stage.
export function movable(box) {
  const place = (x, y) => {
    const stage = box.parentElement.getBoundingClientRect();
    const w = box.offsetWidth;
    const h = box.offsetHeight;
    box.style.left = `${Math.max(0, Math.min(stage.width - w, x))}px`;
    box.style.top = `${Math.max(0, Math.min(stage.height - h, y))}px`;
    box.style.right = "auto";
    box.style.bottom = "auto";
  };
  let grab = null;
  box.addEventListener("pointerdown", (event) => {
    box.setPointerCapture(event.pointerId);
    grab = [event.clientX - box.offsetLeft, event.clientY - box.offsetTop];
  });
  box.addEventListener("pointermove", (event) => {
    if (grab) place(event.clientX - grab[0], event.clientY - grab[1]);
  });
  for (const type of ["pointerup", "pointercancel"]) box.addEventListener(type, () => { grab = null; });
  box.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 64 : 16;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    place(box.offsetLeft + move[0], box.offsetTop + move[1]);
  });
}

export function grade(rtt, loss) {
  if (rtt === null && loss === null) return null;
  if ((rtt ?? 0) < 0.3 && (loss ?? 0) < 0.02) return "good";
  if ((rtt ?? 0) < 0.6 && (loss ?? 0) < 0.08) return "fair";
  return "poor";
}
