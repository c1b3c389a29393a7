// "Ask to move" on an appointment card (issue 13 item 5): a panel under the list (the
// cards are redrawn each minute; a panel there is not) to choose an open time of the
// same clinician in the same way; the request waits for staff, and the card says so.

import { $, call, when } from "./api.js";
import { t } from "./i18n.js";
import { hooks } from "./p_hooks.js";
import { say } from "./p_actions.js";
import { el, makePicker } from "./p_picker.js";

let panel = null;
let what = null;
let moving = null; // the appointment being moved
let picker = null;
let portal = null;

function close(focusBack) {
  panel.hidden = true;
  const from = moving && $(`move-${moving.id}`);
  moving = null;
  if (focusBack && from) from.focus();
}

async function ask(slot) {
  const appt = moving;
  const answer = await call("POST", `/api/v1/portal/appointments/${encodeURIComponent(appt.id)}/reschedule`, { start: slot.start });
  if (answer.status !== 201) return answer;
  close(false);
  await portal.refresh();
  say(t("Your practice has your request to move it to {when}. They will let you know.", { when: when(slot.start) }), false);
  const heading = $(`appt-${appt.id}`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
  return answer;
}

function addPanel(container, page) {
  portal = page;
  panel = el("section", "move");
  panel.hidden = true;
  const heading = el("h2", "", t("Ask to move an appointment"));
  heading.id = "move-title";
  heading.tabIndex = -1;
  panel.setAttribute("aria-labelledby", heading.id);
  what = el("p");
  picker = makePicker(t("Ask to move to this time"), ask);
  const never = el("button", "secondary", t("Never mind"));
  never.type = "button";
  never.addEventListener("click", () => close(true));
  panel.append(heading, what, picker.root, never);
  container.append(panel);
}

function open(appt) {
  moving = appt;
  what.textContent = t("Your appointment on {when} with {name}. Choose a new time; your practice will let you know.", { when: when(appt.start), name: appt.clinician_name });
  panel.hidden = false;
  picker.show({ client: appt.client_id, clinician: appt.clinician_id, modality: appt.modality });
  $("move-title").focus();
}

function addButton(appt, slot) {
  if (appt.move_asked) {
    slot.before(el("p", "muted", t("You asked to move this to {when}. Your practice will let you know.", { when: when(appt.move_asked) })));
  }
  if (!appt.can_move || !appt.clinician_id) return;
  const button = el("button", "secondary", t("Ask to move"));
  button.type = "button";
  button.id = `move-${appt.id}`;
  button.setAttribute("aria-describedby", `appt-${appt.id}`);
  button.addEventListener("click", () => open(appt));
  slot.append(button);
}

hooks.homeParts.push(addPanel);
hooks.cardActions.push(addButton);
