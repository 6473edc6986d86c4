/*
 * Krisenlotse chat widget (vanilla JavaScript, no build step, no third-party requests).
 *
 * Embedding (docs/web-contract.md):
 *   <script src="https://city.example/widget.js" defer data-title="Krisenlotse" data-lang="de"
 *           data-start-message="/greet" data-position="right" data-color="#0b5cab"></script>
 *
 * The widget derives the server origin from its own src, loads widget.css (next to widget.js) and the
 * vendored socket.io client (/static/vendor/socket.io.min.js) from that origin, and talks to the
 * web app over socket.io (/socket.io/) and its JSON API (/api/v1/...). Everything it renders from the
 * server is built as DOM nodes with textContent: never innerHTML.
 */
(function () {
  'use strict';

  if (window.__krisenlotseWidget) return; // embedded twice: keep the first
  window.__krisenlotseWidget = true;

  // --- configuration -------------------------------------------------------------------------

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script || !script.src) return;
  var SRC = new URL(script.src, document.baseURI);
  var ORIGIN = SRC.origin;
  var ds = script.dataset;
  var CFG = {
    title: (ds.title || 'Krisenlotse').slice(0, 60),
    lang: ds.lang || 'de',
    startMessage: (ds.startMessage || '').trim(),
    position: ds.position === 'left' ? 'left' : 'right',
    color: ds.color || '#0b5cab',
    privacyUrl: safeUrl(ds.privacyUrl || '', ['http:', 'https:']) || ORIGIN + '/datenschutz',
    cssUrl: new URL('widget.css', SRC).href,
    socketUrl: ORIGIN + '/static/vendor/socket.io.min.js',
  };
  var MAX_CHARS = 1000;
  var ANSWER_TIMEOUT_MS = 30000;
  var STALE_CARD_MS = 30 * 60 * 1000;
  var KEY_SESSION = 'krisenlotse:session';
  var KEY_ECHO = 'krisenlotse:echo';
  var DEFAULT_WELCOME = 'Guten Tag! Ich bin der Krisenlotse, der digitale Wegweiser der Stadt für Unternehmen. ' +
    'Fragen Sie mich zum Beispiel zu Kurzarbeit, Soforthilfen, Krediten oder Steuern – ' +
    'ich nenne Ihnen auch die zuständige Stelle.';

  var DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  var DAY_SHORT = { mon: 'Mo', tue: 'Di', wed: 'Mi', thu: 'Do', fri: 'Fr', sat: 'Sa', sun: 'So' };
  var DAY_LONG = {
    mon: 'Montag', tue: 'Dienstag', wed: 'Mittwoch', thu: 'Donnerstag', fri: 'Freitag',
    sat: 'Samstag', sun: 'Sonntag',
  };
  var LANGUAGES = {
    de: 'Deutsch', en: 'Englisch', fr: 'Französisch', it: 'Italienisch', tr: 'Türkisch', ar: 'Arabisch',
    pl: 'Polnisch', ru: 'Russisch', uk: 'Ukrainisch', es: 'Spanisch', ro: 'Rumänisch', bg: 'Bulgarisch',
    hr: 'Kroatisch', el: 'Griechisch', fa: 'Persisch', pt: 'Portugiesisch',
  };

  // --- small helpers -------------------------------------------------------------------------

  function safeUrl(value, protocols) {
    if (!value) return null;
    try {
      var url = new URL(value, ORIGIN);
      return protocols.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** el('button.kl-btn', {type: 'button', 'aria-label': '…'}, 'text' | Node | [children]) */
  function el(spec, attrs, children) {
    var parts = spec.split('.');
    var node = document.createElement(parts[0]);
    if (parts.length > 1) node.className = parts.slice(1).join(' ');
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === 'hidden') node.hidden = true;
        else node.setAttribute(name, value === true ? '' : String(value));
      });
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    if (children === null || children === undefined) return node;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function srOnly(text) {
    return el('span.kl-sr', null, text);
  }

  function svgIcon(name) {
    var NS = 'http://www.w3.org/2000/svg';
    var paths = {
      chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
      close: 'M6 6l12 12M18 6L6 18',
      send: 'M3 11.5L21 3l-8.5 18-2.2-7.3L3 11.5z',
    };
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'kl-icon kl-icon--' + name);
    var path = document.createElementNS(NS, 'path');
    path.setAttribute('d', paths[name]);
    svg.appendChild(path);
    return svg;
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); });
    return [hex.slice(0, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10), hex.slice(10)]
      .map(function (group) { return group.join(''); }).join('-');
  }

  var memoryStore = {};
  var store = {
    get: function (key) {
      try {
        var raw = window.localStorage.getItem(key);
        return raw ? JSON.parse(raw) : null;
      } catch (e) {
        return memoryStore[key] || null;
      }
    },
    set: function (key, value) {
      memoryStore[key] = value;
      try {
        window.localStorage.setItem(key, JSON.stringify(value));
      } catch (e) { /* storage blocked: the session lives as long as the page */ }
    },
  };

  function toDate(value) {
    if (value === null || value === undefined || value === '') return null;
    var d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
    return isNaN(d.getTime()) ? null : d;
  }

  function clockText(date) {
    return date.toLocaleTimeString('de-DE', { hour: '2-digit', minute: '2-digit' });
  }

  /** Weekday key (mon..sun) and minutes since midnight in Europe/Berlin. */
  function berlinNow(now) {
    try {
      var parts = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
      }).formatToParts(now || new Date());
      var map = {};
      parts.forEach(function (p) { map[p.type] = p.value; });
      return { day: map.weekday.slice(0, 3).toLowerCase(), minutes: Number(map.hour) * 60 + Number(map.minute) };
    } catch (e) {
      var d = now || new Date();
      return { day: DAYS[(d.getDay() + 6) % 7], minutes: d.getHours() * 60 + d.getMinutes() };
    }
  }

  function intervalsOf(hours, day) {
    var list = (hours && hours[day]) || [];
    return list.map(function (iv) {
      if (Array.isArray(iv)) return [String(iv[0]), String(iv[1])];
      return [String(iv.from || iv.open || iv.start), String(iv.to || iv.close || iv.end)];
    }).filter(function (iv) { return /^\d{1,2}:\d{2}$/.test(iv[0]) && /^\d{1,2}:\d{2}$/.test(iv[1]); });
  }

  function minutesOf(hhmm) {
    var p = hhmm.split(':');
    return Number(p[0]) * 60 + Number(p[1]);
  }

  // --- limited, safe Markdown ----------------------------------------------------------------

  var LINK_PROTOCOLS = ['http:', 'https:', 'mailto:', 'tel:'];
  var INLINE = /\[([^\]\n]{1,300})\]\(([^)\s]{1,2000})\)|\*\*([^*\n]{1,500})\*\*|(https?:\/\/[^\s<>()"]*[^\s<>()".,;:!?'])/g;

  function linkNode(text, href) {
    var url = safeUrl(href, LINK_PROTOCOLS);
    if (!url) return document.createTextNode(text);
    var a = el('a.kl-link', { href: url }, text);
    if (/^https?:/.test(url)) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.appendChild(srOnly(' (öffnet neues Fenster)'));
    }
    return a;
  }

  function inlineNodes(text, allowBold) {
    var nodes = [];
    var last = 0;
    var m;
    INLINE.lastIndex = 0;
    var matches = [];
    while ((m = INLINE.exec(text)) !== null) matches.push([m.index, m[0], m[1], m[2], m[3], m[4]]);
    matches.forEach(function (match) {
      var index = match[0];
      if (index > last) nodes.push(document.createTextNode(text.slice(last, index)));
      if (match[2] !== undefined) nodes.push(linkNode(match[2], match[3]));
      else if (match[4] !== undefined) {
        nodes.push(allowBold ? append(el('strong'), inlineNodes(match[4], false)) : document.createTextNode(match[4]));
      } else nodes.push(linkNode(shortUrl(match[5]), match[5]));
      last = index + match[1].length;
    });
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  /** A bare URL as link text: host and path, without scheme and www, at most 60 characters. */
  function shortUrl(href) {
    var label = href.replace(/^https?:\/\/(www\.)?/, '').replace(/\/$/, '');
    return label.length > 60 ? label.slice(0, 57) + '…' : label;
  }

  /** Text → DocumentFragment: links (http/https/mailto/tel), **bold**, line breaks; nothing else. */
  function markdown(text) {
    var frag = document.createDocumentFragment();
    String(text).replace(/\r\n?/g, '\n').split('\n').forEach(function (line, i) {
      if (i > 0) frag.appendChild(document.createElement('br'));
      append(frag, inlineNodes(line, true));
    });
    return frag;
  }

  function plainText(text) {
    return String(text)
      .replace(/\[([^\]\n]+)\]\([^)\s]+\)/g, '$1')
      .replace(/\*\*([^*\n]+)\*\*/g, '$1')
      .replace(/\s+/g, ' ')
      .trim();
  }

  // --- colours -------------------------------------------------------------------------------

  function parseHex(value) {
    var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value).trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
  }

  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a);
    var lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  /** The brand colour, darkened until white text on it and it on light grey reach 4.5:1. */
  function accessibleColor(value) {
    var rgb = parseHex(value) || parseHex('#0b5cab');
    var lightest = [240, 242, 245]; // bot bubble background
    var steps = 0;
    while (contrast(rgb, lightest) < 4.6 && steps < 40) {
      rgb = rgb.map(function (v) { return Math.round(v * 0.92); });
      steps += 1;
    }
    if (steps && window.console) {
      console.warn('Krisenlotse: data-color ' + value + ' hat zu wenig Kontrast und wurde abgedunkelt.');
    }
    return 'rgb(' + rgb.join(', ') + ')';
  }

  // --- state ---------------------------------------------------------------------------------

  var session = store.get(KEY_SESSION);
  if (!session || typeof session.id !== 'string' || session.id.length < 16) {
    session = { id: uuid(), consent: false };
    store.set(KEY_SESSION, session);
  }

  var state = {
    open: false,
    started: false, // socket + history loaded (lazily, on first open)
    online: true,
    socket: null,
    socketFailed: false,
    waitingTimer: null,
    botTyping: false,
    currentBotTurn: null,
    deliberateReconnect: false,
    announceQueue: [],
    announceTimer: null,
  };

  // --- DOM -----------------------------------------------------------------------------------

  var host = el('div', { id: 'krisenlotse-widget', 'data-position': CFG.position, hidden: true });
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  var css = el('link', { rel: 'stylesheet', href: CFG.cssUrl });
  css.addEventListener('load', function () { host.hidden = false; });
  css.addEventListener('error', function () { host.hidden = false; });
  root.appendChild(css);

  var ui = {};
  ui.wrap = el('div.kl', { lang: CFG.lang, 'data-position': CFG.position });
  ui.wrap.style.setProperty('--kl-brand', accessibleColor(CFG.color));

  ui.launcher = el('button.kl-launcher', {
    type: 'button', 'aria-expanded': 'false', 'aria-controls': 'kl-panel', 'aria-haspopup': 'dialog',
  }, [svgIcon('chat'), el('span.kl-launcher__text', null, 'Fragen? Chat starten'),
    srOnly(' – ' + CFG.title)]);

  ui.title = el('h2.kl-title', { id: 'kl-title' }, CFG.title);
  ui.newBtn = el('button.kl-tool', { type: 'button' }, 'Neues Gespräch');
  ui.deleteBtn = el('button.kl-tool', { type: 'button' }, 'Gespräch löschen');
  ui.closeBtn = el('button.kl-close', { type: 'button', 'aria-label': 'Chat schließen', title: 'Chat schließen' },
    svgIcon('close'));
  ui.header = el('header.kl-header', null, [
    el('div.kl-header__row', null, [
      el('div.kl-header__titles', null, [ui.title,
        el('p.kl-subtitle', null, 'Digitaler Wegweiser für Unternehmen')]),
      ui.closeBtn,
    ]),
    el('div.kl-toolbar', { role: 'group', 'aria-label': 'Gespräch verwalten' }, [ui.newBtn, ui.deleteBtn]),
  ]);

  ui.confirmYes = el('button.kl-btn.kl-btn--danger', { type: 'button' }, 'Ja, endgültig löschen');
  ui.confirmNo = el('button.kl-btn.kl-btn--secondary', { type: 'button' }, 'Abbrechen');
  ui.confirm = el('div.kl-confirm', { role: 'group', 'aria-labelledby': 'kl-confirm-text', hidden: true }, [
    el('p', { id: 'kl-confirm-text' }, [el('strong', null, 'Gespräch wirklich löschen?'), ' ',
      'Alle Nachrichten und Bewertungen dieses Gesprächs werden sofort und endgültig gelöscht.']),
    el('div.kl-actions', null, [ui.confirmYes, ui.confirmNo]),
  ]);

  ui.status = el('p.kl-status', { role: 'status' });
  ui.announcer = el('div.kl-sr', { 'aria-live': 'polite', 'aria-atomic': 'false' });

  ui.consentYes = el('button.kl-btn.kl-btn--primary', { type: 'button' }, 'Einverstanden');
  ui.consentNo = el('button.kl-btn.kl-btn--secondary', { type: 'button' }, 'Nein, danke');
  ui.consentError = el('p.kl-error', { role: 'alert', hidden: true });
  ui.consent = el('section.kl-consent', { 'aria-labelledby': 'kl-consent-title', hidden: true }, [
    el('h3.kl-consent__title', { id: 'kl-consent-title' }, 'Bevor es losgeht: Datenschutz'),
    el('p', null, 'Damit der Chat Ihre Fragen beantworten kann, speichert die Stadt Ihre Nachrichten, ' +
      'Ihre Bewertungen der Antworten und die Adresse der Seite, auf der Sie chatten – für 90 Tage. ' +
      'Sie können das Gespräch jederzeit selbst löschen. Es werden keine Dienste Dritter eingebunden.'),
    el('p', null, 'Bitten Sie um Rückmeldung, nimmt der Chat dazu Name, Firma, E-Mail oder Telefon und Ihr ' +
      'Anliegen auf. Das erhält nur die zuständige Stelle der Stadt – eine andere Stelle nur, wenn Sie zustimmen.'),
    el('p', null, 'Bitte geben Sie keine sensiblen Daten ein, etwa Gesundheitsdaten oder Kontonummern.'),
    el('p', null, append(el('a.kl-link', { href: CFG.privacyUrl, target: '_blank', rel: 'noopener' },
      'Datenschutzhinweise lesen'), srOnly(' (öffnet neues Fenster)'))),
    ui.consentError,
    el('div.kl-actions', null, [ui.consentYes, ui.consentNo]),
  ]);

  ui.log = el('ol.kl-log', { 'aria-label': 'Nachrichten' });
  ui.typing = el('div.kl-typing', { hidden: true }, [
    el('span.kl-dots', { 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]),
    el('span', null, CFG.title + ' schreibt …'),
  ]);
  ui.body = el('div.kl-body', { role: 'region', 'aria-label': 'Gesprächsverlauf', tabindex: '0' },
    [ui.consent, ui.log, ui.typing]);

  ui.input = el('textarea.kl-input', {
    id: 'kl-input', rows: '1', maxlength: String(MAX_CHARS), autocomplete: 'off',
    'aria-describedby': 'kl-input-hint',
  });
  ui.inputHint = el('p.kl-hint', { id: 'kl-input-hint' }, 'Eingabetaste sendet, Umschalt+Eingabe für neue Zeile.');
  ui.counter = el('span.kl-counter', { hidden: true });
  ui.sendBtn = el('button.kl-send', { type: 'submit', 'aria-label': 'Nachricht senden', title: 'Senden' },
    svgIcon('send'));
  ui.form = el('form.kl-form', { 'aria-label': 'Nachricht schreiben' }, [
    el('div.kl-form__row', null, [
      el('label.kl-sr', { for: 'kl-input' }, 'Ihre Nachricht'),
      ui.input,
      ui.sendBtn,
    ]),
    el('div.kl-form__meta', null, [ui.inputHint, ui.counter]),
  ]);
  ui.footer = el('p.kl-footer', null, [
    append(el('a.kl-link', { href: CFG.privacyUrl, target: '_blank', rel: 'noopener' }, 'Datenschutz'),
      srOnly(' (öffnet neues Fenster)')),
    ' · Antworten ohne Gewähr, keine Rechtsberatung',
  ]);

  ui.panel = el('section.kl-panel', {
    id: 'kl-panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'kl-title', hidden: true,
  }, [ui.header, ui.confirm, ui.status, ui.body, ui.form, ui.footer, ui.announcer]);

  append(ui.wrap, [ui.panel, ui.launcher]);
  root.appendChild(ui.wrap);

  function mount() {
    document.body.appendChild(host);
  }

  // --- rendering -----------------------------------------------------------------------------

  function announce(text) {
    if (!text) return;
    state.announceQueue.push(text);
    clearTimeout(state.announceTimer);
    state.announceTimer = setTimeout(function () {
      ui.announcer.textContent = '';
      var message = state.announceQueue.join(' ');
      state.announceQueue = [];
      setTimeout(function () { ui.announcer.textContent = message; }, 50);
    }, 250);
  }

  function scrollToEnd() {
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    if (typeof ui.body.scrollTo === 'function') {
      ui.body.scrollTo({ top: ui.body.scrollHeight, behavior: reduce ? 'auto' : 'smooth' });
    } else {
      ui.body.scrollTop = ui.body.scrollHeight;
    }
  }

  function timeNode(date) {
    if (!date) return null;
    return el('time.kl-time', { datetime: date.toISOString() }, clockText(date));
  }

  function renderUser(text, date) {
    state.currentBotTurn = null;
    var li = el('li.kl-turn.kl-turn--user', null, [
      el('div.kl-turn__content', null,
        el('div.kl-msg.kl-msg--user', null, [srOnly('Sie: '), document.createTextNode(text)])),
      el('div.kl-meta', null, timeNode(date || new Date())),
    ]);
    ui.log.appendChild(li);
    scrollToEnd();
    return li;
  }

  /** The bot turn that new bot messages join (a user message starts a new one). */
  function botTurn(date) {
    if (state.currentBotTurn && state.currentBotTurn.isConnected) return state.currentBotTurn;
    var content = el('div.kl-turn__content');
    var meta = el('div.kl-meta', null, timeNode(date));
    var li = el('li.kl-turn.kl-turn--bot', null, [content, meta]);
    li._kl = { content: content, meta: meta, feedback: null };
    ui.log.appendChild(li);
    state.currentBotTurn = li;
    return li;
  }

  function addToTurn(turn, node) {
    turn._kl.content.appendChild(node);
  }

  function quickReplies(list) {
    var group = el('div.kl-replies', { role: 'group', 'aria-label': 'Antwortvorschläge' });
    list.forEach(function (b) {
      if (!b || typeof b.title !== 'string') return;
      var payload = typeof b.payload === 'string' && b.payload ? b.payload : b.title;
      var btn = el('button.kl-reply', { type: 'button', 'data-payload': payload }, b.title);
      btn.addEventListener('click', function () {
        sendMessage(payload, b.title);
        ui.input.focus();
      });
      group.appendChild(btn);
    });
    return group.childNodes.length ? group : null;
  }

  function removeQuickReplies() {
    Array.prototype.forEach.call(ui.log.querySelectorAll('.kl-replies'), function (g) { g.remove(); });
  }

  function isOpenNow(hours, now) {
    if (!hours) return null;
    var b = berlinNow(now);
    return intervalsOf(hours, b.day).some(function (iv) {
      return minutesOf(iv[0]) <= b.minutes && b.minutes < minutesOf(iv[1]);
    });
  }

  var FIELD_LABELS = { name: 'Name', phone: 'Telefon', email: 'E-Mail', web: 'Website', address: 'Adresse',
    opening_hours: 'Sprechzeiten', note: 'Hinweis' };

  function germanDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ''));
    return m ? m[3] + '.' + m[2] + '.' + m[1] : null;
  }

  /** Contact card: only values a cited page gives; no open/closed badge unless sourced hours say so. */
  function contactCard(custom, date) {
    var u = custom.unit && typeof custom.unit === 'object' ? custom.unit : custom;
    var name = String(u.name || u.unit_name || u.title || 'Zuständige Stelle');
    var unitId = String(u.id || u.unit_id || custom.unit_id || '');
    var hours = u.opening_hours || null;
    var hoursAreFact = typeof u.open_now === 'boolean';
    var openNow = hoursAreFact ? u.open_now : null;
    if (hoursAreFact && date && Date.now() - date.getTime() > STALE_CARD_MS && hours) openNow = isOpenNow(hours);

    var card = el('article.kl-card', { 'data-unit-id': unitId || null, 'aria-labelledby': null });
    var titleId = 'kl-card-' + uuid().slice(0, 8);
    card.setAttribute('aria-labelledby', titleId);
    card.appendChild(el('p.kl-card__kicker', null, 'Zuständige Stelle'));
    card.appendChild(el('h3.kl-card__title', { id: titleId }, name));
    if (openNow !== null) {
      card.appendChild(el('p.kl-badge.' + (openNow ? 'kl-badge--open' : 'kl-badge--closed'), null, [
        el('span.kl-badge__icon', { 'aria-hidden': 'true' }, openNow ? '✓' : '✕'),
        openNow ? 'Jetzt erreichbar' : 'Derzeit nicht erreichbar',
      ]));
    }
    if (u.description) card.appendChild(el('p.kl-card__desc', null, String(u.description)));

    var dl = el('dl.kl-card__facts');
    function fact(label, value) {
      dl.appendChild(el('dt', null, label));
      dl.appendChild(el('dd', null, value));
    }
    var phone = u.phone ? String(u.phone) : null;
    if (phone) fact('Telefon', el('a.kl-link', { href: 'tel:' + phone.replace(/[^\d+]/g, '') }, phone));
    var email = u.email ? String(u.email) : null;
    var mail = email && safeUrl('mailto:' + email, ['mailto:']);
    if (mail) fact('E-Mail', el('a.kl-link', { href: mail }, email));
    if (u.address) fact('Adresse', String(u.address));
    var web = safeUrl(u.web || u.url || '', ['http:', 'https:']);
    if (web) {
      var label = new URL(web).hostname.replace(/^www\./, '') + new URL(web).pathname.replace(/\/$/, '');
      fact('Website', linkNode(label.length > 48 ? label.slice(0, 45) + '…' : label, web));
    }
    if (Array.isArray(u.languages) && u.languages.length > 1) {
      fact('Sprachen', u.languages.map(function (c) { return LANGUAGES[c] || String(c).toUpperCase(); }).join(', '));
    }
    card.appendChild(dl);
    if (!phone && !mail) {
      card.appendChild(el('p.kl-note', null, 'Telefon und E-Mail finden Sie auf der Seite der Stelle.'));
    }

    var hoursBox = el('div.kl-hours');
    var hoursId = 'kl-hours-' + uuid().slice(0, 8);
    hoursBox.appendChild(el('h4.kl-hours__title', { id: hoursId }, String(u.hours_note || 'Sprechzeiten')));
    if (!hours) {
      hoursBox.appendChild(el('p', null, web
        ? ['Bitte auf der ', linkNode('Seite der Stelle', web), ' prüfen.']
        : 'Bitte auf der Seite der Stelle prüfen.'));
    } else {
      var today = berlinNow().day;
      var table = el('table.kl-hours__table', { 'aria-labelledby': hoursId });
      var tbody = el('tbody');
      DAYS.forEach(function (day) {
        var ivs = intervalsOf(hours, day);
        var text = ivs.length ? ivs.map(function (iv) { return iv[0] + '–' + iv[1]; }).join(', ') + ' Uhr' : 'geschlossen';
        var row = el('tr' + (day === today ? '.kl-today' : ''), null, [
          el('th', { scope: 'row' }, [el('abbr', { title: DAY_LONG[day] }, DAY_SHORT[day]),
            day === today ? el('span.kl-today__label', null, ' (heute)') : null]),
          el('td', null, text),
        ]);
        tbody.appendChild(row);
      });
      table.appendChild(tbody);
      hoursBox.appendChild(table);
      hoursBox.appendChild(el('p.kl-note', null, 'An Feiertagen geschlossen.'));
    }
    card.appendChild(hoursBox);
    if (u.note) card.appendChild(el('p.kl-note', null, String(u.note)));
    var old = Array.isArray(u.old_fields) ? u.old_fields.filter(function (f) { return FIELD_LABELS[f]; }) : [];
    if (old.length) {
      card.appendChild(el('p.kl-note.kl-note--old', null,
        old.map(function (f) { return FIELD_LABELS[f]; }).join(', ') +
        ': Angabe von einer älteren Seite – bitte auf der verlinkten Seite prüfen.'));
    }
    var checked = germanDate(u.checked);
    if (checked) card.appendChild(el('p.kl-card__checked', null, 'Kontaktdaten geprüft am ' + checked));
    return { node: card, summary: 'Kontakt: ' + name + (openNow === null ? '' : openNow ? ', jetzt erreichbar' : ', derzeit nicht erreichbar') };
  }

  function feedbackBar(messageId, initial) {
    var bar = el('div.kl-feedback', { role: 'group', 'aria-label': 'Bewertung dieser Antwort' });
    var question = el('span.kl-feedback__q', null, 'Hilfreich?');
    var up = el('button.kl-rate', { type: 'button', 'aria-pressed': 'false', 'data-rating': 'up',
      'aria-label': 'Ja, hilfreich', title: 'Hilfreich' }, el('span', { 'aria-hidden': 'true' }, '👍'));
    var down = el('button.kl-rate', { type: 'button', 'aria-pressed': 'false', 'data-rating': 'down',
      'aria-label': 'Nein, nicht hilfreich', title: 'Nicht hilfreich' }, el('span', { 'aria-hidden': 'true' }, '👎'));
    var thanks = el('span.kl-feedback__thanks', { role: 'status' });
    var commentId = 'kl-fb-' + uuid().slice(0, 8);
    var comment = el('textarea.kl-comment', { id: commentId, rows: '2', maxlength: '500' });
    var commentSend = el('button.kl-btn.kl-btn--secondary.kl-btn--small', { type: 'submit' }, 'Rückmeldung senden');
    var human = el('button.kl-btn.kl-btn--secondary.kl-btn--small.kl-human', { type: 'button' },
      'Mit einer Person sprechen');
    var commentForm = el('form.kl-feedback__form', { hidden: true }, [
      el('label', { for: commentId }, 'Was hat gefehlt? (optional)'),
      comment,
      commentSend,
      human,
    ]);
    human.addEventListener('click', function () {
      commentForm.hidden = true;
      sendMessage('/human_handoff', 'Mit einer Person sprechen');
      ui.input.focus();
    });
    append(bar, [question, up, down, thanks, commentForm]);

    function mark(rating) {
      up.setAttribute('aria-pressed', String(rating === 'up'));
      down.setAttribute('aria-pressed', String(rating === 'down'));
    }
    function rate(rating, text) {
      var body = { session_id: session.id, message_id: messageId, rating: rating };
      if (text) body.comment = text;
      return api('POST', '/api/v1/feedback', body);
    }
    up.addEventListener('click', function () {
      mark('up');
      commentForm.hidden = true;
      rate('up').then(function () { thanks.textContent = 'Danke für Ihre Rückmeldung!'; })
        .catch(function (e) { mark(null); thanks.textContent = errorText(e); });
    });
    down.addEventListener('click', function () {
      mark('down');
      thanks.textContent = '';
      commentForm.hidden = false;
      comment.focus();
      rate('down').catch(function (e) { thanks.textContent = errorText(e); });
    });
    commentForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = comment.value.trim();
      commentSend.disabled = true;
      rate('down', text).then(function () {
        commentForm.hidden = true;
        thanks.textContent = 'Danke! Ihre Rückmeldung hilft uns, die Antworten zu verbessern.';
        down.focus();
      }).catch(function (e) {
        thanks.textContent = errorText(e);
      }).then(function () { commentSend.disabled = false; });
    });
    if (initial === 'up' || initial === 'down') {
      mark(initial);
      thanks.textContent = 'Bewertet – danke!';
    }
    return bar;
  }

  function feedbackValue(f) {
    if (!f) return null;
    if (typeof f === 'string') return f;
    return f.rating || null;
  }

  /**
   * One bot message (live from socket.io or from the history). `live` announces it.
   * msg: {text?, quick_replies?|buttons?, custom?, message_id?, id?, timestamp?, error?, feedback?}
   */
  var STAFF_LABEL = 'Mitarbeiterin/Mitarbeiter der Stadt';

  /** A reply written by city staff during a live handover: own turn, labelled, no rating. */
  function renderStaff(msg, live) {
    var date = toDate(msg.timestamp) || (live ? new Date() : null);
    state.currentBotTurn = null;
    var turn = botTurn(date);
    var label = STAFF_LABEL + (msg.staff_name ? ' (' + String(msg.staff_name) + ')' : '');
    var bubble = el('div.kl-msg.kl-msg--bot.kl-msg--staff', { 'data-message-id': msg.message_id || msg.id || null,
      'data-sender': 'staff' });
    bubble.appendChild(el('p.kl-staff-label', null, label + ':'));
    bubble.appendChild(markdown(String(msg.text || '')));
    addToTurn(turn, bubble);
    state.currentBotTurn = null;
    if (live) announce(label + ': ' + plainText(String(msg.text || '')));
  }

  function renderBot(msg, live) {
    if (msg.sender === 'staff' || (msg.staff_name && !msg.error)) {
      renderStaff(msg, live);
      return;
    }
    var date = toDate(msg.timestamp) || (live ? new Date() : null);
    var turn = botTurn(date);
    var id = msg.message_id || msg.id || null;
    var spoken = [];
    if (typeof msg.text === 'string' && msg.text.trim()) {
      var bubble = el('div.kl-msg.kl-msg--bot' + (msg.error ? '.kl-msg--error' : ''), { 'data-message-id': id });
      bubble.appendChild(srOnly(CFG.title + ': '));
      if (msg.error) bubble.appendChild(el('strong', null, 'Hinweis: '));
      bubble.appendChild(markdown(msg.text));
      addToTurn(turn, bubble);
      spoken.push(plainText(msg.text));
      if (id && !msg.error && !turn._kl.feedback) {
        turn._kl.feedback = feedbackBar(id, feedbackValue(msg.feedback));
        turn._kl.meta.appendChild(turn._kl.feedback);
      }
    }
    var custom = msg.custom || null;
    var image = (msg.attachment && msg.attachment.type === 'image' && msg.attachment.payload &&
      msg.attachment.payload.src) || msg.image || (custom && custom.image) || null;
    var imageUrl = image && safeUrl(String(image), ['http:', 'https:']);
    if (imageUrl) {
      // shown as a link, never loaded by the widget: no requests to other servers
      addToTurn(turn, el('p.kl-msg.kl-msg--bot', null, [srOnly(CFG.title + ': '), linkNode('Bild ansehen', imageUrl)]));
      spoken.push('Bild');
    }
    if (custom && typeof custom === 'object' && custom.type === 'contact_card') {
      var card = contactCard(custom, live ? null : date);
      addToTurn(turn, card.node);
      spoken.push(card.summary);
    }
    var replies = msg.quick_replies || msg.buttons;
    if (Array.isArray(replies) && replies.length) {
      var group = quickReplies(replies);
      if (group) {
        addToTurn(turn, group);
        spoken.push(replies.length + ' Antwortvorschläge');
      }
    }
    if (live) {
      announce(spoken.map(function (t) { return /[.!?…:]$/.test(t) ? t : t + '.'; }).join(' '));
      scrollToEnd();
    }
  }

  function renderWelcome() {
    if (CFG.startMessage && CFG.startMessage.charAt(0) === '/') return;
    renderBot({ text: CFG.startMessage || DEFAULT_WELCOME }, false);
    state.currentBotTurn = null;
  }

  /** Whole transcript from GET /api/v1/conversations/{id}/messages. */
  function renderHistory(messages) {
    ui.log.textContent = '';
    state.currentBotTurn = null;
    renderWelcome();
    var lastButtons = [];
    messages.forEach(function (m) {
      if (m.sender === 'user') {
        var text = String(m.text || '');
        var chosen = lastButtons.filter(function (b) { return b.payload === text; })[0];
        lastButtons = [];
        if (chosen) text = chosen.title;
        else if (text.charAt(0) === '/') { // an intent payload (the start message): not the user's words
          state.currentBotTurn = null;
          return;
        }
        renderUser(text, toDate(m.timestamp));
      } else {
        var buttons = m.buttons || m.quick_replies || [];
        if (Array.isArray(buttons) && buttons.length) lastButtons = buttons;
        renderBot(m, false);
      }
    });
    // quick replies only count for the last bot turn
    var groups = ui.log.querySelectorAll('.kl-replies');
    var lastTurn = ui.log.lastElementChild;
    Array.prototype.forEach.call(groups, function (g) {
      if (!lastTurn || g.closest('.kl-turn') !== lastTurn || !lastTurn.classList.contains('kl-turn--bot')) {
        g.remove();
      }
    });
    scrollToEnd();
  }

  // --- HTTP API ------------------------------------------------------------------------------

  function errorText(e) {
    return (e && e.userMessage) || 'Das hat leider nicht geklappt. Bitte versuchen Sie es später erneut.';
  }

  function api(method, path, body) {
    var init = { method: method, headers: { Accept: 'application/json' }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(ORIGIN + path, init).then(function (res) {
      if (res.ok) return res.status === 204 ? null : res.json().catch(function () { return null; });
      return res.json().catch(function () { return null; }).then(function (data) {
        var err = new Error('HTTP ' + res.status);
        err.status = res.status;
        err.userMessage = data && data.error && data.error.message;
        throw err;
      });
    }, function (e) {
      var err = new Error('network');
      err.status = 0;
      err.userMessage = 'Keine Verbindung zum Server. Bitte prüfen Sie Ihre Internetverbindung.';
      err.cause = e;
      throw err;
    });
  }

  // --- socket.io -----------------------------------------------------------------------------

  function loadSocketIo() {
    return new Promise(function (resolve) {
      if (typeof window.io === 'function') return resolve(true);
      var s = document.createElement('script');
      s.src = CFG.socketUrl;
      s.async = true;
      s.onload = function () { resolve(typeof window.io === 'function'); };
      s.onerror = function () { resolve(false); };
      document.head.appendChild(s);
    });
  }

  function setOnline(online, message) {
    state.online = online;
    ui.wrap.classList.toggle('kl-offline', !online);
    if (!online) ui.wrap.setAttribute('data-connection', 'offline');
    if (message !== undefined) ui.status.textContent = message;
    else if (!online) ui.status.textContent = 'Keine Verbindung – der Chat verbindet sich automatisch neu …';
    else ui.status.textContent = '';
  }

  function connect() {
    if (state.socket) {
      state.socket.connect();
      return;
    }
    ui.wrap.setAttribute('data-connection', 'connecting');
    var socket = window.io(ORIGIN, { path: '/socket.io/', reconnectionDelayMax: 10000 });
    state.socket = socket;
    var everConnected = false;
    socket.on('connect', function () {
      socket.emit('session_request', { session_id: session.id });
      var deliberate = state.deliberateReconnect;
      state.deliberateReconnect = false;
      if (everConnected && session.consent && !deliberate) {
        setOnline(true, 'Wieder verbunden.');
        setTimeout(function () {
          if (state.online && ui.status.textContent === 'Wieder verbunden.') setOnline(true);
        }, 4000);
        // answers given while the connection was away; not while a message of ours is on its way
        if (!state.waitingTimer) refreshHistory();
      } else if (!state.online) {
        setOnline(true);
      }
      everConnected = true;
    });
    socket.on('session_confirm', function (id) {
      ui.wrap.setAttribute('data-connection', 'online'); // joined the room of the session
      if (typeof id === 'string' && id && id !== session.id && window.console) {
        console.warn('Krisenlotse: der Server bestätigte eine andere Sitzung.');
      }
    });
    socket.on('disconnect', function (reason) {
      if (reason === 'io client disconnect') return;
      setOnline(false);
    });
    socket.on('connect_error', function () { setOnline(false); });
    socket.on('bot_uttered', function (msg) {
      if (!msg || typeof msg !== 'object') return;
      stopWaiting();
      renderBot(msg, true);
    });
    socket.on('bot_typing', function (data) {
      state.botTyping = !!(data && data.typing);
      if (data && data.handled_by === 'staff') stopWaiting(); // live handover: a person answers
      updateTyping();
    });
  }

  function reconnectForNewSession() {
    if (!state.socket) return;
    state.deliberateReconnect = true;
    ui.wrap.setAttribute('data-connection', 'connecting');
    state.socket.disconnect();
    state.socket.connect();
  }

  // --- sending -------------------------------------------------------------------------------

  function metadata() {
    var lang = document.documentElement.getAttribute('lang') || CFG.lang;
    return { page_url: location.origin + location.pathname, page_language: lang, consent: true };
  }

  function consentBody() {
    var meta = metadata();
    return { session_id: session.id, page_url: meta.page_url, page_language: meta.page_language };
  }

  function updateTyping() {
    ui.typing.hidden = !(state.botTyping || state.waitingTimer);
    if (!ui.typing.hidden) scrollToEnd();
  }

  function startWaiting() {
    clearTimeout(state.waitingTimer);
    state.waitingTimer = setTimeout(function () {
      state.waitingTimer = null;
      state.botTyping = false;
      updateTyping();
      setOnline(state.online, 'Keine Antwort erhalten. Bitte versuchen Sie es gleich noch einmal.');
    }, ANSWER_TIMEOUT_MS);
    updateTyping();
  }

  function stopWaiting() {
    clearTimeout(state.waitingTimer);
    state.waitingTimer = null;
    updateTyping();
  }

  function sendMessage(text, shown, silent) {
    text = String(text || '').trim();
    if (!text || !session.consent) return false;
    if (text.length > MAX_CHARS) {
      setOnline(state.online, 'Ihre Nachricht ist zu lang (höchstens ' + MAX_CHARS + ' Zeichen).');
      return false;
    }
    removeQuickReplies();
    if (!silent) {
      renderUser(shown || text);
      store.set(KEY_ECHO, { session: session.id, text: shown || text, nonce: uuid() });
    }
    if (ui.status.textContent && state.online) setOnline(true);
    var meta = metadata();
    if (state.socket) {
      state.socket.emit('user_uttered', { message: text, session_id: session.id, metadata: meta, customData: meta });
      startWaiting();
    } else {
      restSend(text, meta);
    }
    return true;
  }

  /** Fallback when the socket.io client could not be loaded: the REST webhook. */
  function restSend(text, meta) {
    startWaiting();
    api('POST', '/webhooks/rest/webhook', { sender: session.id, message: text, metadata: meta })
      .then(function (messages) {
        stopWaiting();
        (messages || []).forEach(function (m) { renderBot(m, true); });
      }, function (e) {
        stopWaiting();
        renderBot({ text: errorText(e), error: 'network' }, true);
      });
  }

  // --- session, consent, history -------------------------------------------------------------

  function saveSession() {
    store.set(KEY_SESSION, session);
  }

  function showConsent(show) {
    ui.consent.hidden = !show;
    ui.input.disabled = show;
    ui.sendBtn.disabled = show;
    ui.input.placeholder = show ? 'Bitte zuerst zustimmen' : 'Ihre Frage …';
    ui.deleteBtn.disabled = show;
  }

  function refreshHistory() {
    if (!session.consent) return Promise.resolve();
    var id = session.id;
    return api('GET', '/api/v1/conversations/' + encodeURIComponent(id) + '/messages').then(function (data) {
      if (id !== session.id) return;
      renderHistory((data && data.messages) || []);
    }, function (e) {
      if (id !== session.id) return;
      if (e.status === 404) {
        // consent was given here, but the server knows nothing (yet, or any more): register again
        renderHistory([]);
        return api('POST', '/api/v1/consent', consentBody()).then(null, function () {
          /* a failure shows up when the user sends */
        });
      }
      setOnline(state.online, 'Der bisherige Verlauf konnte nicht geladen werden.');
      return null;
    });
  }

  function maybeSendStart(empty) {
    if (empty && CFG.startMessage.charAt(0) === '/') sendMessage(CFG.startMessage, null, true);
  }

  function start() {
    if (state.started) return;
    state.started = true;
    showConsent(!session.consent);
    if (session.consent) refreshHistory();
    else {
      ui.log.textContent = '';
      renderWelcome();
    }
    loadSocketIo().then(function (ok) {
      if (ok) connect();
      else state.socketFailed = true;
    });
  }

  function acceptConsent() {
    ui.consentYes.disabled = true;
    ui.consentError.hidden = true;
    api('POST', '/api/v1/consent', consentBody()).then(function () {
      session.consent = true;
      saveSession();
      showConsent(false);
      ui.input.focus();
      announce('Danke. Sie können jetzt Ihre Frage stellen.');
      maybeSendStart(ui.log.querySelectorAll('.kl-turn--user').length === 0);
    }, function (e) {
      ui.consentError.textContent = errorText(e);
      ui.consentError.hidden = false;
    }).then(function () { ui.consentYes.disabled = false; });
  }

  function resetView() {
    stopWaiting();
    state.botTyping = false;
    updateTyping();
    state.currentBotTurn = null;
    ui.log.textContent = '';
    renderWelcome();
    showConsent(!session.consent);
  }

  function newConversation() {
    var hadConsent = session.consent;
    session = { id: uuid(), consent: false };
    saveSession();
    resetView();
    reconnectForNewSession();
    if (hadConsent) {
      // the user agreed in this browser already: register the new conversation too
      api('POST', '/api/v1/consent', consentBody()).then(function () {
        session.consent = true;
        saveSession();
        showConsent(false);
        ui.input.focus();
        maybeSendStart(true);
      }, function () { ui.consentYes.focus(); });
    }
    announce('Neues Gespräch begonnen.');
    setOnline(state.online);
  }

  function askDelete() {
    ui.confirm.hidden = false;
    ui.deleteBtn.setAttribute('aria-expanded', 'true');
    ui.confirmNo.focus();
  }

  function closeConfirm(focusBack) {
    ui.confirm.hidden = true;
    ui.deleteBtn.setAttribute('aria-expanded', 'false');
    if (focusBack) ui.deleteBtn.focus();
  }

  function deleteConversation() {
    ui.confirmYes.disabled = true;
    var id = session.id;
    api('DELETE', '/api/v1/conversations/' + encodeURIComponent(id)).then(null, function (e) {
      if (e.status !== 404) throw e;
    }).then(function () {
      session = { id: uuid(), consent: false };
      saveSession();
      closeConfirm(false);
      resetView();
      reconnectForNewSession();
      setOnline(state.online, 'Das Gespräch wurde gelöscht.');
      ui.consentYes.focus();
    }, function (e) {
      setOnline(state.online, errorText(e));
      closeConfirm(true);
    }).then(function () { ui.confirmYes.disabled = false; });
  }

  // --- open / close / keyboard ---------------------------------------------------------------

  function isSmallScreen() {
    return window.matchMedia && window.matchMedia('(max-width: 600px)').matches;
  }

  function openPanel(opener) {
    if (state.open) return;
    state.open = true;
    state.opener = opener && opener !== ui.launcher && opener.isConnected ? opener : null;
    ui.panel.hidden = false;
    ui.wrap.classList.add('kl-is-open');
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.panel.setAttribute('aria-modal', String(isSmallScreen()));
    start();
    if (!session.consent) ui.consentYes.focus();
    else ui.input.focus();
    scrollToEnd();
  }

  function closePanel() {
    if (!state.open) return;
    state.open = false;
    closeConfirm(false);
    ui.panel.hidden = true;
    ui.wrap.classList.remove('kl-is-open');
    ui.launcher.setAttribute('aria-expanded', 'false');
    var back = state.opener && state.opener.isConnected ? state.opener : ui.launcher;
    state.opener = null;
    back.focus();
  }

  function focusables() {
    var list = ui.panel.querySelectorAll('a[href], button, textarea, input, select, [tabindex]:not([tabindex="-1"])');
    return Array.prototype.filter.call(list, function (n) {
      return !n.disabled && n.getClientRects().length > 0;
    });
  }

  function activeInShadow() {
    return root.activeElement || document.activeElement;
  }

  ui.launcher.addEventListener('click', function () {
    if (state.open) closePanel();
    else openPanel(ui.launcher);
  });
  // any element of the host page with data-krisenlotse-open opens the chat
  document.addEventListener('click', function (ev) {
    var trigger = ev.target && ev.target.closest && ev.target.closest('[data-krisenlotse-open]');
    if (!trigger) return;
    ev.preventDefault();
    openPanel(trigger);
  });
  window.Krisenlotse = {
    open: function () { openPanel(document.activeElement); },
    close: closePanel,
  };
  ui.closeBtn.addEventListener('click', closePanel);
  ui.panel.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' || ev.key === 'Esc') {
      ev.preventDefault();
      ev.stopPropagation();
      if (!ui.confirm.hidden) closeConfirm(true);
      else closePanel();
      return;
    }
    if (ev.key === 'Tab' && isSmallScreen()) {
      // full-screen on phones: keep focus inside the dialog
      var items = focusables();
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      var active = activeInShadow();
      if (ev.shiftKey && active === first) {
        ev.preventDefault();
        last.focus();
      } else if (!ev.shiftKey && active === last) {
        ev.preventDefault();
        first.focus();
      }
    }
  });

  ui.consentYes.addEventListener('click', acceptConsent);
  ui.consentNo.addEventListener('click', closePanel);
  ui.newBtn.addEventListener('click', newConversation);
  ui.deleteBtn.setAttribute('aria-expanded', 'false');
  ui.deleteBtn.setAttribute('aria-controls', 'kl-confirm');
  ui.confirm.id = 'kl-confirm';
  ui.deleteBtn.addEventListener('click', askDelete);
  ui.confirmNo.addEventListener('click', function () { closeConfirm(true); });
  ui.confirmYes.addEventListener('click', deleteConversation);

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 140) + 'px';
    var n = ui.input.value.length;
    ui.counter.hidden = n < MAX_CHARS * 0.8;
    ui.counter.textContent = n + ' von ' + MAX_CHARS + ' Zeichen';
  }
  ui.input.addEventListener('input', autosize);
  ui.input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ui.form.requestSubmit ? ui.form.requestSubmit() : ui.form.dispatchEvent(new Event('submit'));
    }
  });
  ui.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (sendMessage(ui.input.value)) {
      ui.input.value = '';
      autosize();
    }
    ui.input.focus();
  });

  // other tabs of the same browser: a new session there, or the user's own messages
  window.addEventListener('storage', function (ev) {
    if (ev.key === KEY_SESSION) {
      var next = store.get(KEY_SESSION);
      if (!next || !next.id) return;
      var changed = next.id !== session.id;
      var consentChanged = next.consent !== session.consent;
      session = next;
      if (!state.started) return;
      if (changed) {
        resetView();
        reconnectForNewSession();
      } else if (consentChanged) {
        showConsent(!session.consent);
      }
      if (session.consent && (changed || consentChanged)) refreshHistory();
    } else if (ev.key === KEY_ECHO && state.started) {
      var echo = store.get(KEY_ECHO);
      if (echo && echo.session === session.id && typeof echo.text === 'string') {
        removeQuickReplies();
        renderUser(echo.text);
      }
    }
  });
  window.addEventListener('offline', function () { if (state.started) setOnline(false); });
  window.addEventListener('online', function () {
    if (state.started && state.socket && !state.socket.connected) state.socket.connect();
  });

  if (window.matchMedia) {
    var small = window.matchMedia('(max-width: 600px)');
    var onResize = function () { ui.panel.setAttribute('aria-modal', String(small.matches)); };
    if (small.addEventListener) small.addEventListener('change', onResize);
  }

  setOnline(true);
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
