// Times on the portal: in the browser's zone, with the practice's named when it differs.

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
  const at = new Date(iso);
  const day = at.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
  return `${day} at ${timeOf(iso)}`;
}

export function timeOf(iso, timeZone) {
  const options = { hour: "numeric", minute: "2-digit" };
  if (timeZone) options.timeZone = timeZone;
  return new Date(iso).toLocaleTimeString([], options);
}

export function zoneNote(practiceZone) {
  return `Times are shown in your time zone (${ownZone()}); your practice is in ${practiceZone}.`;
}

export function minutesUntil(iso, now = Date.now()) {
  return Math.ceil((new Date(iso).getTime() - now) / 60000);
}
