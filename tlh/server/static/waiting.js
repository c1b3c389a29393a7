// The waiting room's live status: who we wait for, when the room opens (the day too,
// when it is not today; "come back then" with a calendar file when it is hours away),
// place in line and expected wait, the clinician's presence, and the conversation: the
// clinician's messages and the person's replies.

import { $, clock, duration, sameDay, when } from "./api.js";
import { t } from "./i18n.js";

// Whole sentences, so a language can put the name where it goes.
const PRESENCE = {
  online: (who) => t("{who} is online.", { who }),
  late: (who) => t("{who} is running a little late.", { who }),
  busy: (who) => t("{who} is on another call.", { who }),
  offline: (who) => t("{who} is not online yet.", { who }),
};
//: Further off than this, the page says "come back then" rather than "keep this open".
const COME_BACK_S = 60 * 60;
//: More than this before their own start, someone let in early is told so.
const EARLY_S = 10 * 60;

export class WaitingRoom {
  // `appointment`: {starts_at, ends_at, practice, clinician} from the link's state.
  constructor(appointment = {}) {
    this.appointment = appointment;
    this.opensAt = null;
    this.seen = new Set();
    this.timer = setInterval(() => this.countdown(), 1000);
  }

  // A status frame from the server (see docs/API.md, participant websocket).
  status(frame) {
    const who = frame.clinician_name || t("Your clinician");
    this.opensAt = frame.opens_at ? new Date(frame.opens_at) : null;
    const startsAt = this.appointment.starts_at ? new Date(this.appointment.starts_at) : null;
    const now = new Date();
    const away = this.opensAt ? (this.opensAt - now) / 1000 : 0;
    let headline = t("{who} will let you in shortly.", { who });
    let comeBack = false;
    if (frame.second_device) {
      headline = t("This link is already open on another device. Your clinician needs to approve this one.");
    } else if (this.opensAt && away > 0) {
      const at = at_(this.opensAt, now);
      comeBack = away > COME_BACK_S;
      headline = comeBack
        ? t("You are early. The waiting room opens {at}. Please come back then.", { at })
        : t("You are early. The waiting room opens {at}.", { at });
    } else if (startsAt && (startsAt - now) / 1000 > EARLY_S) {
      headline = t("You are early: your appointment is {at}. {who} will let you in when it is time.", { at: at_(startsAt, now), who });
    }
    $("waiting-text").textContent = headline;
    const presence = frame.presence || "offline";
    $("presence").textContent = comeBack ? "" : (PRESENCE[presence] || PRESENCE.offline)(who);
    $("presence").dataset.presence = presence;
    const line = [];
    if (frame.position && !comeBack) line.push(frame.position === 1 ? t("You are next in line.") : t("You are number {n} in line.", { n: frame.position }));
    if (frame.expected_wait_min && !comeBack) {
      const n = frame.expected_wait_min;
      line.push(n === 1 ? t("Expected wait: about 1 minute.") : t("Expected wait: about {n} minutes.", { n }));
    }
    $("place").textContent = line.join(" ");
    $("keep-open").hidden = comeBack;
    this.calendar(comeBack && startsAt);
    this.countdown();
  }

  // An .ics file of the appointment, made here (no request carries it).
  calendar(show) {
    $("calendar-line").hidden = !show;
    if (!show || this.icsUrl) return;
    const { starts_at: start, ends_at: end, practice = "", clinician = "" } = this.appointment;
    const stamp = (iso) => new Date(iso).toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
    const text = (value) => value.replace(/[\\;,]/g, (c) => `\\${c}`);
    const lines = [
      "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tlh//client page//EN", "BEGIN:VEVENT",
      `UID:${stamp(start)}-${Math.random().toString(36).slice(2)}@tlh`, `DTSTAMP:${stamp(new Date().toISOString())}`,
      `DTSTART:${stamp(start)}`, `DTEND:${stamp(end || start)}`,
      `SUMMARY:${text(clinician ? t("Telehealth appointment with {clinician}", { clinician }) : t("Telehealth appointment"))}`,
      `DESCRIPTION:${text(t("Open the link in your message from {practice} at this time.", { practice: practice || t("your practice") }))}`,
      "END:VEVENT", "END:VCALENDAR", "",
    ];
    this.icsUrl = URL.createObjectURL(new Blob([lines.join("\r\n")], { type: "text/calendar" }));
    $("calendar").href = this.icsUrl;
  }

  countdown() {
    const left = this.opensAt ? (this.opensAt - Date.now()) / 1000 : 0;
    $("countdown").hidden = left <= 0 || left > COME_BACK_S;
    $("countdown").textContent = left > 0 ? t("Opens in {duration}", { duration: duration(left) }) : "";
  }

  // A message from the clinician, or (mine) the person's own reply; each once, however
  // often a reconnect replays it.
  message(frame, mine = false) {
    const key = `${mine ? "me" : "them"}|${frame.at}|${frame.text}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const item = document.createElement("li");
    if (mine) item.className = "mine";
    const time = document.createElement("time");
    time.textContent = clock(frame.at || new Date().toISOString());
    item.append(time, " ", mine ? t("You: {text}", { text: frame.text }) : frame.text);
    $("messages").append(item);
    $("messages-box").hidden = false;
  }

  stop() { clearInterval(this.timer); }
}

// "at 9:50 AM" today; "on Tuesday 3 March at 9:50 AM" another day.
function at_(date, now) {
  return sameDay(date, now)
    ? t("at {time}", { time: clock(date.toISOString()) })
    : t("on {when}", { when: when(date.toISOString()) });
}
