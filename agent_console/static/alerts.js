// hotline: alerts for the console (a ringing call) and the wallboard (a broken promise).
// Loaded after common.js. One call does everything a page needs:
//   hl.alerts.signal({ sound: "ring" | "breach" | "warn", title, body, tag, tab, announce })
// - sound: a short WebAudio beep pattern, unless muted (remembered in localStorage).
//   Browsers start audio only after a user gesture: the first click or key press on
//   the page unlocks it (a wall TV in kiosk mode: --autoplay-policy=no-user-gesture-required);
// - title/body: a desktop notification, only while the tab is hidden and only when
//   the user allowed it (asked on a click of a [data-alerts-notify] button, never unasked);
// - tab: text put before the page's title (hl.alerts.tab(null) restores it);
// - announce: read out by screen readers (an aria-live region; assertive for "breach").
// Buttons with [data-alerts-mute] toggle the sound; hl.alerts.log records every signal
// (tests read it: a headless browser plays no sound anyone could hear).
"use strict";

hl.alerts = {
  log: [],
  muted: localStorage.getItem("hotline.muted") === "1",
  _ctx: null,
  _baseTitle: document.title,
  PATTERNS: {  // [frequency Hz, start s, length s]
    ring: [[880, 0, 0.18], [660, 0.25, 0.18]],
    breach: [[1046, 0, 0.12], [1046, 0.18, 0.12], [1046, 0.36, 0.22]],
    warn: [[740, 0, 0.2]],
  },

  unlock() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!this._ctx) this._ctx = new Ctx();
    if (this._ctx.state === "suspended") this._ctx.resume().catch(() => {});
  },
  setMuted(muted) {
    this.muted = muted;
    localStorage.setItem("hotline.muted", muted ? "1" : "0");
    this.renderControls();
  },
  renderControls(root = document) {
    root.querySelectorAll("[data-alerts-mute]").forEach((b) => {
      b.setAttribute("aria-pressed", String(!this.muted));
      b.textContent = hl.t(this.muted ? "alerts.sound_off" : "alerts.sound_on");
    });
    const canAsk = "Notification" in window && Notification.permission === "default";
    root.querySelectorAll("[data-alerts-notify]").forEach((b) => { b.hidden = !canAsk; });
  },
  bindControls(root = document) {
    root.querySelectorAll("[data-alerts-mute]").forEach((b) => b.addEventListener("click", () => {
      this.unlock(); this.setMuted(!this.muted);
    }));
    root.querySelectorAll("[data-alerts-notify]").forEach((b) => b.addEventListener("click", () => {
      Notification.requestPermission().finally(() => this.renderControls(root));
    }));
    this.renderControls(root);
  },

  beep(kind) {
    if (this.muted || !this._ctx || this._ctx.state !== "running") return false;
    const ctx = this._ctx, t0 = ctx.currentTime + 0.02;
    for (const [freq, start, length] of this.PATTERNS[kind] || this.PATTERNS.warn) {
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + start);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + start + 0.02);  // no click at the edges
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + start + length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + start);
      osc.stop(t0 + start + length + 0.02);
    }
    return true;
  },
  notify(title, body, tag) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return false;
    const n = new Notification(title, { body, tag, renotify: Boolean(tag) });
    n.onclick = () => { window.focus(); n.close(); };
    return true;
  },
  tab(text) { document.title = text ? `${text} – ${this._baseTitle}` : this._baseTitle; },
  announce(text, assertive = false) {
    const id = assertive ? "hl-announce-assertive" : "hl-announce";
    let region = document.getElementById(id);
    if (!region) {
      region = hl.el("div", { id, class: "visually-hidden", "aria-live": assertive ? "assertive" : "polite",
                              "aria-atomic": "true" });
      document.body.append(region);
    }
    region.textContent = "";  // a repeated message is read again
    setTimeout(() => { region.textContent = text; }, 50);
  },
  signal({ sound, title, body, tag, tab, announce }) {
    const entry = { at: Date.now(), sound, title, tag, muted: this.muted };
    entry.played = sound ? this.beep(sound) : false;
    entry.notified = title ? this.notify(title, body || "", tag) : false;
    if (tab !== undefined) this.tab(tab);
    if (announce) this.announce(announce, sound === "breach");
    this.log.push(entry);
    return entry;
  },
};

for (const kind of ["pointerdown", "keydown"]) {
  document.addEventListener(kind, () => hl.alerts.unlock(), { once: true, capture: true });
}
