// Confirm and Cancel on each upcoming appointment card (issue 13 item 4). The server
// says what applies (can_confirm, can_cancel) and from when a cancellation counts as
// late (late_cancel_from); Cancel asks once more before it acts, and says whether it
// will count as late. After either, the list is fetched again, a status line says what
// happened and focus returns to the card.

import { $, call, when } from "./api.js";
import { t } from "./i18n.js";
import { hooks } from "./p_hooks.js";

// Why the server refused (409 details.reason), in the page's words.
const REFUSED = {
  confirmed: () => t("This appointment is already confirmed; nothing was changed."),
  cancelled: () => t("This appointment was cancelled; nothing was changed."),
  started: () => t("This appointment has already started; nothing was changed."),
  closed: () => t("This appointment can no longer be confirmed or cancelled here."),
};

let done = null;    // role=status: what was done
let problem = null; // role=alert: what went wrong
// Cards whose Cancel question is open: the list is redrawn each minute, and a question
// being read must not vanish under the reader.
const asking = new Set();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(text, className) {
  const node = el("button", className, text);
  node.type = "button";
  return node;
}

// The two lines live under the page's own error line, once per page.
function lines() {
  if (done) return;
  done = el("p", "muted");
  done.id = "action-done";
  done.setAttribute("role", "status");
  problem = el("p", "error");
  problem.id = "action-error";
  problem.setAttribute("role", "alert");
  problem.hidden = true;
  $("home-error").after(done, problem);
}

export function say(text, failed) {
  lines();
  done.textContent = failed ? "" : text;
  problem.textContent = failed ? text : "";
  problem.hidden = !failed;
}

function lateNote(appt, now = Date.now()) {
  if (!appt.late_cancel_from) return "";
  if (now >= new Date(appt.late_cancel_from).getTime()) {
    return t("Your appointment is soon: cancelling now counts as a late cancellation.");
  }
  return t("From {when}, cancelling counts as a late cancellation.", { when: when(appt.late_cancel_from) });
}

function failure(status, data) {
  if (status === 0) return t("We could not reach your practice. Please check your connection and try again.");
  if (status === 429) return t("Too many attempts. Please wait a minute and try again.");
  const reason = data && data.error && data.error.details && data.error.details.reason;
  if (REFUSED[reason]) return REFUSED[reason]();
  if (status === 404) return t("This appointment is no longer in your portal.");
  return t("Something went wrong; nothing was changed. Please try again.");
}

function outcome(appt, action, data) {
  const at = when(appt.start);
  if (action === "confirm") return t("Your appointment on {when} is confirmed. Thank you.", { when: at });
  if (data.status === "late_cancelled") return t("Your appointment on {when} is cancelled (a late cancellation).", { when: at });
  return t("Your appointment on {when} is cancelled.", { when: at });
}

// Press: POST, then show the list as it is now and put focus back on the card.
async function act(appt, action, portal, pressed) {
  asking.delete(appt.id);
  pressed.forEach((b) => { b.disabled = true; });
  say("", false);
  const { status, data } = await call("POST", `/api/v1/portal/appointments/${encodeURIComponent(appt.id)}/${action}`);
  if (status === 0) {
    pressed.forEach((b) => { b.disabled = false; });
    say(failure(status, data), true);
    return;
  }
  await portal.refresh();
  if (status === 401 || !portal.me) return; // signed out: the page says so
  say(status === 200 ? outcome(appt, action, data) : failure(status, data), status !== 200);
  const heading = $(`appt-${appt.id}`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

// The second step of Cancel: a question in the card, "Yes, cancel it" and "Keep it".
function askToCancel(appt, slot, portal, cancel) {
  const box = el("div", "ask");
  box.hidden = true;
  box.setAttribute("role", "group");
  const question = el("p", "", "");
  question.id = `cancel-q-${appt.id}`;
  box.setAttribute("aria-labelledby", question.id);
  const note = el("p", "late-note");
  note.id = `cancel-late-${appt.id}`;
  const yes = button(t("Yes, cancel it"), "danger");
  const keep = button(t("Keep my appointment"), "secondary");
  keep.setAttribute("aria-describedby", question.id);
  const row = el("div", "actions");
  row.append(yes, keep);
  box.append(question, note, row);
  slot.after(box);
  const open = () => {
    question.textContent = t("Cancel your appointment on {when}?", { when: when(appt.start) });
    note.textContent = lateNote(appt);
    note.hidden = !note.textContent;
    yes.setAttribute("aria-describedby", `${question.id} ${note.id}`);
    box.hidden = false;
    cancel.setAttribute("aria-expanded", "true");
    asking.add(appt.id);
  };
  cancel.setAttribute("aria-expanded", "false");
  cancel.addEventListener("click", () => {
    open();
    keep.focus();
  });
  keep.addEventListener("click", () => {
    box.hidden = true;
    cancel.setAttribute("aria-expanded", "false");
    asking.delete(appt.id);
    cancel.focus();
  });
  if (asking.has(appt.id)) {
    // Redrawn while open: open again, and keep focus in it once the new card is shown.
    open();
    queueMicrotask(() => {
      if (!document.activeElement || document.activeElement === document.body) keep.focus();
    });
  }
  yes.addEventListener("click", () => act(appt, "cancel", portal, [yes, keep, cancel]));
}

function addButtons(appt, slot, portal) {
  const heading = `appt-${appt.id}`;
  if (appt.can_confirm) {
    const confirm = button(t("Confirm"), "confirm");
    confirm.setAttribute("aria-describedby", heading);
    confirm.addEventListener("click", () => act(appt, "confirm", portal, [confirm]));
    slot.append(confirm);
  }
  if (appt.can_cancel) {
    const cancel = button(t("Cancel"), "secondary cancel");
    cancel.setAttribute("aria-describedby", heading);
    slot.append(cancel);
    askToCancel(appt, slot, portal, cancel);
  }
}

hooks.cardActions.push(addButtons);
