// The one-tap confirm/cancel page: the token comes in the URL fragment and never reaches
// the server in a URL. Opening the page changes nothing (mail scanners open links too):
// it asks what the link does, shows it with one button, and only that button acts.

import { $, call, errorText, readToken, showSection } from "./api.js";

const SECTIONS = ["loading", "ask", "done", "problem"];
const KEY = "tlh-action";
const WORDS = {
  confirm: { title: "Confirm your appointment", button: "Confirm my appointment" },
  cancel: { title: "Cancel your appointment", button: "Cancel my appointment" },
};

let token = "";
let view = null;

function contact(data) {
  const ways = [data && data.contact_phone, data && data.contact_email].filter(Boolean);
  const practice = (data && data.practice_name) || "your practice";
  return ways.length ? ` You can reach ${practice} at ${ways.join(" or ")}.` : "";
}

function problem(text, title = "Nothing was changed") {
  sessionStorage.removeItem(KEY);
  $("problem-title").textContent = title;
  $("problem-text").textContent = text;
  showSection(SECTIONS, "problem");
}

function failure(status, data) {
  if (status === 0) return "We could not reach your practice. Please check your connection and try again.";
  if (status === 429) return "Too many attempts. Please wait a minute and try again.";
  return errorText(data, "This link is not valid.");
}

function ask(data) {
  const words = WORDS[data.action];
  document.title = `${words.title} — ${data.practice_name}`;
  $("ask-title").textContent = words.title;
  $("when").textContent = `${data.date}, ${data.time}`;
  $("with").textContent = data.clinician_name || "";
  $("with").hidden = $("with-label").hidden = !data.clinician_name;
  $("late-note").hidden = !data.late;
  $("late-note").textContent = data.late
    ? "Your appointment is soon: cancelling now counts as a late cancellation."
    : "";
  $("act").textContent = words.button;
  $("act").classList.toggle("danger", data.action === "cancel");
  showSection(SECTIONS, "ask");
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
    $("done-title").textContent = confirmed ? "Your appointment is confirmed" : "Your appointment is cancelled";
    const when = view && view.date ? ` on ${view.date}, ${view.time}` : "";
    $("done-text").textContent = confirmed
      ? `Thank you. We look forward to seeing you${when}.`
      : `Your appointment${when} is cancelled${data.late ? " (a late cancellation)" : ""}. You can close this page.`;
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
  if (!token) {
    problem("This link is not complete. Please open it again from your message.");
    return;
  }
  const { status, data } = await call("POST", "/api/v1/actions/look", { token });
  if (status !== 200) {
    problem(failure(status, data), "We could not open this link");
    return;
  }
  view = data;
  $("practice").textContent = data.practice_name;
  if (!data.ready) {
    problem(data.message + contact(data));
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
