// The device check: camera preview, microphone level meter, choice of camera, microphone
// and speaker, and plain help when permission is denied or nothing is found. Used by the
// client's page (/j) and the clinician's call page (/c); the choice is kept in this
// browser's localStorage (device ids only, nothing about the person).

import { $ } from "./api.js";
import { t } from "./i18n.js";
import { connectionTest } from "./conntest.js";

const SAVED = "tlh-devices";
const GONE = ["OverconstrainedError", "NotFoundError"];  // no such device (any more)

export function savedChoice() {
  try {
    return JSON.parse(localStorage.getItem(SAVED) || "{}");
  } catch {
    return {};
  }
}

// Remember one choice ("camera", "microphone", "speaker") for the next visit.
export function saveChoice(key, id) {
  const choice = savedChoice();
  choice[key] = id;
  try { localStorage.setItem(SAVED, JSON.stringify(choice)); } catch { /* storage off: not kept */ }
}

// A getUserMedia failure as "denied" (blocked by the person or the browser) or "missing".
export function verdict(error) {
  if (!error) return "ok";
  if (error.name === "NotAllowedError" || error.name === "SecurityError") return "denied";
  return "missing";
}

// Camera and microphone, falling back to whichever one exists.
// Answers {stream, camera, microphone} with "ok" | "denied" | "missing" per device.
export async function openMedia(choice = savedChoice()) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: new MediaStream(), camera: "missing", microphone: "missing" };
  }
  const get = (constraints) => navigator.mediaDevices.getUserMedia(constraints).then(
    (stream) => ({ stream, error: null }), (error) => ({ stream: null, error }));
  // The chosen device exactly (Chromium passes over an "ideal" device id); a remembered
  // one that is gone (unplugged) is no reason to fail: then any will do.
  const ask = async (want) => {
    const exact = {};
    const any = {};
    for (const [kind, id] of Object.entries(want)) {
      exact[kind] = id ? { deviceId: { exact: id } } : true;
      any[kind] = true;
    }
    const first = await get(exact);
    if (first.stream || !GONE.includes(first.error.name) || !Object.values(want).some(Boolean)) return first;
    return get(any);
  };
  const both = await ask({ video: choice.camera || "", audio: choice.microphone || "" });
  if (both.stream) return { stream: both.stream, camera: "ok", microphone: "ok" };
  const cam = await ask({ video: choice.camera || "" });
  const mic = await ask({ audio: choice.microphone || "" });
  const stream = new MediaStream([
    ...(cam.stream ? cam.stream.getTracks() : []), ...(mic.stream ? mic.stream.getTracks() : []),
  ]);
  return { stream, camera: verdict(cam.error), microphone: verdict(mic.error) };
}

// A level meter fed by a WebAudio AnalyserNode; returns a stop function.
export function levelMeter(stream, meter) {
  const track = stream.getAudioTracks()[0];
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!track || !Context) return () => {};
  const context = new Context();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  let frame = 0;
  const tick = () => {
    analyser.getByteTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += ((s - 128) / 128) ** 2;
    meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    frame = requestAnimationFrame(tick);
  };
  context.resume().catch(() => {});
  tick();
  return () => { cancelAnimationFrame(frame); context.close().catch(() => {}); };
}

// A picker's options: the devices of one kind, the one in use selected.
export function fill(select, devices, kind, current) {
  select.replaceChildren();
  let n = 0;
  for (const device of devices.filter((d) => d.kind === kind)) {
    n += 1;
    const option = document.createElement("option");
    option.value = device.deviceId;
    option.textContent = device.label || (kind === "videoinput" ? t("Camera {n}", { n }) : kind === "audioinput" ? t("Microphone {n}", { n }) : t("Speaker {n}", { n }));
    option.selected = device.deviceId === current;
    select.append(option);
  }
  select.disabled = n === 0;
  return n;
}

// What to do, in words, naming the device(s) at fault.
// Whole sentences per device, so each language words them its own way.
const HELP = {
  denied: {
    camera: () => t("Your browser is blocking the camera. Tap the lock or camera icon next to the address, choose Allow, then press Try again."),
    microphone: () => t("Your browser is blocking the microphone. Tap the lock or camera icon next to the address, choose Allow, then press Try again."),
    both: () => t("Your browser is blocking the camera and microphone. Tap the lock or camera icon next to the address, choose Allow, then press Try again."),
  },
  missing: {
    camera: () => t("We could not find a camera. Plug one in or close other apps that use it, then press Try again."),
    microphone: () => t("We could not find a microphone. Plug one in or close other apps that use it, then press Try again."),
    both: () => t("We could not find a camera or microphone. Plug one in or close other apps that use it, then press Try again."),
  },
};

function help(camera, microphone) {
  const problem = [camera, microphone].includes("denied") ? "denied" : "missing";
  const which = camera === problem && microphone === problem ? "both" : camera === problem ? "camera" : "microphone";
  return HELP[problem][which]();
}

// Every camera, microphone and speaker the browser lists (none where it cannot tell).
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
  return navigator.mediaDevices.enumerateDevices();
}

export async function setSpeaker(element, id) {
  if (id && typeof element.setSinkId === "function") {
    try { await element.setSinkId(id); } catch { /* keep the default output */ }
  }
}

// Runs the step; resolves with {stream, result, choice} when the person presses Continue.
// `ui.show` shows the step; the connection test is wired unless `ui.connectionTest` is
// false (the clinician's page has none: it tests a client link's path).
export function deviceStep(ui) {
  return new Promise((resolve) => {
    let current = null;
    let stopMeter = () => {};
    const choice = savedChoice();
    const preview = $("device-preview");

    const describe = () => {
      const problems = [current.camera, current.microphone].filter((v) => v !== "ok");
      $("device-help").textContent = problems.length ? help(current.camera, current.microphone) : "";
      $("device-help").hidden = !problems.length;
      const camera = current.camera === "ok" ? t("Camera: working.") : t("Camera: not available.");
      const microphone = current.microphone === "ok"
        ? t("Microphone: working — speak to see the bar move.") : t("Microphone: not available.");
      $("device-status").textContent = `${camera} ${microphone}`;
      $("device-continue").textContent = problems.length ? t("Continue anyway") : t("Continue");
    };
    const start = async () => {
      stopMeter();
      if (current) for (const track of current.stream.getTracks()) track.stop();
      current = await openMedia(choice);
      preview.srcObject = current.stream;
      stopMeter = levelMeter(current.stream, $("mic-level"));
      describe();
      const devices = await listDevices();
      const cam = current.stream.getVideoTracks()[0];
      const mic = current.stream.getAudioTracks()[0];
      fill($("camera-select"), devices, "videoinput", cam && cam.getSettings().deviceId);
      fill($("mic-select"), devices, "audioinput", mic && mic.getSettings().deviceId);
      const speakers = fill($("speaker-select"), devices, "audiooutput", choice.speaker);
      // setSinkId is missing on some browsers (Safari, Firefox on phones): hide the choice.
      $("speaker-choice").hidden = !speakers || typeof preview.setSinkId !== "function";
    };
    const pick = (key, select) => select.addEventListener("change", () => {
      choice[key] = select.value;
      saveChoice(key, select.value);
      if (key !== "speaker") begin();
    });
    // The camera may still be starting when "Test my connection" is pressed: wait for it
    // rather than tell someone who has allowed it to allow it.
    let starting = null;
    // One start at a time: two quick choices must not leave a camera open behind them.
    const begin = () => (starting = (starting || Promise.resolve()).catch(() => {}).then(start));
    pick("camera", $("camera-select"));
    pick("microphone", $("mic-select"));
    pick("speaker", $("speaker-select"));
    if (ui.connectionTest !== false) {
      connectionTest(async () => {
        if (starting) await starting.catch(() => {});
        return current && current.stream;
      }, ui.iceServers);
    }
    $("device-retry").addEventListener("click", begin);
    $("device-continue").addEventListener("click", async () => {
      // Pressed while the camera is still starting: wait for it (there is no stream yet).
      if (starting) await starting.catch(() => {});
      stopMeter();
      const speaker = $("speaker-choice").hidden ? "skipped" : "ok";
      resolve({ stream: current.stream, result: { camera: current.camera, microphone: current.microphone, speaker }, choice });
    }, { once: true });
    ui.show();
    begin();
  });
}
