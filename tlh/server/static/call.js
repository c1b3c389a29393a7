// The call: a WebRTC mesh with every other peer of the session, used by both pages.
// Signalling rides the page's websocket ({type: "signal", to, data}); each pair uses the
// "perfect negotiation" pattern so glare, reloads and ICE restarts settle by themselves.
// The newcomer (the side told "admitted") offers and is impolite; the others answer.

import { duration } from "./api.js";
import { buildUI, el, grade, movable } from "./call_ui.js";
import { t } from "./i18n.js";

const GRADES = { good: () => t("good"), fair: () => t("fair"), poor: () => t("poor") };
import { setSpeaker } from "./device.js";

export class Call {
  constructor({ root, stream = null, send, iceServers = [], speaker = "", onMedia = () => {}, onLeave = () => {} }) {
    this.stream = stream || new MediaStream();
    this.camera = this.stream.getVideoTracks()[0] || null;
    this.send = send;
    this.iceServers = iceServers;
    this.speaker = speaker;
    this.onMedia = onMedia;
    this.peers = new Map();
    this.me = null;
    this.sessionId = null;
    this.startedAt = null;
    this.screen = null;
    this.ui = buildUI(root);
    this.ui.selfVideo.srcObject = this.stream;
    movable(this.ui.self);
    this.wire(onLeave);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.statsTimer = setInterval(() => this.measure(), 2000);
  }

  wire(onLeave) {
    const { ui } = this;
    const toggle = (button, on, onText, offText) => { button.textContent = on ? onText : offText; };
    ui.mute.addEventListener("click", () => {
      const tracks = this.stream.getAudioTracks();
      const muted = tracks.some((track) => track.enabled);
      for (const track of tracks) track.enabled = !muted;
      toggle(ui.mute, muted, t("Unmute"), t("Mute"));
      this.say(muted ? t("Microphone off") : t("Microphone on"));
    });
    ui.camera.addEventListener("click", () => {
      if (!this.camera) return;
      this.camera.enabled = !this.camera.enabled;
      toggle(ui.camera, !this.camera.enabled, t("Camera on"), t("Camera off"));
      this.say(this.camera.enabled ? t("Camera on") : t("Camera off"));
    });
    ui.share.addEventListener("click", () => (this.screen ? this.stopShare() : this.startShare()));
    ui.hide.addEventListener("click", () => {
      const hidden = ui.self.classList.toggle("hidden-self");
      toggle(ui.hide, hidden, t("Show me"), t("Hide me"));
    });
    ui.timerToggle.addEventListener("click", () => {
      const hidden = ui.timer.classList.toggle("hidden-timer");
      ui.timerToggle.textContent = hidden ? t("Show timer") : t("Hide timer");
    });
    ui.leave.addEventListener("click", () => onLeave());
    ui.sound.addEventListener("click", () => {
      for (const peer of this.peers.values()) {
        peer.video.muted = false;
        peer.video.play().catch(() => {});
      }
      ui.sound.hidden = true;
    });
  }

  say(text) { this.ui.status.textContent = text; }

  // The camera and microphone to send (taken again on admission: none while waiting).
  useStream(stream) {
    if (this.stream && this.stream !== stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = stream;
    this.camera = stream.getVideoTracks()[0] || null;
    this.ui.selfVideo.srcObject = stream;
  }

  // Whether the page holds live media connections in its call (its socket came back
  // after a blip or a restart of the server: the call carries on).
  holding() {
    return [...this.peers.values()].some((p) => live(p.pc));
  }

  // The server let us in: we are the newcomer, so we offer to everyone already there.
  // Let in again to the same call (our socket came back), the connections that still
  // carry media are kept: only the missing ones are made.
  admitted(frame) {
    const listed = new Set((frame.peers || []).map((p) => p.peer_id));
    // Switched to the server's relay: the direct links give way to the listed ones.
    const relayed = (frame.peers || []).some((p) => p.kind === "relay");
    const same = frame.session_id === this.sessionId && frame.peer_id === this.me;
    if (!same) this.closePeers();
    else {
      // Not listed yet (they come back after us): kept while their media flows.
      for (const [id, peer] of this.peers) if (!listed.has(id) && (relayed || !live(peer.pc))) this.dropPeer(id);
    }
    this.over = null;
    this.me = frame.peer_id;
    this.sessionId = frame.session_id;
    if (frame.ice_servers) this.iceServers = frame.ice_servers;
    if (!this.startedAt) this.startedAt = Date.now();
    for (const peer of frame.peers || []) {
      const held = this.peers.get(peer.peer_id);
      if (same && held && live(held.pc)) { this.back(held); continue; }
      this.dropPeer(peer.peer_id);
      this.makePeer(peer, false);
    }
    this.refresh();
  }

  // Someone arrived (or came back after a reload): drop any old link and wait for their
  // offer; back with its connections (``resumed``), the link that still works is kept.
  peerJoined(frame) {
    const held = this.peers.get(frame.peer_id);
    if (frame.resumed && held && live(held.pc)) {
      this.back(held);
      return;
    }
    this.dropPeer(frame.peer_id);
    this.makePeer(frame, true);
    this.refresh();
    this.say(t("{who} joined", { who: frame.label || t("Someone") }));
  }

  // Their connection to the server dropped: their tile stays, marked, for the grace.
  peerAway(frame) {
    const peer = this.peers.get(frame.peer_id);
    if (!peer) return;
    peer.tile.dataset.away = "true";
    peer.name.textContent = t("{who} — reconnecting…", { who: peer.label || t("Someone") });
    this.say(t("{who} is reconnecting", { who: peer.label || t("Someone") }));
  }

  back(peer) {
    if (peer.tile.dataset.away !== "true") return;
    delete peer.tile.dataset.away;
    peer.name.textContent = peer.label || (peer.kind === "staff" ? t("Clinician") : t("Guest"));
    this.say(t("{who} is back", { who: peer.label || t("Someone") }));
  }

  peerLeft(frame) {
    const peer = this.peers.get(frame.peer_id);
    this.dropPeer(frame.peer_id);
    this.refresh();
    if (peer) this.say(t("{who} left", { who: peer.label || t("Someone") }));
  }

  makePeer({ peer_id: id, label = "", kind = "" }, polite) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const video = el("video", { autoplay: true, playsInline: true });
    const name = el("span", { className: "label", textContent: label || (kind === "staff" ? t("Clinician") : t("Guest")) });
    const tile = el("div", { className: "tile" }, video, name);
    video.setAttribute("aria-label", t("Video of {who}", { who: name.textContent }));
    setSpeaker(video, this.speaker);
    // The server's "relay" peer only carries our upload (relay mode): nothing to show.
    if (kind !== "relay") this.ui.remotes.append(tile);
    const peer = { id, label, kind, pc, polite, video, tile, name, makingOffer: false, ignoreOffer: false, attached: false, queue: Promise.resolve(), blip: null };
    this.peers.set(id, peer);
    const signal = (data) => this.send({ type: "signal", to: id, data });
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        signal({ description: pc.localDescription.toJSON() });
      } catch (error) {
        console.warn("offer failed", error);
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => { if (candidate) signal({ candidate: candidate.toJSON() }); };
    pc.ontrack = ({ track, streams }) => {
      const incoming = streams[0] || new MediaStream([track]);
      // Audio and video arrive as two tracks of one stream: set it once, play once.
      if (video.srcObject === incoming) return;
      video.srcObject = incoming;
      video.play().catch((error) => { if (error.name === "NotAllowedError") this.needSound(video); });
    };
    pc.onconnectionstatechange = () => this.connectionChanged(peer);
    pc.oniceconnectionstatechange = () => {
      // A network blip: give ICE a few seconds to recover, then restart it.
      if (pc.iceConnectionState === "disconnected" && !peer.blip) {
        peer.blip = setTimeout(() => { peer.blip = null; if (pc.iceConnectionState !== "connected") pc.restartIce(); }, 3000);
      } else if (pc.iceConnectionState === "failed") pc.restartIce();
    };
    if (!polite) this.attach(peer);
    return peer;
  }

  attach(peer) {
    if (peer.attached) return;
    peer.attached = true;
    for (const track of this.stream.getTracks()) {
      const outgoing = track.kind === "video" && this.screen ? this.screen : track;
      peer.pc.addTrack(outgoing, this.stream);
    }
    // Without a camera or microphone we still want to see and hear the others.
    if (!peer.polite) {
      for (const kind of ["audio", "video"]) {
        if (!this.stream.getTracks().some((track) => track.kind === kind)) peer.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  // Autoplay with sound was refused (a reload has no click yet): play muted, offer a button.
  needSound(video) {
    video.muted = true;
    video.play().catch(() => {});
    this.ui.sound.hidden = false;
  }

  connectionChanged(peer) {
    const state = peer.pc.connectionState;
    peer.tile.dataset.state = state;
    if (state === "connected") {
      this.onMedia("connected");
      this.say(peer.label ? t("Connected to {who}", { who: peer.label }) : t("Connected to the call"));
    } else if (state === "failed") {
      peer.pc.restartIce();
      const all = [...this.peers.values()].every((p) => p.pc.connectionState === "failed");
      if (all) this.onMedia("failed");
    }
    this.refresh();
  }

  signal(frame) {
    const { from, data } = frame;
    let peer = this.peers.get(from);
    if (!peer) {
      if (!data || !data.description || data.description.type !== "offer") return;
      peer = this.makePeer({ peer_id: from }, true);
    }
    // One signal at a time per peer: a candidate must not overtake its description.
    peer.queue = peer.queue.then(() => this.handle(peer, data)).catch((error) => {
      // An offer from a connection made anew (the other side lost ours) does not fit the
      // one kept here: start over with it.
      if (data.description && data.description.type === "offer" && this.peers.get(from) === peer) {
        this.dropPeer(from);
        const fresh = this.makePeer({ peer_id: from, label: peer.label, kind: peer.kind }, true);
        fresh.queue = fresh.queue.then(() => this.handle(fresh, data)).catch((e) => console.warn("signal", e));
      } else console.warn("signal", error);
    });
  }

  async handle(peer, data) {
    const { pc } = peer;
    if (data.description) {
      const offer = data.description.type === "offer";
      const collision = offer && (peer.makingOffer || pc.signalingState !== "stable");
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      await pc.setRemoteDescription(data.description);
      if (offer) {
        this.attach(peer);
        await pc.setLocalDescription();
        this.send({ type: "signal", to: peer.id, data: { description: pc.localDescription.toJSON() } });
      }
    } else if (data.candidate) {
      try {
        await pc.addIceCandidate(data.candidate);
      } catch (error) {
        if (!peer.ignoreOffer) console.warn("candidate", error);
      }
    }
  }

  async startShare() {
    let display;
    try {
      display = await navigator.mediaDevices.getDisplayMedia({ video: true });
    } catch {
      this.say(t("Screen sharing was not started"));
      return;
    }
    this.screen = display.getVideoTracks()[0];
    this.screen.addEventListener("ended", () => this.stopShare());
    await this.swapVideo(this.screen);
    this.ui.selfVideo.srcObject = new MediaStream([this.screen]);
    this.ui.share.textContent = t("Stop sharing");
    this.say(t("You are sharing your screen"));
  }

  async stopShare() {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    await this.swapVideo(this.camera);
    this.ui.selfVideo.srcObject = this.stream;
    this.ui.share.textContent = t("Share screen");
    this.say(t("Screen sharing stopped"));
  }

  async swapVideo(track) { await this.sendInstead("video", track); }

  // What we send of one kind, on every connection: replaceTrack on its sender (no new
  // offer and answer); a sender only where there was none of that kind (no device then).
  async sendInstead(kind, track) {
    for (const peer of this.peers.values()) {
      const senders = peer.pc.getSenders();
      const transceiver = peer.pc.getTransceivers().find((tr) => !tr.sender.track && tr.receiver.track.kind === kind && !tr.stopped);
      const sender = senders.find((s) => s.track && s.track.kind === kind) || (transceiver && transceiver.sender);
      if (sender) await sender.replaceTrack(track);
      else if (track && peer.attached) peer.pc.addTrack(track, this.stream);
      if (track && transceiver && transceiver.sender === sender && transceiver.direction === "recvonly") transceiver.direction = "sendrecv";
    }
  }

  // Another camera or microphone, during the call or before it: the new device's track
  // takes the old one's place in every connection (replaceTrack, so the call carries on
  // without renegotiation), keeping "Mute" and "Camera off" as they were. Answers the
  // track; throws getUserMedia's error (blocked, gone) with the old device still in use.
  async useDevice(kind, id) {
    const old = this.stream.getTracks().find((track) => track.kind === kind) || null;
    if (old && old.getSettings().deviceId === id) return old;
    const constraints = { [kind]: { deviceId: { exact: id } } };
    let fresh;
    try {
      fresh = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      // Some phones open one camera at a time: let go of the old one and ask again.
      if (error.name !== "NotReadableError" || !old) throw error;
      old.stop();
      fresh = await navigator.mediaDevices.getUserMedia(constraints);
    }
    const track = fresh.getTracks()[0];
    if (old) {
      track.enabled = old.enabled;
      this.stream.removeTrack(old);
    }
    this.stream.addTrack(track);
    if (kind === "video") this.camera = track;
    // While the screen is shared, the screen stays what is sent; the camera returns after.
    if (!(kind === "video" && this.screen)) await this.sendInstead(kind, track);
    if (old) old.stop();
    if (!this.screen) this.ui.selfVideo.srcObject = this.stream;
    return track;
  }

  tick() {
    this.ui.timer.textContent = this.startedAt ? duration((Date.now() - this.startedAt) / 1000) : "";
  }

  // A quality hint from RTCStats: round-trip time and packet loss since the last look.
  async measure() {
    let worst = null;
    const order = { good: 0, fair: 1, poor: 2 };
    for (const peer of this.peers.values()) {
      if (peer.pc.connectionState !== "connected") continue;
      let rtt = null;
      let lost = 0;
      let received = 0;
      const stats = await peer.pc.getStats();
      stats.forEach((s) => {
        if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime;
        if (s.type === "inbound-rtp") { lost += s.packetsLost || 0; received += s.packetsReceived || 0; }
      });
      const last = peer.last || { lost: 0, received: 0 };
      peer.last = { lost, received };
      const dl = lost - last.lost;
      const dr = received - last.received;
      const verdict = grade(rtt, dr + dl > 0 ? dl / (dr + dl) : null);
      if (verdict && (worst === null || order[verdict] > order[worst])) worst = verdict;
    }
    this.ui.quality.textContent = worst ? t("Connection: {grade}", { grade: GRADES[worst]() }) : "";
    this.ui.quality.dataset.grade = worst || "";
  }

  refresh() {
    const n = [...this.peers.values()].filter((p) => p.kind !== "relay").length;
    this.ui.remotes.dataset.count = String(n);
    this.ui.empty.hidden = n > 0;
    this.ui.empty.textContent = this.me ? t("Waiting for the others to join…") : this.over || t("Connecting…");
  }

  dropPeer(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    clearTimeout(peer.blip);
    peer.pc.close();
    peer.tile.remove();
    this.peers.delete(id);
  }

  closePeers() {
    for (const id of [...this.peers.keys()]) this.dropPeer(id);
    this.refresh();
  }

  // The session ended: every link closed, the camera kept for a rejoin; the stage says so.
  ended(text = t("The session has ended.")) {
    this.me = null;
    this.sessionId = null;
    this.startedAt = null;
    this.over = text;
    this.closePeers();
  }

  close() {
    this.ended();
    clearInterval(this.ticker);
    clearInterval(this.statsTimer);
    this.stopShare();
    for (const track of this.stream.getTracks()) track.stop();
  }
}

// A connection that still carries (or is about to carry) media.
function live(pc) {
  return ["connected", "connecting"].includes(pc.connectionState);
}
