// Once signed in: the offer to add a passkey ("Sign in with one tap next time") right
// after a code sign-in (unless "Not now" on this device); and the list of their passkeys
// (added, last used) with a Remove button each.

import { $, call } from "./api.js";
import { locale, t } from "./i18n.js";
import { portalError } from "./p_errors.js";
import { creationOptions, credentialJSON } from "./passkey_codec.js";

const when = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
const LATER = "tlh.passkey.later"; // "not now" on this device (no personal data)

export function setUpManage(container, portal, { el, browserError, stopAutofill }) {
  const say = (node, text) => { node.textContent = text; node.hidden = !text; };
  const offer = el("div", { id: "passkey-offer", className: "card", hidden: true });
  const title = el("h2", { id: "passkey-offer-title" });
  const why = el("p", {});
  offer.append(title, why);
  const add = el("button", { type: "button", id: "passkey-add" });
  const later = el("button", { type: "button", id: "passkey-later", className: "secondary" });
  const actions = el("div", { className: "actions" });
  actions.append(add, later);
  const status = el("p", { id: "passkey-status" });
  status.setAttribute("role", "status");
  const error = el("p", { id: "passkey-error", className: "error", hidden: true });
  error.setAttribute("role", "alert");
  offer.append(actions);

  const manage = el("details", { id: "passkey-manage" });
  const summary = el("summary", {});
  const list = el("ul", { id: "passkey-list", className: "cards" });
  const none = el("p", { className: "muted", hidden: true });
  const another = el("button", { type: "button", className: "secondary" });
  manage.append(summary, list, none, another);
  container.append(offer, status, error, manage);

  let mine = [];

  // Built before the page knows the person's language: written again on a change.
  function words() {
    title.textContent = t("Sign in with one tap next time");
    why.textContent = t("Add a passkey: this device then opens your portal with its fingerprint, face or screen lock, without a code.");
    add.textContent = t("Add a passkey");
    later.textContent = t("Not now");
    list.setAttribute("aria-label", t("Your passkeys"));
    none.textContent = t("No passkeys yet.");
    another.textContent = t("Add a passkey on this device");
    summary.textContent = t("Your passkeys ({n})", { n: mine.length });
    list.replaceChildren(...mine.map(row));
  }
  words();
  document.addEventListener("tlh-language", words);

  async function load() {
    const { status: code, data } = await call("GET", "/api/v1/portal/passkeys");
    if (code !== 200) return false;
    mine = data.items;
    none.hidden = mine.length > 0;
    words();
    return true;
  }

  function row(key, index) {
    const item = el("li", { className: "card" });
    const added = when(key.created_at);
    const n = index + 1;
    const remove = el("button", { type: "button", className: "secondary" }, t("Remove"));
    remove.setAttribute("aria-label", t("Remove passkey {n}, added {added}", { n, added }));
    remove.addEventListener("click", async () => {
      say(error, "");
      const answer = await call("DELETE", `/api/v1/portal/passkeys/${encodeURIComponent(key.id)}`);
      if (answer.status !== 204) return say(error, portalError(answer.data, t("We could not remove that passkey.")));
      await load();  // the list without it first, then the word that it is gone
      say(status, t("Passkey removed. It no longer signs you in."));
      summary.focus();
    });
    const actionsRow = el("div", { className: "actions" });
    actionsRow.append(remove);
    const used = key.last_used_at ? t("Last used: {at}", { at: when(key.last_used_at) }) : t("Not used yet");
    item.append(el("p", {}, t("Passkey {n}: added {added}", { n, added })), el("p", { className: "muted" }, used), actionsRow);
    return item;
  }

  async function addPasskey() {
    say(error, "");
    say(status, "");
    const options = await call("POST", "/api/v1/portal/passkeys/options");
    if (options.status !== 200) return say(error, portalError(options.data, t("We could not start adding a passkey.")));
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey: creationOptions(options.data) });
    } catch (err) {
      return say(error, browserError(err, t("We could not add a passkey on this device.")));
    }
    const answer = await call("POST", "/api/v1/portal/passkeys", { credential: credentialJSON(credential) });
    if (answer.status !== 201) return say(error, portalError(answer.data, t("We could not add that passkey.")));
    offer.hidden = true;
    await load();  // the list with it first, then the word that it is there
    say(status, t("Passkey added. Next time, tap \u201cSign in with a passkey\u201d."));
    status.tabIndex = -1;
    status.focus();
  }

  add.addEventListener("click", addPasskey);
  another.addEventListener("click", addPasskey);
  later.addEventListener("click", () => {
    offer.hidden = true;
    try { localStorage.setItem(LATER, "1"); } catch { /* storage off: just this page */ }
    $("home").querySelector("h1").focus(); // showSection made it focusable
  });

  // p.js calls portal.signedIn after any sign-in (and at load with a live cookie):
  // after it, fetch the list and decide on the offer.
  const signedIn = portal.signedIn;
  portal.signedIn = async (me) => {
    const byCode = !$("code").hidden; // the code screen was showing: a code sign-in
    await stopAutofill();
    say(status, "");
    say(error, "");
    await signedIn(me);
    if (!(await load())) return;
    let dismissed = false;
    try { dismissed = localStorage.getItem(LATER) === "1"; } catch { /* storage off */ }
    // Only right after a code sign-in: adding needs a recent sign-in (the server's rule).
    offer.hidden = !byCode || dismissed;
  };
}
