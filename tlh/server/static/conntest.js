// "Test my connection" on the device check: a WebRTC call with the camera and microphone
// to the server's echo peer, ~8 s of getStats() (round trip, jitter, loss, bitrate), then
// the server's verdict and advice in plain words. The server also shows it to the clinician.

import { $, call, deviceId, errorText } from "./api.js";
import { t } from "./i18n.js";

const GATHER_MS = 3000;
const CONNECT_MS = 10000;
const WARMUP_MS = 1500;  // the first frames and the echo's encoder are still starting
const MEASURE_MS = 8000;
const EVERY_MS = 1000;
const NOTHING = { rtt_ms: null, jitter_ms: null, loss_pct: null, bitrate_kbps: null };

const VERDICTS = { good: () => t("good"), fair: () => t("fair"), poor: () => t("poor") };

// The server's advice is made of these sentences (tlh.domain.conntest; a test keeps the
// two lists the same): each is said in the page's language.
const ADVICE = () => [
  ["Your connection looks good for a video call.", t("Your connection looks good for a video call.")],
  ["Your connection should work, but the call may not always be smooth.", t("Your connection should work, but the call may not always be smooth.")],
  ["Your connection may not be good enough for a video call right now.", t("Your connection may not be good enough for a video call right now.")],
  ["There is a delay on your line, so you may talk over each other.", t("There is a delay on your line, so you may talk over each other.")],
  ["Your connection is uneven, so sound may break up.", t("Your connection is uneven, so sound may break up.")],
  ["Some of the sound and picture gets lost on the way.", t("Some of the sound and picture gets lost on the way.")],
  ["Your connection is too slow for clear video.", t("Your connection is too slow for clear video.")],
  ["Move closer to your Wi-Fi router, or use a cable.", t("Move closer to your Wi-Fi router, or use a cable.")],
  ["Pause downloads, streaming and video on other devices on your network.", t("Pause downloads, streaming and video on other devices on your network.")],
  ["If it stays poor, try another network (such as mobile data) or turn your camera off.", t("If it stays poor, try another network (such as mobile data) or turn your camera off.")],
  ["We could not reach the practice's test server, so a video call may not work on this network. Try another network (such as mobile data), or call your practice.", t("We could not reach the practice's test server, so a video call may not work on this network. Try another network (such as mobile data), or call your practice.")],
];

function adviceText(advice) {
  let out = advice || "";
  for (const [english, said] of ADVICE()) out = out.replace(english, said);
  return out;
}

// An error whose message is meant for the person (the server's, or ours).
const shown = (text) => Object.assign(new Error(text), { shown: true });
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves when ready() holds after one of the peer's `event`s, or after `ms` at most.
function until(pc, event, ready, ms) {
  return new Promise((resolve) => {
    const check = () => {
      if (!ready()) return;
      pc.removeEventListener(event, check);
      resolve();
    };
    pc.addEventListener(event, check);
    setTimeout(resolve, ms);
    check();
  });
}

// Totals of the inbound streams, and the selected candidate pair's round trip.
async function sample(pc) {
  const report = await pc.getStats();
  const s = { at: performance.now(), bytes: 0, lost: 0, received: 0, jitter: null, rtt: null };
  let pair = null;
  report.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = r.selectedCandidatePairId; });
  report.forEach((r) => {
    if (r.type === "inbound-rtp") {
      s.bytes += r.bytesReceived || 0;
      s.lost += Math.max(0, r.packetsLost || 0);
      s.received += r.packetsReceived || 0;
      // Audio's jitter speaks for the call; video's only when there is no audio.
      if (typeof r.jitter === "number" && (r.kind === "audio" || s.jitter === null)) s.jitter = r.jitter * 1000;
    } else if (r.type === "candidate-pair" && (r.id === pair || (!pair && r.nominated))
      && typeof r.currentRoundTripTime === "number") {
      s.rtt = r.currentRoundTripTime * 1000;
    }
  });
  return s;
}

const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
const round = (value, places = 1) => (value === null ? null : Number(value.toFixed(places)));

async function measure(pc) {
  await pause(WARMUP_MS);
  const first = await sample(pc);
  const rtts = [];
  const jitters = [];
  let last = first;
  for (let waited = 0; waited < MEASURE_MS; waited += EVERY_MS) {
    await pause(EVERY_MS);
    last = await sample(pc);
    if (last.rtt !== null) rtts.push(last.rtt);
    if (last.jitter !== null) jitters.push(last.jitter);
  }
  const packets = (last.lost + last.received) - (first.lost + first.received);
  const ms = last.at - first.at;
  return {
    rtt_ms: round(mean(rtts)),
    jitter_ms: round(mean(jitters)),
    loss_pct: packets > 0 ? round(Math.min(100, (100 * (last.lost - first.lost)) / packets), 2) : null,
    bitrate_kbps: packets > 0 && ms > 0 ? round(((last.bytes - first.bytes) * 8) / ms) : null,
  };
}

// The echo round trip; answers the figures (all null when no connection was made).
async function echoTest(stream, iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await until(pc, "icegatheringstatechange", () => pc.iceGatheringState === "complete", GATHER_MS);
    const { status, data } = await call("POST", "/api/v1/link/conntest/offer", { device_id: deviceId(), sdp: pc.localDescription.sdp });
    if (status !== 200) throw shown(errorText(data, t("The test could not start. Please try again.")));
    await pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
    const settled = () => ["connected", "failed"].includes(pc.connectionState);
    await until(pc, "connectionstatechange", settled, CONNECT_MS);
    return pc.connectionState === "connected" ? await measure(pc) : NOTHING;
  } finally {
    pc.close();
  }
}

function figuresText(test) {
  const parts = [];
  if (test.rtt_ms !== null) parts.push(t("delay {n} ms", { n: Math.round(test.rtt_ms) }));
  if (test.jitter_ms !== null) parts.push(t("jitter {n} ms", { n: Math.round(test.jitter_ms) }));
  if (test.loss_pct !== null) parts.push(t("loss {n} %", { n: test.loss_pct }));
  if (test.bitrate_kbps !== null) parts.push(t("speed {n} kbps", { n: Math.round(test.bitrate_kbps) }));
  return parts.join(" · ");
}

// Wires the button; stream() gives (or promises, while it is starting) the device
// check's current camera/microphone stream.
export function connectionTest(stream, iceServers = []) {
  const button = $("conntest-start");
  const verdict = $("conntest-verdict");
  const say = (text, kind = "") => {
    verdict.textContent = text;
    verdict.dataset.verdict = kind;
    $("conntest-figures").textContent = "";
    $("conntest-advice").textContent = "";
  };
  button.addEventListener("click", async () => {
    const current = await stream();
    if (!current || !current.getTracks().length) {
      say(t("Allow your camera or microphone first, then test again."));
      return;
    }
    button.disabled = true;
    say(t("Testing your connection… this takes about 12 seconds."));
    try {
      const figures = await echoTest(current, iceServers);
      const { status, data } = await call("POST", "/api/v1/link/conntest/result", { device_id: deviceId(), ...figures });
      if (status !== 200) throw shown(errorText(data, t("We could not check the result. Please try again.")));
      say(t("Your connection: {verdict}", { verdict: VERDICTS[data.test.verdict] ? VERDICTS[data.test.verdict]() : data.test.verdict }), data.test.verdict);
      $("conntest-figures").textContent = figuresText(data.test);
      $("conntest-advice").textContent = adviceText(data.advice);
    } catch (error) {
      say(error.shown ? error.message : t("The test could not run in this browser. Please try again."), "poor");
    } finally {
      button.disabled = false;
      button.textContent = t("Test again");
    }
  });
}
