// hotline: the live feed (WebSocket /ws), the server clock and the connection indicator.
// Loaded after common.js. A page calls `hl.live.connect(handlers)` once; handlers are
// keyed by message type ("snapshot", "queue.updated", …) and get (data, message).
//
// Reconnecting always asks for a fresh snapshot (no `?since=`): replayed deltas are
// old by the length of the outage, and a snapshot is one small message that holds the
// whole state and the server's clock. Every live timer runs against the server clock
// learnt from the latest snapshot only (`server_time` plus the browser's monotonic
// clock since it arrived), never from the times inside replayed or pushed messages.
//
// States: connecting (before the first snapshot), connected, reconnecting (lost, trying
// again), offline (the browser says it is offline, or still no connection after
// OFFLINE_AFTER_MS). While not connected the page is marked stale (body.stale greys
// every [data-live] region) and `hl.live.now()` stays at the moment the feed was lost,
// so timers stop instead of running on data nobody refreshes.
// Close code 4401 (session expired or revoked) goes to the login page; so does a
// handshake refused twice in a row when /api/me then answers 401.
"use strict";

hl.live = {
  state: "connecting",
  HEARTBEAT_TIMEOUT_MS: 50_000,  // the server pings every 20 s (agent_console/ws.py HEARTBEAT)
  OFFLINE_AFTER_MS: 10_000,
  MAX_DELAY_MS: 10_000,
  _clock: null,    // {server, perf}: server_time (ms) of the last snapshot and when it came
  _frozen: null,   // server time (ms) when the feed was lost
  _offlineTimer: null,

  // the server's clock now (ms since the epoch), or null before the first snapshot
  serverNow() {
    return this._clock ? this._clock.server + (performance.now() - this._clock.perf) : null;
  },
  // the time the page's live figures are computed at: frozen while disconnected
  now() { return this.state === "connected" || this._frozen === null ? this.serverNow() : this._frozen; },

  _learnClock(data) {
    const server = data && data.server_time ? Date.parse(data.server_time) : Date.now();
    this._clock = { server, perf: performance.now() };
    this._frozen = null;
  },

  _setState(state) {
    const was = this.state;
    this.state = state;
    clearTimeout(this._offlineTimer);
    if (state === "reconnecting") {
      this._offlineTimer = setTimeout(() => this._setState("offline"), this.OFFLINE_AFTER_MS);
    }
    if (state !== "connected" && was === "connected") this._frozen = this.serverNow();
    document.body.dataset.ws = state === "connected" ? "open" : "closed";
    document.body.dataset.conn = state;
    document.body.classList.toggle("stale", state !== "connected" && this._clock !== null);
    this.renderIndicator();
    if (this.onState) this.onState(state, was);
  },

  // The indicator: the page's #conn element (created in the header when missing).
  renderIndicator() {
    let box = document.getElementById("conn");
    if (!box) {
      box = hl.el("span", { id: "conn", class: "conn", role: "status" });
      (document.querySelector("header") || document.body).append(box);
    }
    box.dataset.state = this.state;
    const parts = [hl.el("span", { class: "conn-dot", "aria-hidden": "true" }),
                   hl.el("span", { class: "conn-text", text: hl.t(`conn.${this.state}`) })];
    if (document.body.classList.contains("stale") && this._frozen !== null) {
      parts.push(hl.el("span", { class: "conn-stale", text: hl.t("conn.stale", { time: hl.fmt.time(this._frozen, true) }) }));
    }
    box.replaceChildren(...parts);
  },

  connect(handlers) {
    let delay = 500, refused = 0, socket = null, watchdog = null, retry = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => drop(socket), this.HEARTBEAT_TIMEOUT_MS);  // silent death
    };
    const closed = (code, opened) => {
      clearTimeout(watchdog);
      if (code === 4401) { hl.session.lost(); return; }
      // stay "offline" once there: each failed retry must not restart the offline timer
      const next = navigator.onLine === false || this.state === "offline" ? "offline" : "reconnecting";
      if (next !== this.state) this._setState(next);
      refused = opened ? 0 : refused + 1;
      // a refused handshake carries no close code: ask the API whether the session is gone
      if (refused >= 2) hl.api("GET", "/api/me").catch(() => {});
      clearTimeout(retry);
      retry = setTimeout(open, delay * (0.8 + Math.random() * 0.4));
      delay = Math.min(delay * 2, this.MAX_DELAY_MS);
    };
    // stop listening to a socket and treat it as closed now (a dead TCP connection may
    // take minutes to report its close)
    const drop = (ws) => {
      if (!ws || ws !== socket) return;
      ws.onopen = ws.onmessage = ws.onclose = null;
      try { ws.close(4000, "client gave up on it"); } catch (e) { /* already closing */ }
      socket = null;
      closed(1006, ws.hlOpened);
    };
    const open = () => {
      clearTimeout(retry);
      const proto = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${proto}://${location.host}/ws`);
      socket = ws;
      hl.socket = ws;  // tests and debugging
      ws.onopen = () => { ws.hlOpened = true; arm(); };
      ws.onmessage = (e) => {
        arm();
        const msg = JSON.parse(e.data);
        if (msg.type === "snapshot") { this._learnClock(msg.data); delay = 500; this._setState("connected"); }
        const h = handlers[msg.type];
        if (h) h(msg.data, msg);
      };
      ws.onclose = (e) => { if (ws === socket) { socket = null; closed(e.code, ws.hlOpened); } };
    };
    window.addEventListener("offline", () => drop(socket));
    window.addEventListener("online", () => { if (this.state !== "connected" && !socket) { delay = 500; open(); } });
    this._setState("connecting");
    open();
  },
};

// console.js (rebuilt later) calls the old name
hl.connect = (handlers) => hl.live.connect(handlers);
