// The waiting room's live status: who we wait for, a countdown until the window opens,
// place in line and expected wait, the clinician's presence, and their messages.

import { $, clock, duration } from "./api.js";

const PRESENCE = {
  online: "is online",
  late: "is running a little late",
  busy: "is on another call",
  offline: "has not arrived yet",
};

export class WaitingRoom {
  constructor() {
    this.opensAt = null;
    this.timer = setInterval(() => this.countdown(), 1000);
  }

  // A status frame from the server (see docs/API.md, participant websocket).
  status(frame) {
    const who = frame.clinician_name || "Your clinician";
    this.opensAt = frame.opens_at ? new Date(frame.opens_at) : null;
    let headline = `${who} will let you in shortly.`;
    if (frame.second_device) {
      headline = "This link is already open on another device. Your clinician needs to approve this one.";
    } else if (this.opensAt && this.opensAt > new Date()) {
      headline = `You are early. The waiting room opens at ${clock(frame.opens_at)}.`;
    }
    $("waiting-text").textContent = headline;
    $("presence").textContent = `${who} ${PRESENCE[frame.presence] || PRESENCE.offline}.`;
    $("presence").dataset.presence = frame.presence || "offline";
    const line = [];
    if (frame.position) line.push(frame.position === 1 ? "You are next in line." : `You are number ${frame.position} in line.`);
    if (frame.expected_wait_min) line.push(`Expected wait: about ${frame.expected_wait_min} minute${frame.expected_wait_min === 1 ? "" : "s"}.`);
    $("place").textContent = line.join(" ");
    this.countdown();
  }

  countdown() {
    const left = this.opensAt ? (this.opensAt - Date.now()) / 1000 : 0;
    $("countdown").hidden = left <= 0;
    $("countdown").textContent = left > 0 ? `Opens in ${duration(left)}` : "";
  }

  message(frame) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = clock(frame.at || new Date().toISOString());
    item.append(time, " ", frame.text);
    $("messages").append(item);
    $("messages-box").hidden = false;
  }

  stop() { clearInterval(this.timer); }
}
