// Sign-in with a code: the address → POST /api/v1/portal/code (the same answer for any
// address) → the code → POST /api/v1/portal/sign-in, which sets the session cookie.

import { $, call, errorText } from "./api.js";

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
    if (!address) return say("address-error", "Please type your email address or mobile number.");
    const { status, data } = await call("POST", "/api/v1/portal/code", { address });
    if (status !== 202) return say("address-error", errorText(data, "We could not send a code. Please try again."));
    $("code-sent").textContent = data.message + ` It works for ${data.valid_min} minutes.`;
    $("code-input").value = "";
    say("code-error", "");
    portal.show("code");
  });
  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("code-error", "");
    const code = $("code-input").value.trim();
    if (!/^\d{6}$/.test(code)) return say("code-error", "Please enter the 6 digits of your code.");
    const { status, data } = await call("POST", "/api/v1/portal/sign-in", { address, code });
    if (status === 200) return portal.signedIn(data);
    say("code-error", errorText(data, "We could not sign you in. Please try again."));
  });
  $("code-back").addEventListener("click", () => portal.show("signin"));
}

export function signInNote(text) {
  say("signin-note", text);
}
