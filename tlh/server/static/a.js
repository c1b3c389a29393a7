// The one-tap confirm/cancel page: the token comes in the URL fragment and never reaches
// the server in a URL. Opening the page changes nothing (mail scanners open links too):
// it asks what the link does, shows it with one button, and only that button acts.
// It speaks the browser's language, then the client's once the link is known; the time
// is written here from `starts_at` (in the practice's zone, as the reminder said it) and
// a refusal from its `reason`, so both read in the page's language.

import { $, call, errorText, readToken, showSection } from "./api.js";
import { locale, preferred, setLanguage, t } from "./i18n.js";

const SECTIONS = ["loading", "ask", "done", "problem"];
const KEY = "tlh-action";
const WORDS = {
  confirm: { title: () => t("Confirm your appointment"), button: () => t("Confirm my appointment") },
  cancel: { title: () => t("Cancel your appointment"), button: () => t("Cancel my appointment") },
};
// Why the button does nothing now (tlh.services.client_actions.SAYS, by reason).
const REFUSED = {
  used: () => t("This link was already used; nothing was changed."),
  cancelled: () => t("This appointment was cancelled; nothing was changed."),
  confirmed: () => t("This appointment is already confirmed; nothing was changed."),
  moved: () => t("This link is for an earlier time of the appointment: it was moved. Please use your newest message."),
  started: () => t("This appointment has already started; nothing was changed."),
  closed: () => t("This appointment can no longer be confirmed or cancelled here."),
};

let token = "";
let view = null;

function contact(data) {
  const ways = [data && data.contact_phone, data && data.contact_email].filter(Boolean);
  const practice = (data && data.practice_name) || t("your practice");
  if (!ways.length) return "";
  const both = ways.length === 2 ? t("{a} or {b}", { a: ways[0], b: ways[1] }) : ways[0];
  return ` ${t("You can reach {practice} at {ways}.", { practice, ways: both })}`;
}

function problem(text, title = t("Nothing was changed")) {
  sessionStorage.removeItem(KEY);
  $("problem-title").textContent = title;
  $("problem-text").textContent = text;
  showSection(SECTIONS, "problem");
}

// A refusal said from its reason (the server's message is English), else from its code.
function failure(status, data) {
  if (status === 0) return t("We could not reach your practice. Please check your connection and try again.");
  if (status === 429) return t("Too many attempts. Please wait a minute and try again.");
  const reason = data && data.error && data.error.details && data.error.details.reason;
  if (data && data.error && data.error.code !== "invalid_link" && REFUSED[reason]) return REFUSED[reason]();
  return errorText(data, t("This link is not valid."));
}

// "Tuesday, March 3, 2026, 9:50 AM EST" in the page's language, in the practice's zone.
function whenText(data) {
  const at = new Date(data.starts_at);
  const zone = { timeZone: data.timezone };
  const date = at.toLocaleDateString(locale(), { ...zone, dateStyle: "full" });
  const time = at.toLocaleTimeString(locale(), { ...zone, hour: "numeric", minute: "2-digit", timeZoneName: "short" });
  return `${date}, ${time}`;
}

function ask(data) {
  const words = WORDS[data.action];
  document.title = `${words.title()} — ${data.practice_name}`;
  $("ask-title").textContent = words.title();
  $("when").textContent = whenText(data);
  $("with").textContent = data.clinician_name || "";
  $("with").hidden = $("with-label").hidden = !data.clinician_name;
  $("late-note").hidden = !data.late;
  $("late-note").textContent = data.late
    ? t("Your appointment is soon: cancelling now counts as a late cancellation.")
    : "";
  $("act").textContent = words.button();
  $("act").classList.toggle("danger", data.action === "cancel");
  showSection(SECTIONS, "ask");
}

function doneText(confirmed, late) {
  const at = view && view.starts_at ? whenText(view) : "";
  if (confirmed) return at ? t("Thank you. We look forward to seeing you on {when}.", { when: at }) : t("Thank you. We look forward to seeing you.");
  if (late) return at ? t("Your appointment on {when} is cancelled (a late cancellation). You can close this page.", { when: at }) : t("Your appointment is cancelled (a late cancellation). You can close this page.");
  return at ? t("Your appointment on {when} is cancelled. You can close this page.", { when: at }) : t("Your appointment is cancelled. You can close this page.");
}

async function act(event) {
  event.preventDefault();
  const button = $("act");
  button.disabled = true;
  $("act-error").hidden = true;
  const { status, data } = await call("POST", "/api/v1/actions/use", { token });
  button.disabled = false;
  if (status === 200) {
    sessionStorage.removeItem(KEY);
    const confirmed = data.action === "confirm";
    $("done-title").textContent = confirmed ? t("Your appointment is confirmed") : t("Your appointment is cancelled");
    $("done-text").textContent = doneText(confirmed, data.late);
    showSection(SECTIONS, "done");
    return;
  }
  if (status === 0 || status === 429) {
    $("act-error").textContent = failure(status, data);
    $("act-error").hidden = false;
    return;
  }
  problem(failure(status, data) + contact(view));
}

async function start() {
  view = null;
  token = readToken(KEY);
  await setLanguage(preferred());
  if (!token) {
    problem(t("This link is not complete. Please open it again from your message."));
    return;
  }
  const { status, data } = await call("POST", "/api/v1/actions/look", { token });
  if (status !== 200) {
    problem(failure(status, data), t("We could not open this link"));
    return;
  }
  view = data;
  // The client's language, as their reminder was written (else the browser's stays).
  if (data.language) await setLanguage(data.language);
  $("practice").textContent = data.practice_name;
  if (!data.ready) {
    problem((REFUSED[data.reason] ? REFUSED[data.reason]() : data.message) + contact(data));
    return;
  }
  ask(data);
}

$("act-form").addEventListener("submit", act);
// Another link opened in this same tab changes only the fragment: no new page load.
window.addEventListener("hashchange", () => {
  if (location.hash.length > 1) {
    showSection(SECTIONS, "loading");
    start();
  }
});
start();
