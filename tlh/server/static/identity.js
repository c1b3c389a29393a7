// The identity step, when the practice asks: date of birth, or a one-time code sent by
// email or text. Resolves once the server accepts; plain words for every failure.

import { $, call, errorText } from "./api.js";
import { t } from "./i18n.js";

export function identityStep(kind, ui) {
  return new Promise((resolve) => {
    const error = (text) => {
      $("identity-error").textContent = text;
      $("identity-error").hidden = !text;
    };
    $("identity-dob").hidden = kind !== "dob";
    $("identity-code").hidden = kind !== "code";
    ui.show();
    for (const button of document.querySelectorAll(".send-code")) {
      button.addEventListener("click", async () => {
        error("");
        const { status, data } = await call("POST", "/api/v1/link/identity/code", { channel: button.dataset.channel });
        if (status === 204 || status === 200) {
          $("code-sent").textContent = t("We sent you a 6-digit code. It works for 10 minutes.");
          $("code-input").focus();
        } else error(errorText(data, t("We could not send a code. Please try again.")));
      });
    }
    $("identity-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      error("");
      const body = kind === "dob" ? { dob: $("dob-input").value } : { code: $("code-input").value.trim() };
      if (!(body.dob || body.code)) { error(kind === "dob" ? t("Please enter your date of birth.") : t("Please enter the code.")); return; }
      const { status, data } = await call("POST", "/api/v1/link/identity", body);
      if (status === 204 || status === 200) resolve();
      else if (status === 403) error(t("That does not match our records. Please check and try again."));
      else if (status === 429) ui.problem(t("Too many tries. Please contact your practice."));
      else if (status === 0) error(t("We could not reach the practice. Check your connection and try again."));
      else error(errorText(data, t("Something went wrong. Please try again.")));
    });
  });
}
