// Where other portal modules plug in, without changing p.js:
//  - signInOptions: functions (container, portal) that add another way to sign in
//    (e.g. a passkey button) to #signin-extra; call portal.signedIn() when done.
//  - cardActions: functions (appointment, slot, portal) that add buttons (confirm,
//    cancel, reschedule) to an appointment card's actions slot; call portal.refresh()
//    after a change.
//  - homeParts: functions (container, portal) that add a part (booking) to #home-extra.
// A module imports `hooks` from here, pushes its functions, and is loaded by p.html with
// its own <script type="module"> (module scripts all run before p.js reads the hooks at
// DOMContentLoaded).
export const hooks = { signInOptions: [], cardActions: [], homeParts: [] };
