// A day, then one of its open times, for one client and clinician: what booking
// (p_book.js) and "Ask to move" (p_move.js) both need. The day opens on the first one
// the practice's notice allows; the times are radio buttons; the caller's onPick(slot)
// posts and answers { status, data }, and a slot taken meanwhile reloads the day.

import { call, clock } from "./api.js";
import { t } from "./i18n.js";

// The practice's booking window (p_book.js sets it from /api/v1/portal/booking).
export const limits = { min_notice_h: 24, max_days: 60 };
let made = 0;

// What a refusal's code means, in the page's words.
const REFUSED = {
  slot_gone: () => t("That time was just taken. Please choose another."),
  too_soon: () => t("That time is too soon to book. Please choose a later one."),
  in_the_past: () => t("That time is too soon to book. Please choose a later one."),
  too_far: () => t("That day is too far ahead. Please choose an earlier one."),
  not_open: () => t("That time is not open. Please choose another."),
  wrong_mode: () => t("That time is not open. Please choose another."),
  not_pending: () => t("A request to move this appointment is already waiting for your practice."),
  self_scheduling_off: () => t("Your practice does not take bookings here at the moment."),
};

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function refusal(status, data) {
  if (status === 0) return t("We could not reach your practice. Please check your connection and try again.");
  const code = data && data.error && data.error.code;
  return REFUSED[code] ? REFUSED[code]() : t("Something went wrong; nothing was changed. Please try again.");
}

// "YYYY-MM-DD" of the browser's day `ms` from now.
function dayFromNow(ms) {
  const at = new Date(Date.now() + ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

export function makePicker(submitText, onPick) {
  const id = `pick${++made}`;
  const root = el("div", "picker");
  const dayLabel = el("label", "", t("Day"));
  dayLabel.htmlFor = `${id}-day`;
  const day = el("input");
  day.type = "date";
  day.id = dayLabel.htmlFor;
  const times = el("fieldset", "times");
  times.append(el("legend", "", t("Open times")));
  const list = el("div", "time-list");
  times.append(list);
  const note = el("p", "muted");
  note.setAttribute("role", "status");
  const error = el("p", "error");
  error.setAttribute("role", "alert");
  const submit = el("button", "", submitText);
  submit.type = "button";
  error.hidden = times.hidden = submit.hidden = true;
  root.append(dayLabel, day, note, times, error, submit);
  let query = null;
  let slots = [];

  const fail = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };

  async function load() {
    fail("");
    times.hidden = submit.hidden = true;
    if (!query || !day.value) return;
    note.textContent = t("Looking for open times…");
    const params = new URLSearchParams({ ...query, from: day.value });
    const { status, data } = await call("GET", `/api/v1/portal/slots?${params}`);
    note.textContent = "";
    if (status !== 200) return fail(refusal(status, data));
    slots = data.items;
    list.replaceChildren(...slots.map((slot, n) => {
      const row = el("label", "time");
      const radio = el("input");
      Object.assign(radio, { type: "radio", name: `${id}-time`, value: String(n) });
      row.append(radio, el("span", "", clock(slot.start)));
      return row;
    }));
    times.hidden = submit.hidden = !slots.length;
    note.textContent = slots.length ? "" : t("No open times on this day. Please choose another day.");
  }

  day.addEventListener("change", load);
  submit.addEventListener("click", async () => {
    const chosen = list.querySelector("input:checked");
    if (!chosen) return fail(t("Choose a time first."));
    submit.disabled = true;
    const { status, data } = await onPick(slots[Number(chosen.value)]);
    submit.disabled = false;
    if (status === 200 || status === 201) return;
    const why = refusal(status, data);
    if (data && data.error && data.error.code === "slot_gone") await load();
    fail(why);
  });

  return {
    root,
    // Ask for `q` ({ client, clinician, modality }), from the first day allowed.
    async show(q) {
      query = q;
      day.min = dayFromNow(limits.min_notice_h * 3_600_000);
      day.max = dayFromNow(limits.max_days * 86_400_000);
      if (!day.value || day.value < day.min || day.value > day.max) day.value = day.min;
      await load();
    },
  };
}
