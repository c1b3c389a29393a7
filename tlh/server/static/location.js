// The location step (when the practice asks: policy ask_location): before the waiting
// room the person confirms where they are now and a phone number to reach them there,
// filled with what they gave last time (kept by the server, never in this browser).
// Resolves once the server has it. Every word the step shows is in TEXTS, each a
// function so t() answers in the language chosen when the step is shown.

import { $, call, errorText } from "./api.js";
import { t } from "./i18n.js";

export const TEXTS = {
  title: () => t("Where are you right now?"),
  why: () => t("Your clinician needs to know where you are during the session, in case of an emergency."),
  place: () => t("Your address, or your city and state"),
  placeHint: () => t("For example: 12 Oak Street, Springfield, IL — or just Springfield, IL"),
  phone: () => t("A phone number to reach you there"),
  submit: () => t("Continue"),
  lastTime: () => t("We filled in what you told us last time. Please check it is still right."),
  needPlace: () => t("Please tell us where you are: an address, or your city and state."),
  needPhone: () => t("Please enter a phone number we can reach you on."),
  badPlace: () => t("Please enter where you are on one line (at most 200 characters)."),
  badPhone: () => t("That phone number does not look right. Please check it, with the area code."),
  offline: () => t("We could not reach the practice. Check your connection and try again."),
  failed: () => t("Something went wrong. Please try again."),
};

const MAX_PLACE = 200;

function field(id, label, attrs, hint) {
  const wrap = document.createElement("div");
  const name = document.createElement("label");
  name.htmlFor = id;
  name.textContent = label;
  const input = document.createElement("input");
  input.id = id;
  input.required = true;
  for (const [key, value] of Object.entries(attrs)) input.setAttribute(key, value);
  wrap.append(name);
  if (hint) {
    const help = document.createElement("p");
    help.id = `${id}-hint`;
    help.className = "muted";
    help.textContent = hint;
    input.setAttribute("aria-describedby", help.id);
    wrap.append(help);
  }
  wrap.append(input);
  return wrap;
}

// The section's content, made once (its words from TEXTS).
function build(section) {
  if (section.dataset.built) return;
  section.dataset.built = "1";
  const title = document.createElement("h1");
  title.textContent = TEXTS.title();
  const why = document.createElement("p");
  why.textContent = TEXTS.why();
  const note = document.createElement("p");
  note.id = "location-last";
  note.className = "muted";
  note.hidden = true;
  note.textContent = TEXTS.lastTime();
  const form = document.createElement("form");
  form.id = "location-form";
  form.noValidate = true;
  const error = document.createElement("p");
  error.id = "location-error";
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.textContent = TEXTS.submit();
  form.append(
    field("location-place", TEXTS.place(), { autocomplete: "street-address", maxlength: String(MAX_PLACE) }, TEXTS.placeHint()),
    field("location-phone", TEXTS.phone(), { type: "tel", autocomplete: "tel", inputmode: "tel", maxlength: "40" }),
    error,
    submit,
  );
  section.replaceChildren(title, why, note, form);
}

export async function locationStep(ui) {
  const section = $("location");
  build(section);
  const place = $("location-place");
  const phone = $("location-phone");
  const last = await call("GET", "/api/v1/link/location");
  if (last.status === 200 && last.data) {
    if (!place.value) place.value = last.data.place || "";
    if (!phone.value) phone.value = last.data.phone || "";
    $("location-last").hidden = !(last.data.place || last.data.phone);
  }
  ui.show();
  return new Promise((resolve) => {
    const error = (text, input) => {
      $("location-error").textContent = text;
      $("location-error").hidden = !text;
      for (const each of [place, phone]) each.removeAttribute("aria-invalid");
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    };
    const form = $("location-form");
    const submit = async (event) => {
      event.preventDefault();
      error("");
      const body = { place: place.value.trim(), phone: phone.value.trim() };
      if (!body.place) { error(TEXTS.needPlace(), place); return; }
      if (!body.phone) { error(TEXTS.needPhone(), phone); return; }
      const { status, data } = await call("POST", "/api/v1/link/location", body);
      if (status === 204 || status === 200) {
        form.removeEventListener("submit", submit);
        resolve();
      } else if (status === 422) {
        const said = errorText(data, "");
        if (/phone/i.test(said)) error(TEXTS.badPhone(), phone);
        else error(TEXTS.badPlace(), place);
      } else if (status === 401) ui.problem(errorText(data, TEXTS.failed()));
      else if (status === 0) error(TEXTS.offline());
      else error(errorText(data, TEXTS.failed()));
    };
    form.addEventListener("submit", submit);
  });
}
