// The pages' words in the person's language. Source strings are English, written in
// place as t("...") (and data-i18n in the HTML); another language's are fetched once
// from /i18n/<lang>.json (built by the server from its gettext catalogue) only when that
// language is chosen, so an English page loads nothing more.
//
// A page adopts it in three steps:
//   import { t, setLanguage, preferred } from "./i18n.js";
//   await setLanguage(preferred());          // the browser's choice, before showing text
//   ... later, once the server knows the person: await setLanguage(answer.language);
// and writes every visible string as t("English text") or t("Hello {name}", { name }),
// with the literal inside t( so the extractor finds it; static HTML text carries
// data-i18n (its English text is the key), labels data-i18n-attr="aria-label title".
// Text a script wrote before a switch is its own to rewrite: a "tlh-language" event on
// document follows every switch.

//: Shipped languages (tlh.domain.language.LANGUAGES; a test keeps them the same).
export const LANGUAGES = ["en", "es"];
const SOURCE = "en";

let current = SOURCE;
let table = {};

// "Hello {name}" with {name} filled in; a placeholder with no value stays as written.
export function t(text, values) {
  const out = table[text] || text;
  if (!values) return out;
  return out.replace(/\{([a-z_]+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

export function language() {
  return current;
}

// The BCP 47 tag dates and times are written with: the browser's regional form of the
// page's language when it lists one (an en-GB reader keeps "3 March", "es-MX"), else the
// bare language (an English page in a Spanish browser writes English dates, not the
// browser's Spanish ones).
export function locale() {
  const tags = navigator.languages || [navigator.language || ""];
  return tags.find((tag) => primary(tag) === current) || current;
}

function primary(tag) {
  return String(tag || "").toLowerCase().split(/[-_]/)[0];
}

// The first shipped language the browser lists, else English.
export function preferred() {
  const tags = navigator.languages || [navigator.language || ""];
  for (const tag of tags) {
    if (LANGUAGES.includes(primary(tag))) return primary(tag);
  }
  return SOURCE;
}

// Switch to `code` (a tag like "es" or "es-MX"; unknown or null: nothing changes).
// A catalogue that cannot be fetched leaves the page as it was (English, say): a
// person never sees keys or nothing.
export async function setLanguage(code) {
  const next = primary(code);
  if (!LANGUAGES.includes(next) || next === current) return current;
  let loaded = {};
  if (next !== SOURCE) {
    try {
      const response = await fetch(`/i18n/${next}.json`, { credentials: "same-origin" });
      if (!response.ok) return current;
      loaded = await response.json();
    } catch {
      return current;
    }
  }
  table = loaded;
  current = next;
  document.documentElement.lang = next;
  translatePage();
  // Text a script wrote (not data-i18n) is written again by whoever listens.
  document.dispatchEvent(new Event("tlh-language"));
  return current;
}

// Every data-i18n element's text and data-i18n-attr label, from its English source
// (kept on first sight, so switching back and forth always starts from the English).
export function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    if (element.dataset.i18nSource === undefined) element.dataset.i18nSource = element.textContent.replace(/\s+/g, " ").trim();
    element.textContent = t(element.dataset.i18nSource);
  }
  for (const element of root.querySelectorAll("[data-i18n-attr]")) {
    for (const name of element.dataset.i18nAttr.split(/\s+/).filter(Boolean)) {
      const key = `i18nSource${name.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase())}`;
      if (element.dataset[key] === undefined) element.dataset[key] = element.getAttribute(name) || "";
      element.setAttribute(name, t(element.dataset[key]));
    }
  }
}
