// Sign-in with a code: the address → POST /api/v1/portal/code (the same answer for any
// address) → the code → POST /api/v1/portal/sign-in, which sets the session cookie.

import { $, call } from "./api.js";
import { t } from "./i18n.js";
import { portalError } from "./p_errors.js";

function say(id, text) {
  $(id).textContent = text;
  $(id).hidden = !text;
}

// Wire the two forms once; `portal.show(id)` switches sections, `portal.signedIn(me)`
// takes over after a successful sign-in.
export function setUpSignIn(portal) {
  let address = "";
  $("address-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("address-error", "");
    address = $("address").value.trim();
    if (!address) return say("address-error", t("Please type your email address or mobile number."));
    const { status, data } = await call("POST", "/api/v1/portal/code", { address });
    if (status !== 202) return say("address-error", portalError(data, t("We could not send a code. Please try again.")));
    // The server's one answer for any address, said in the page's language.
    $("code-sent").textContent = t("If this address is on file with your practice, a 6-digit code is on its way. It works for {minutes} minutes.", { minutes: data.valid_min });
    $("code-input").value = "";
    say("code-error", "");
    portal.show("code");
  });
  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("code-error", "");
    const code = $("code-input").value.trim();
    if (!/^\d{6}$/.test(code)) return say("code-error", t("Please enter the 6 digits of your code."));
    const { status, data } = await call("POST", "/api/v1/portal/sign-in", { address, code });
    if (status === 200) return portal.signedIn(data);
    say("code-error", portalError(data, t("We could not sign you in. Please try again.")));
  });
  $("code-back").addEventListener("click", () => portal.show("signin"));
}

export function signInNote(text) {
  say("signin-note", text);
}
