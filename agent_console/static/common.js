// hotline: shared browser code. Every caller-supplied text is set with
// textContent (never innerHTML), so a caller name like <script> stays text.
"use strict";

const I18N = {
  de: {
    login: "Anmelden", username: "Benutzername", password: "Passwort", logout: "Abmelden",
    wrong_login: "Benutzername oder Passwort falsch", console: "Agenten-Konsole", wallboard: "Wallboard",
    ringing: "Es klingelt", known: "bekannt", ambiguous: "mehrdeutig", unknown: "unbekannt",
    withheld: "unterdrückt", choose_contact: "Kontakt wählen", create_contact: "Kontakt anlegen",
    name: "Name", organization: "Organisation", team: "Team", open_tickets: "Offene Tickets",
    recent_calls: "Letzte Anrufe", none: "keine", ticket: "Ticket", subject: "Betreff",
    category: "Kategorie", priority: "Priorität", notes: "Notizen", fcr: "Im Erstkontakt gelöst",
    save: "Speichern", saved: "Gespeichert", escalate: "Eskalieren", reason: "Grund",
    level: "Level", pause: "Pause", unpause: "Weiter", queue_login: "In Warteschlange",
    queue_logout: "Aus Warteschlange", dial: "Wählen", transfer: "Weiterleiten", number: "Nummer",
    waiting: "Wartend", longest_wait: "Längste Wartezeit", service_level: "Servicelevel",
    asa: "Ø Wartezeit (ASA)", abandon_rate: "Abbruchquote", answered: "Angenommen", offered: "Angeboten",
    agents: "Agenten", state: "Status", since: "seit", position: "Pos.", caller: "Anrufer", wait: "Wartezeit",
    expected: "erwartet", at_risk: "gefährdet", due: "fällig", overdue: "überfällig",
    available: "frei", on_call: "im Gespräch", wrap_up: "Nachbearbeitung", paused: "Pause",
    logged_out: "abgemeldet", unavailable: "nicht erreichbar", withdrawn: "Anruf woanders angenommen oder aufgelegt",
    on_call_with: "Im Gespräch mit", pbx_down: "Telefonanlage nicht verbunden", chart: "Wartende und Servicelevel",
    wallboard_today: "Heute", reason_lunch: "Mittag", reason_break: "Pause", reason_backoffice: "Backoffice",
    withheld_caller: "Rufnummer unterdrückt", seconds: "s",
    idle: "Keine Anrufe. Sobald Ihr Telefon klingelt, steht der Anrufer hier.",
    reason_wrap_up: "Nachbearbeitung", wrapup_title: "Nachbearbeitung", wrapup_left: "noch",
    wrapup_then: "Danach stellt die Telefonanlage wieder Anrufe zu.", wrapup_unknown: "Dauer unbekannt",
    wrapup_extended: "Nachbearbeitung verlängert", wrapup_extended_note: "Keine Anrufe, bis Sie auf „Bereit“ klicken.",
    more_time: "Mehr Zeit", ready: "Bereit",
  },
  en: {
    login: "Log in", username: "Username", password: "Password", logout: "Log out",
    wrong_login: "Wrong username or password", console: "Agent console", wallboard: "Wallboard",
    ringing: "Ringing", known: "known", ambiguous: "ambiguous", unknown: "unknown",
    withheld: "withheld", choose_contact: "Choose contact", create_contact: "Create contact",
    name: "Name", organization: "Organisation", team: "Team", open_tickets: "Open tickets",
    recent_calls: "Recent calls", none: "none", ticket: "Ticket", subject: "Subject",
    category: "Category", priority: "Priority", notes: "Notes", fcr: "Solved on first contact",
    save: "Save", saved: "Saved", escalate: "Escalate", reason: "Reason",
    level: "Level", pause: "Pause", unpause: "Resume", queue_login: "Join queue",
    queue_logout: "Leave queue", dial: "Dial", transfer: "Transfer", number: "Number",
    waiting: "Waiting", longest_wait: "Longest wait", service_level: "Service level",
    asa: "ASA", abandon_rate: "Abandon rate", answered: "Answered", offered: "Offered",
    agents: "Agents", state: "State", since: "since", position: "Pos.", caller: "Caller", wait: "Wait",
    expected: "expected", at_risk: "at risk", due: "due", overdue: "overdue",
    available: "available", on_call: "on call", wrap_up: "wrap-up", paused: "paused",
    logged_out: "logged out", unavailable: "unavailable", withdrawn: "Answered elsewhere or caller hung up",
    on_call_with: "On call with", pbx_down: "PBX not connected", chart: "Waiting calls and service level",
    wallboard_today: "Today", reason_lunch: "Lunch", reason_break: "Break", reason_backoffice: "Back office",
    withheld_caller: "Number withheld", seconds: "s",
    idle: "No calls. When your phone rings, the caller shows up here.",
    reason_wrap_up: "Wrap-up", wrapup_title: "Wrap-up", wrapup_left: "left",
    wrapup_then: "Then the PBX puts calls through again.", wrapup_unknown: "length unknown",
    wrapup_extended: "Wrap-up extended", wrapup_extended_note: "No calls until you click Ready.",
    more_time: "More time", ready: "Ready",
  },
};

const hl = {
  lang: localStorage.getItem("hotline.lang") || (navigator.language || "de").slice(0, 2),
  csrf: null,
  me: null,
  t(key) { return (I18N[this.lang] || I18N.en)[key] || I18N.en[key] || key; },
  setLang(lang) { this.lang = I18N[lang] ? lang : "en"; localStorage.setItem("hotline.lang", this.lang); },
  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  },
  translatePage() {
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = hl.t(n.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((n) => { n.placeholder = hl.t(n.dataset.i18nPlaceholder); });
    document.documentElement.lang = hl.lang;
  },
  async api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    const res = await fetch(path, { method, headers, credentials: "same-origin",
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { const err = new Error(typeof data.detail === "string" ? data.detail : res.statusText); err.status = res.status; err.data = data; throw err; }
    return data;
  },
  async loadMe() {
    try { this.me = await this.api("GET", "/api/me"); } catch (e) { if (e.status === 401) { location.href = "/"; return null; } throw e; }
    this.csrf = this.me.csrf_token;
    if (!localStorage.getItem("hotline.lang")) this.setLang(this.me.language);
    return this.me;
  },
  async logout() { try { await this.api("DELETE", "/api/session"); } finally { location.href = "/"; } },
  seconds(s) {
    if (s === null || s === undefined) return "–";
    s = Math.max(0, Math.round(s));
    const m = Math.floor(s / 60), r = s % 60;
    return m ? `${m}:${String(r).padStart(2, "0")}` : `${r} ${this.t("seconds")}`;
  },
  percent(x) { return x === null || x === undefined ? "–" : `${Math.round(x * 100)} %`; },
  // The live feed: snapshot first, then deltas; resumes from the last seq.
  connect(handlers) {
    let lastSeq = null, delay = 500;
    const open = () => {
      const proto = location.protocol === "https:" ? "wss" : "ws";
      const since = lastSeq === null ? "" : `?since=${lastSeq}`;
      const ws = new WebSocket(`${proto}://${location.host}/ws${since}`);
      hl.socket = ws;
      ws.onopen = () => { delay = 500; document.body.dataset.ws = "open"; };
      ws.onmessage = (e) => {
        const msg = JSON.parse(e.data);
        if (msg.seq !== null && msg.seq !== undefined) lastSeq = msg.seq;
        const h = handlers[msg.type]; if (h) h(msg.data, msg);
      };
      ws.onclose = (e) => {
        document.body.dataset.ws = "closed";
        if (e.code === 4401) { location.href = "/"; return; }
        setTimeout(open, delay); delay = Math.min(delay * 2, 10000);
      };
    };
    open();
  },
};
