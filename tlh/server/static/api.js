// Small shared helpers for the pages: element lookup, JSON fetch, sections, time text.

import { language, locale, t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

// One JSON call to this server; network failure answers status 0 (never throws).
export async function call(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    return { status: 0, data: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, data };
}

// What the page says of an error answer. The server's messages are English: in another
// language the page says it in its own words, by the error's code, or the caller's
// (translated) fallback.
const CODE_TEXT = {
  unauthenticated: () => t("Your link has expired. Please open it again from your message."),
  rate_limited: () => t("Too many attempts. Please wait a minute and try again."),
  identity_failed: () => t("That does not match our records. Please check and try again."),
  form_changed: () => t("The form was updated while you were reading. Please read the updated form."),
  too_large: () => t("The signature is too large. Please sign again, a little smaller."),
  invalid_link: (error) => invalidLinkText(error.details || {}),
};
const WHY = {
  cancelled: () => t("This link is not valid: the appointment was cancelled."),
  moved: () => t("This link is not valid: the appointment was moved to another time."),
  revoked: () => t("This link is not valid any more: it was replaced or withdrawn."),
  expired: () => t("This link is not valid any more: its appointment has passed."),
};

function invalidLinkText(details) {
  const lead = WHY[details.reason] ? WHY[details.reason]() : t("This link is not valid.");
  const contact = [details.contact_phone, details.contact_email].filter(Boolean).join(", ");
  const practice = details.practice_name || t("your practice");
  const ask = contact
    ? t("Ask {practice} for a new one: {contact}.", { practice, contact })
    : t("Ask {practice} for a new one.", { practice });
  return `${lead} ${ask}`;
}

// `words` (code → function) lets a page say its own codes its own way (the portal's
// "unauthenticated" is a sign-out, not an expired link).
export function errorText(data, fallback, words = {}) {
  const error = data && data.error;
  if (language() === "en") return (error && error.message) || fallback;
  const known = error && (words[error.code] || CODE_TEXT[error.code]);
  return known ? known(error) : fallback;
}

// Show one <section> of the page and move focus to its heading for screen readers.
export function showSection(names, id) {
  for (const name of names) $(name).hidden = name !== id;
  const heading = $(id).querySelector("h1, h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

// "Tuesday 3 March at 9:50 AM" (the date and the time, in the reader's own words and
// the page's language: "martes, 3 de marzo a las 9:50").
export function when(iso) {
  const date = new Date(iso);
  const day = date.toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long" });
  return t("{day} at {time}", { day, time: clock(iso) });
}

export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: "numeric", minute: "2-digit" });
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

// A random id per browser, so the server tells a reload from a second device.
export function deviceId() {
  let id = localStorage.getItem("tlh-device");
  if (!id) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("tlh-device", id);
  }
  return id;
}

// Read a one-time token from the fragment, keep it for a reload, clear the address bar.
export function readToken(key) {
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (fromHash) {
    sessionStorage.setItem(key, fromHash);
    history.replaceState(null, "", location.pathname);
    return fromHash;
  }
  return sessionStorage.getItem(key) || "";
}
