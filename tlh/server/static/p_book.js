// "Book a session" on the portal (issue 13 item 5), when the practice takes bookings
// (policy self_scheduling): for whom, with which of their clinicians, by video or in
// person (as the clinician's availability offers), a day, then an open time. The new
// appointment shows in the list; a time taken meanwhile says so and reloads the day.

import { $, call, when } from "./api.js";
import { t } from "./i18n.js";
import { hooks } from "./p_hooks.js";
import { say } from "./p_actions.js";
import { el, limits, makePicker } from "./p_picker.js";
import "./p_move.js";

const MODES = { telehealth: () => t("Video (telehealth)"), in_person: () => t("In person") };

let part = null;
let portal = null;
let options = null;
let loadedFor = null; // the portal.me the options were read for
let picker = null;
const fields = {};

function field(labelText, id, control) {
  const label = el("label", "", labelText);
  label.htmlFor = id;
  control.id = id;
  return [label, control];
}

function forClient() {
  const id = fields.who.value || (options.clients[0] && options.clients[0].client_id);
  return options.clients.find((c) => c.client_id === id);
}

function clinician() {
  const client = forClient();
  return client && client.clinicians.find((c) => c.id === fields.clinician.value);
}

function modality() {
  const chosen = fields.modes.querySelector("input:checked");
  return chosen ? chosen.value : "";
}

function fillModes() {
  const modes = (clinician() || { modes: [] }).modes;
  const list = fields.modes.querySelector(".mode-list");
  list.replaceChildren(...modes.map((mode, n) => {
    const row = el("label", "time");
    const radio = el("input");
    Object.assign(radio, { type: "radio", name: "book-mode", value: mode, checked: n === 0 });
    radio.addEventListener("change", showSlots);
    row.append(radio, el("span", "", MODES[mode]()));
    return row;
  }));
  showSlots();
}

function fillClinicians() {
  const client = forClient();
  const list = client ? client.clinicians : [];
  fields.clinician.replaceChildren(...list.map((c) => Object.assign(el("option", "", c.name), { value: c.id })));
  fields.none.hidden = list.length > 0;
  fields.choose.hidden = !list.length;
  if (list.length) fillModes();
}

function showSlots() {
  const client = forClient();
  const chosen = clinician();
  if (client && chosen && modality()) picker.show({ client: client.client_id, clinician: chosen.id, modality: modality() });
}

async function book(slot) {
  const client = forClient();
  const chosen = clinician();
  const body = { client_id: client.client_id, clinician_id: chosen.id, start: slot.start, modality: modality() };
  const answer = await call("POST", "/api/v1/portal/bookings", body);
  if (answer.status !== 201) return answer;
  await portal.refresh();
  say(t("Booked: {when} with {name}. It is in your list above.", { when: when(answer.data.start), name: chosen.name }), false);
  const heading = $(`appt-${answer.data.id}`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
  await picker.show({ client: client.client_id, clinician: chosen.id, modality: modality() });
  return answer;
}

async function load() {
  if (!portal.me || loadedFor === portal.me || $("home").hidden) return;
  loadedFor = portal.me;
  const { status, data } = await call("GET", "/api/v1/portal/booking");
  options = status === 200 ? data : null;
  part.hidden = !(options && options.enabled && options.clients.length);
  if (part.hidden) return;
  limits.min_notice_h = options.min_notice_h;
  limits.max_days = options.max_days;
  const names = new Map(portal.me.clients.map((c) => [c.id, c.name]));
  fields.who.replaceChildren(...options.clients.map((c) => Object.assign(el("option", "", names.get(c.client_id) || ""), { value: c.client_id })));
  fields.whoRow.hidden = options.clients.length < 2;
  fillClinicians();
}

function addPart(container, page) {
  portal = page;
  part = el("section", "book");
  part.hidden = true;
  const heading = el("h2", "", t("Book a session"));
  heading.id = "book-title";
  part.setAttribute("aria-labelledby", heading.id);
  fields.who = el("select");
  fields.whoRow = el("div");
  fields.whoRow.append(...field(t("Who is the session for?"), "book-who", fields.who));
  fields.clinician = el("select");
  fields.modes = el("fieldset", "times");
  fields.modes.append(el("legend", "", t("How")), el("div", "time-list mode-list"));
  fields.none = el("p", "muted", t("There is nobody to book with here yet. Please contact your practice."));
  picker = makePicker(t("Book this time"), book);
  fields.choose = el("div");
  fields.choose.append(...field(t("Clinician"), "book-clinician", fields.clinician), fields.modes, picker.root);
  part.append(heading, fields.whoRow, fields.none, fields.choose);
  fields.who.addEventListener("change", fillClinicians);
  fields.clinician.addEventListener("change", fillModes);
  container.prepend(part);
  // The part is added before anyone signs in: read the options once the home shows.
  new MutationObserver(load).observe($("home"), { attributes: true, attributeFilter: ["hidden"] });
}

hooks.homeParts.push(addPart);
