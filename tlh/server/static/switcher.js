// Camera and microphone pickers beside a call (the clinician's page): a choice takes
// effect at once on every connection (Call.useDevice: replaceTrack, the call carries on)
// and is remembered in this browser for the next visit.

import { fill, listDevices, saveChoice, verdict } from "./device.js";

const KINDS = [
  { key: "camera", kind: "videoinput", track: "video", noun: "camera" },
  { key: "microphone", kind: "audioinput", track: "audio", noun: "microphone" },
];

const WHY = {
  denied: "your browser blocks it. Allow it with the lock or camera icon next to the address.",
  missing: "it is gone or another app is using it. Plug it in or close the other app.",
};

// `selects` maps "camera" and "microphone" to their <select>; `note` says what happened.
// Answers a function that lists the devices again (the pickers follow the call's tracks).
export function devicePickers(selects, note, call) {
  const refresh = async () => {
    const devices = await listDevices();
    for (const { key, kind, track } of KINDS) {
      const used = call.stream.getTracks().find((t) => t.kind === track);
      fill(selects[key], devices, kind, used && used.getSettings().deviceId);
    }
  };
  for (const { key, track, noun } of KINDS) {
    selects[key].addEventListener("change", async () => {
      const id = selects[key].value;
      try {
        const used = await call.useDevice(track, id);
        saveChoice(key, id);
        note.textContent = `Now using ${used.label || `the chosen ${noun}`}.`;
      } catch (error) {
        note.textContent = `That ${noun} could not be used: ${WHY[verdict(error)]} The call goes on with the one you had.`;
      }
      await refresh();
    });
  }
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", refresh);
  }
  return refresh;
}
