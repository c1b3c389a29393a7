// The client portal page (/p): sign in with a code, see upcoming appointments, join one
// (through /j, so consent, device check and waiting room are the link's own), and the
// "starts in N minutes" notice. Other modules plug in through p_hooks.js.

import { $, call, showSection } from "./api.js";
import { preferred, setLanguage, t } from "./i18n.js";
import { hooks } from "./p_hooks.js";
import { renderCard, updateCard } from "./p_cards.js";
import { portalError } from "./p_errors.js";
import { checkNotice } from "./p_notice.js";
import { setUpSignIn, signInNote } from "./p_signin.js";
import { differs, zoneNote } from "./p_time.js";

const SECTIONS = ["loading", "signin", "code", "home"];
const TICK_MS = 5_000;      // Join buttons and the notice follow the clock
const REFRESH_MS = 60_000;  // the list itself is fetched again each minute
// An emailed link sent here first (policy portal_required): /p#join=APPOINTMENT_ID.
const JOIN_KEY = "tlh-portal-join";

let appts = [];
let timers = [];

const portal = {
  me: null,
  show(id) {
    showSection(SECTIONS, id);
  },
  async signedIn(me) {
    portal.me = me;
    // The person's own language once the server knows them, else the browser's (not
    // the language of whoever signed in on this page before).
    await setLanguage(me.language || preferred());
    $("practice").textContent = me.practice_name;
    $("who").textContent = who(me);
    $("zone-note").textContent = zoneNote(me.timezone);
    $("zone-note").hidden = !differs(me.timezone);
    portal.show("home");
    await portal.refresh();
    startTimers();
    const pending = sessionStorage.getItem(JOIN_KEY);
    if (pending) {
      sessionStorage.removeItem(JOIN_KEY);
      await portal.join({ id: pending });
    }
  },
  async refresh() {
    const { status, data } = await call("GET", "/api/v1/portal/appointments");
    if (status === 401) return signedOut(portalError(data, t("You are signed out.")));
    if (status !== 200) {
      $("home-error").textContent = t("We could not load your appointments. We will try again shortly.");
      $("home-error").hidden = false;
      return;
    }
    $("home-error").hidden = true;
    appts = data.items;
    const list = $("appointments");
    list.replaceChildren(...appts.map((a) => renderCard(a, portal)));
    $("none").hidden = appts.length > 0;
    tick();
  },
  async join(appt) {
    const { status, data } = await call("POST", "/api/v1/portal/join", { appointment_id: appt.id });
    if (status === 201) {
      // The token goes in the fragment: /j reads it and clears the address bar.
      location.assign(`/j#${data.token}`);
      return;
    }
    if (status === 401) return signedOut(portalError(data, t("You are signed out.")));
    $("home-error").textContent = portalError(data, t("We could not join this session. Please try again."));
    $("home-error").hidden = false;
    await portal.refresh();
  },
};

// "Signed in as Ana, for Ben." (a caregiver: "Signed in for Ben, Cleo.")
function who(me) {
  const self = me.clients.find((c) => c.relation === "self");
  const others = me.clients.filter((c) => c.relation !== "self").map((c) => c.name).join(", ");
  if (self && others) return t("Signed in as {name}, for {others}.", { name: self.name, others });
  if (self) return t("Signed in as {name}.", { name: self.name });
  return others ? t("Signed in for {others}.", { others }) : t("Signed in.");
}

function tick() {
  const now = Date.now();
  for (const card of $("appointments").children) {
    const appt = appts.find((a) => a.id === card.dataset.id);
    if (appt) updateCard(card, appt, now);
  }
  if (portal.me) checkNotice(appts, portal.me.notice_min, portal.join, now);
}

function startTimers() {
  stopTimers();
  timers = [setInterval(tick, TICK_MS), setInterval(portal.refresh, REFRESH_MS)];
}

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

function signedOut(note) {
  stopTimers();
  portal.me = null;
  appts = [];
  $("notice").hidden = true;
  signInNote(note || "");
  portal.show("signin");
}

async function signOut(everywhere) {
  const { status, data } = await call("POST", "/api/v1/portal/sign-out", { everywhere });
  if (status === 204 || status === 401) {
    return signedOut(everywhere ? t("You are signed out on every device.") : t("You are signed out."));
  }
  $("home-error").textContent = portalError(data, t("We could not sign you out. Please try again."));
  $("home-error").hidden = false;
}

// Keep an appointment to join after sign-in, and clear it from the address bar.
function pendingJoin() {
  const found = /^#join=([A-Za-z0-9_-]{1,100})$/.exec(location.hash);
  if (!found) return false;
  sessionStorage.setItem(JOIN_KEY, found[1]);
  history.replaceState(null, "", location.pathname);
  return true;
}

async function start() {
  const joining = pendingJoin();
  // The browser's language until the server says the person's (nothing shown before).
  await setLanguage(preferred());
  setUpSignIn(portal);
  for (const add of hooks.signInOptions) add($("signin-extra"), portal);
  for (const add of hooks.homeParts) add($("home-extra"), portal);
  $("sign-out").addEventListener("click", () => signOut(false));
  $("sign-out-all").addEventListener("click", () => signOut(true));
  const { status, data } = await call("GET", "/api/v1/portal/me");
  if (status === 200) await portal.signedIn(data);
  else signedOut(joining ? t("Your practice asks you to sign in before you join your session.") : "");
}

// After every module script of the page ran (they may add hooks), before first paint.
document.addEventListener("DOMContentLoaded", start, { once: true });
