// The portal's error answers in the page's language: the server's messages are English,
// so in another language the page says each code in its own words (api.js errorText).

import { errorText } from "./api.js";
import { t } from "./i18n.js";

const WORDS = {
  unauthenticated: (error) => {
    const why = error.details && error.details.reason;
    if (why === "idle") return t("You were signed out after a while without activity. Please sign in again.");
    if (why === "revoked") return t("Your portal access is off. Please ask your practice.");
    return t("You are signed out. Please sign in again.");
  },
  sign_in_failed: () => t("That code does not match or has expired. Please ask for a new one."),
  rate_limited: () => t("Too many attempts. Please wait a few minutes and try again."),
  invalid: () => t("Please type your email address or mobile number."),
  not_found: () => t("This appointment is no longer in your list."),
  passkey_expired: () => t("The passkey request expired. Please try again."),
  passkey_unknown: () => t("This passkey is not on file. Please sign in with a code."),
  passkey_invalid: () => t("This passkey could not be checked. Please try again."),
  passkey_revoked: () => t("Your portal access is off. Please ask your practice."),
  passkey_reauth: () => t("To add a passkey, sign out and sign in again first."),
  passkey_origin: () => t("This passkey is for another site. Please sign in with a code."),
};

export function portalError(data, fallback) {
  return errorText(data, fallback, WORDS);
}
