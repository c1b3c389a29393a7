// The "starts in N minutes" notice: shown on its own (the page checks every few seconds)
// when a joinable session is `notice_min` minutes away or less, with a short tone and a
// vibration where the browser allows them. Dismissed per appointment.

import { $ } from "./api.js";
import { t } from "./i18n.js";
import { joinable } from "./p_cards.js";
import { minutesUntil } from "./p_time.js";

const dismissed = new Set();
let shownFor = null;
let onJoin = () => {};

function chime() {
  try {
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  } catch { /* not allowed: fine */ }
  try {
    const Audio = window.AudioContext || window.webkitAudioContext;
    if (!Audio) return;
    const ctx = new Audio();
    const tone = ctx.createOscillator();
    const gain = ctx.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.1;
    tone.connect(gain).connect(ctx.destination);
    tone.start();
    tone.stop(ctx.currentTime + 0.3);
    tone.onended = () => ctx.close();
  } catch { /* no sound before a tap on some browsers: the notice still shows */ }
}

$("notice-close").addEventListener("click", () => {
  if (shownFor) dismissed.add(shownFor.id);
  hide();
});
$("notice-join").addEventListener("click", () => shownFor && onJoin(shownFor));

function hide() {
  shownFor = null;
  $("notice").hidden = true;
}

function noticeText(name, left) {
  const who = name || t("your clinician");
  if (left > 1) return t("Your session with {who} starts in {n} minutes.", { who, n: left });
  if (left === 1) return t("Your session with {who} starts in 1 minute.", { who });
  return t("Your session with {who} is starting now.", { who });
}

// Look at `appts` now: show, update or hide the notice.
export function checkNotice(appts, noticeMin, join, now = Date.now()) {
  onJoin = join;
  if (!noticeMin) return hide();
  const due = appts.find((a) => {
    const left = minutesUntil(a.start, now);
    return !dismissed.has(a.id) && a.join_opens_at && left <= noticeMin && left > -5 && joinable(a, now);
  });
  if (!due) return hide();
  const left = Math.max(0, minutesUntil(due.start, now));
  $("notice-text").textContent = noticeText(due.clinician_name, left);
  const fresh = !shownFor || shownFor.id !== due.id;
  shownFor = due;
  $("notice").hidden = false;
  if (fresh) chime();
}
