// One appointment card: when, with whom, how, its status, and an actions slot holding
// Join (live from the join window's opening) and whatever hooks.cardActions add.

import { t } from "./i18n.js";
import { hooks } from "./p_hooks.js";
import { dayAndTime, differs, timeOf } from "./p_time.js";

const STATUS = {
  scheduled: () => t("Scheduled"), confirmed: () => t("Confirmed"), checked_in: () => t("Checked in"),
  occurred: () => t("Took place"), missed: () => t("Missed"), cancelled: () => t("Cancelled"),
  late_cancelled: () => t("Cancelled"),
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function joinable(appt, now = Date.now()) {
  if (!appt.join_opens_at) return false;
  return new Date(appt.join_opens_at).getTime() <= now && now < new Date(appt.join_closes_at).getTime();
}

// The card for `appt`; `portal` gives me (the signed-in person), join(appt) and refresh().
export function renderCard(appt, portal) {
  const { me } = portal;
  const card = el("li", "card");
  card.dataset.id = appt.id;
  const heading = el("h2", "", dayAndTime(appt.start));
  heading.id = `appt-${appt.id}`;
  card.setAttribute("aria-labelledby", heading.id);
  card.append(heading);
  if (differs(me.timezone)) {
    card.append(el("p", "muted", t("{time} practice time ({zone})", { time: timeOf(appt.start, me.timezone), zone: me.timezone })));
  }
  if (me.clients.length > 1 || me.kind === "contact") {
    const client = me.clients.find((c) => c.id === appt.client_id);
    if (client) card.append(el("p", "", t("For {name}", { name: client.name })));
  }
  card.append(el("p", "", t("With {name}", { name: appt.clinician_name || t("your clinician") })));
  card.append(el("p", "", appt.modality === "telehealth" ? t("Video (telehealth)") : t("In person")));
  card.append(el("p", "status", STATUS[appt.status] ? STATUS[appt.status]() : appt.status));
  const note = el("p", "join-note");
  const slot = el("div", "actions");
  if (appt.modality === "telehealth" && appt.join_opens_at) {
    const join = el("button", "join", t("Join"));
    join.type = "button";
    join.setAttribute("aria-describedby", heading.id);
    join.addEventListener("click", () => portal.join(appt));
    slot.append(join);
  }
  card.append(note, slot);
  for (const add of hooks.cardActions) add(appt, slot, portal);
  updateCard(card, appt);
  return card;
}

// Join is live only inside the join window (checked against the page's clock).
export function updateCard(card, appt, now = Date.now()) {
  const join = card.querySelector("button.join");
  const note = card.querySelector(".join-note");
  if (!join) {
    note.textContent = appt.join_blocked && appt.modality === "telehealth" ? t("This visit cannot be joined by video.") : "";
    return;
  }
  const live = joinable(appt, now);
  join.disabled = !live;
  if (live) note.textContent = "";
  else if (now < new Date(appt.join_opens_at).getTime()) note.textContent = t("Join opens at {time}.", { time: timeOf(appt.join_opens_at) });
  else note.textContent = t("This session has ended.");
}
