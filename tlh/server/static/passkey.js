// Passkeys on the portal (/p): "Sign in with a passkey" on the sign-in screen (and in
// the address field's autofill where the browser offers passkeys there), and, once
// signed in, the offer to add one and the list of one's passkeys (passkey_manage.js).
// p.html loads this module; it plugs into p.js through p_hooks.js only.

import { $, call } from "./api.js";
import { t } from "./i18n.js";
import { portalError } from "./p_errors.js";
import { hooks } from "./p_hooks.js";
import { credentialJSON, requestOptions } from "./passkey_codec.js";
import { setUpManage } from "./passkey_manage.js";

// Passkeys need WebAuthn and a host name (never an IP address) in a secure context.
export const supported = () =>
  typeof window.PublicKeyCredential === "function" && !!navigator.credentials && window.isSecureContext &&
  !/^[\d.]+$|^\[/.test(location.hostname);

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.assign(node, attrs || {});
  if (text !== undefined) node.textContent = text;
  return node;
}

// What the browser's refusal means to the person.
export function browserError(error, fallback) {
  if (error && error.name === "NotAllowedError") return t("The passkey request was cancelled or timed out. Please try again.");
  if (error && error.name === "InvalidStateError") return t("This device already has a passkey for your portal.");
  if (error && error.name === "SecurityError") return t("Passkeys do not work at this address; sign in with a code.");
  return fallback;
}

let autofill = null; // the pending conditional (autofill) request, if any

// Ask the browser for a passkey (modal, or `conditional` from the address field's
// autofill) and trade it for the session cookie; the answer is { status, data }.
async function signInWith(mediation, signal) {
  const options = await call("POST", "/api/v1/portal/passkeys/sign-in-options");
  if (options.status !== 200) return options;
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options.data), mediation, signal });
  return call("POST", "/api/v1/portal/passkeys/sign-in", { credential: credentialJSON(credential) });
}

async function stopAutofill() {
  if (!autofill) return;
  const { controller, done } = autofill;
  autofill = null;
  controller.abort();
  await done; // a new request may start only once the browser let go of this one
}

async function startAutofill(portal, say) {
  const can = window.PublicKeyCredential.isConditionalMediationAvailable;
  if (autofill || typeof can !== "function" || !(await can.call(window.PublicKeyCredential))) return;
  $("address").setAttribute("autocomplete", "username webauthn");
  const controller = new AbortController();
  const done = signInWith("conditional", controller.signal).then(
    (answer) => {
      if (controller.signal.aborted) return;
      autofill = null;
      if (answer.status === 200) return portal.signedIn(answer.data);
      say(portalError(answer.data, t("We could not sign you in with that passkey.")));
    },
    () => { if (autofill && autofill.controller === controller) autofill = null; },
  );
  autofill = { controller, done };
}

function addSignIn(container, portal) {
  if (!supported()) return;
  const error = el("p", { id: "passkey-signin-error", className: "error", hidden: true });
  error.setAttribute("role", "alert");
  const say = (text) => { error.textContent = text; error.hidden = !text; };
  const button = el("button", { type: "button", id: "passkey-sign-in" });
  const lead = el("p", { className: "muted" });
  // Written now and again when the page's language changes (a sign-in, then a sign-out).
  const words = () => {
    button.textContent = t("Sign in with a passkey");
    lead.textContent = t("Added a passkey on this device? One tap:");
  };
  words();
  document.addEventListener("tlh-language", words);
  const box = el("div", { className: "passkey-signin" });
  box.append(lead, button, error);
  container.append(box);
  button.addEventListener("click", async () => {
    say("");
    button.disabled = true;
    try {
      await stopAutofill();
      const answer = await signInWith("optional");
      if (answer.status === 200) return await portal.signedIn(answer.data);
      say(portalError(answer.data, t("We could not sign you in with a passkey. Please sign in with a code.")));
    } catch (err) {
      say(browserError(err, t("We could not sign you in with a passkey. Please sign in with a code.")));
    } finally {
      button.disabled = false;
    }
  });
  // The sign-in screen is shown: passkeys may also come from the address field's autofill.
  new MutationObserver(() => {
    if (!$("signin").hidden) startAutofill(portal, say);
    else stopAutofill();
  }).observe($("signin"), { attributes: true, attributeFilter: ["hidden"] });
}

hooks.signInOptions.push(addSignIn);
hooks.homeParts.push((container, portal) => {
  if (supported()) setUpManage(container, portal, { el, browserError, stopAutofill });
});
