// Times on the portal: in the browser's zone, with the practice's named when it differs,
// written in the page's language (locale(): "martes, 3 de marzo a las 9:50").

import { locale, t } from "./i18n.js";

const ownZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export function differs(practiceZone) {
  try {
    const at = new Date();
    const fmt = (timeZone) => at.toLocaleString("en-US", { timeZone, hour: "numeric", minute: "numeric", day: "numeric" });
    return practiceZone && fmt(practiceZone) !== fmt(ownZone());
  } catch {
    return false;
  }
}

export function dayAndTime(iso) {
  const day = new Date(iso).toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long" });
  return t("{day} at {time}", { day, time: timeOf(iso) });
}

export function timeOf(iso, timeZone) {
  const options = { hour: "numeric", minute: "2-digit" };
  if (timeZone) options.timeZone = timeZone;
  return new Date(iso).toLocaleTimeString(locale(), options);
}

export function zoneNote(practiceZone) {
  return t("Times are shown in your time zone ({own}); your practice is in {practice}.", { own: ownZone(), practice: practiceZone });
}

export function minutesUntil(iso, now = Date.now()) {
  return Math.ceil((new Date(iso).getTime() - now) / 60000);
}
