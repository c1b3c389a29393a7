// The consent step: the form (markdown shown as text nodes only), a typed name and an
// explicit "I agree" (a drawn signature is optional: someone using only a keyboard or a
// screen reader must be able to sign), or "I do not agree". Resolves with "accepted" or
// "declined".

import { $, call, errorText } from "./api.js";
import { t } from "./i18n.js";

export function renderMarkdown(target, markdown) {
  target.replaceChildren();
  let list = null;
  let paragraph = [];
  const clean = (text) => text.replace(/\*\*|__/g, "");
  const flush = () => {
    if (paragraph.length) {
      const p = document.createElement("p");
      p.textContent = paragraph.join(" ");
      target.append(p);
      paragraph = [];
    }
  };
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw.trim();
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const item = /^[-*]\s+(.*)$/.exec(line);
    if (!item) list = null;
    if (!line) { flush(); continue; }
    if (heading) {
      flush();
      const h = document.createElement(heading[1].length === 1 ? "h2" : "h3");
      h.textContent = clean(heading[2]);
      target.append(h);
    } else if (item) {
      flush();
      if (!list) { list = document.createElement("ul"); target.append(list); }
      const li = document.createElement("li");
      li.textContent = clean(item[1]);
      list.append(li);
    } else {
      paragraph.push(clean(line));
    }
  }
  flush();
}

// Pointer events: mouse, pen and touch alike.
export function signaturePad(canvas) {
  const context = canvas.getContext("2d");
  let drawing = false;
  let drawn = false;
  const resize = () => {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    canvas.width = Math.round(canvas.clientWidth * ratio);
    canvas.height = Math.round(canvas.clientHeight * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111827";
    drawn = false;
  };
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    const [x, y] = point(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x + 0.1, y + 0.1);
    context.stroke();
    drawn = true;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = point(event);
    context.lineTo(x, y);
    context.stroke();
  });
  for (const type of ["pointerup", "pointercancel"]) {
    canvas.addEventListener(type, () => { drawing = false; });
  }
  resize();
  return {
    clear: resize,
    get drawn() { return drawn; },
    png: () => canvas.toDataURL("image/png"),
  };
}

const EXPIRED = () => t("Your link has expired. Please open it again from your message.");

// Runs the step. `ui.show()` reveals the section; `ui.problem(text)` ends the page.
export function consentStep(ui) {
  return new Promise((resolve) => {
    let form = null;
    let pad = null;
    const formError = (text) => {
      $("form-error").textContent = text;
      $("form-error").hidden = !text;
    };
    const load = async () => {
      const { status, data } = await call("GET", "/api/v1/link/consent");
      if (status !== 200) {
        ui.problem(status === 401 ? EXPIRED() : errorText(data, t("We could not load the form.")));
        return;
      }
      form = data;
      if (["accepted", "valid"].includes(data.state)) { resolve("accepted"); return; }
      if (data.state === "declined") { resolve("declined"); return; }
      renderMarkdown($("form-text"), data.form_markdown);
      ui.show();
    };
    // The pad takes its size when it is first shown (a closed <details> has no width).
    $("draw").addEventListener("toggle", () => { if ($("draw").open && !pad) pad = signaturePad($("pad")); });
    const submit = async (decision) => {
      formError("");
      const body = { decision, form_hash: form.form_hash };
      if (decision === "accepted") {
        const name = $("signed-name").value.trim();
        if (name.length < 2) { formError(t("Please type your full name.")); $("signed-name").focus(); return; }
        if (!$("agree").checked) { formError(t("Please tick \u201cI agree\u201d to sign, or choose \u201cI do not agree\u201d.")); $("agree").focus(); return; }
        body.signed_name = name;
        body.agreed = true;
        if (pad && pad.drawn) body.signature_png = pad.png();
      }
      const buttons = document.querySelectorAll("#consent-form button");
      for (const button of buttons) button.disabled = true;
      const { status, data } = await call("POST", "/api/v1/link/consent", body);
      for (const button of buttons) button.disabled = false;
      const code = data && data.error ? data.error.code : "";
      if (status === 200) resolve(decision);
      else if (code === "form_changed") {
        await load();
        formError(t("The form was updated while you were reading. Please read the updated form."));
      } else if (status === 409) resolve(decision);
      else if (status === 413) { if (pad) pad.clear(); formError(t("The signature is too large. Please sign again, a little smaller.")); }
      else if (status === 401) ui.problem(EXPIRED());
      else if (status === 0) formError(t("We could not reach the practice. Check your connection and try again."));
      else formError(errorText(data, t("Something went wrong. Please try again.")));
    };
    $("consent-form").addEventListener("submit", (event) => { event.preventDefault(); submit("accepted"); });
    $("decline").addEventListener("click", () => submit("declined"));
    $("clear").addEventListener("click", () => pad && pad.clear());
    load();
  });
}
