/* Krisenlotse staff console: live queue and live chat (socket.io namespace /staff, polling every 10 s as
 * a fallback), reply without reloading, optional sound for new cases. No inline scripts (CSP). */
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var page = document.body.getAttribute('data-page');
  var POLL_MS = 10000;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); });
  }

  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (ev) {
      if (!window.confirm(form.getAttribute('data-confirm'))) ev.preventDefault();
    });
  });

  function connect(handlers) {
    if (typeof window.io !== 'function') return null;
    var socket = window.io('/staff', { transports: ['websocket', 'polling'], withCredentials: true });
    Object.keys(handlers).forEach(function (name) { socket.on(name, handlers[name]); });
    return socket;
  }

  function every(ms, fn, socketRef) {
    window.setInterval(function () {
      if (!socketRef.socket || !socketRef.socket.connected) fn();
    }, ms);
  }

  // --- queue -----------------------------------------------------------------------------------
  if (page === 'queue') {
    var table = document.getElementById('queue');
    var body = document.getElementById('queue-body');
    var badge = document.getElementById('new-count');
    var soundButton = document.getElementById('sound-toggle');
    var soundOn = false;
    var known = null;
    soundButton.hidden = false;
    soundButton.addEventListener('click', function () {
      soundOn = !soundOn;
      soundButton.setAttribute('aria-pressed', String(soundOn));
      soundButton.textContent = 'Ton bei neuen Fällen: ' + (soundOn ? 'an' : 'aus');
    });
    function beep() {
      if (!soundOn) return;
      try {
        var Ctx = window.AudioContext || window.webkitAudioContext;
        var ctx = new Ctx();
        var osc = ctx.createOscillator();
        osc.frequency.value = 880;
        osc.connect(ctx.destination);
        osc.start();
        osc.stop(ctx.currentTime + 0.2);
      } catch (e) { /* no audio */ }
    }
    function query() {
      var params = new URLSearchParams();
      ['unit', 'status', 'q'].forEach(function (k) {
        var v = table.getAttribute('data-' + k);
        if (v) params.set(k, v);
      });
      return '/staff/api/cases?' + params.toString();
    }
    function row(c) {
      var tr = el('tr', c.priority === 'high' ? 'high' : '');
      var first = el('td');
      var a = el('a', null, c.case_number);
      a.href = c.url;
      first.appendChild(a);
      if (c.live_requested && !c.live) { first.appendChild(document.createTextNode(' ')); first.appendChild(el('span', 'tag', 'Live-Wunsch')); }
      if (c.live) { first.appendChild(document.createTextNode(' ')); first.appendChild(el('span', 'tag live', 'Live')); }
      tr.appendChild(first);
      [c.company || '–', c.unit_name, c.topic || '–', c.priority_label, c.status_label, c.age, c.first_response]
        .forEach(function (t) { tr.appendChild(el('td', null, t)); });
      return tr;
    }
    function refresh() {
      getJSON(query()).then(function (data) {
        var ids = data.cases.map(function (c) { return c.case_number; });
        var fresh = known ? ids.filter(function (id) { return known.indexOf(id) < 0; }) : [];
        known = ids;
        body.textContent = '';
        if (!data.cases.length) {
          var tr = el('tr'); var td = el('td', null, 'Keine Fälle.'); td.colSpan = 8; tr.appendChild(td); body.appendChild(tr);
        }
        data.cases.forEach(function (c) { body.appendChild(row(c)); });
        badge.textContent = data.new_count + ' neu';
        if (fresh.length) { badge.classList.add('pulse'); beep(); }
      }).catch(function () { /* keep the current list */ });
    }
    var ref = { socket: null };
    ref.socket = connect({ case_new: refresh, case_updated: refresh, connect: refresh });
    refresh();
    every(POLL_MS, refresh, ref);
  }

  // --- case page: live chat ----------------------------------------------------------------------
  if (page === 'case') {
    var box = document.getElementById('case');
    var number = box.getAttribute('data-case');
    var list = document.getElementById('transcript');
    var seen = {};
    function label(m) {
      if (m.sender === 'user') return 'Unternehmen';
      if (m.sender === 'staff') return (m.staff_name || 'Mitarbeiterin/Mitarbeiter') + ' (Stadt)';
      return 'Krisenlotse';
    }
    function add(m) {
      if (!m || !m.id || seen[m.id]) return;
      seen[m.id] = true;
      var li = el('li', 'msg msg-' + (m.sender || 'bot'));
      li.setAttribute('data-id', m.id);
      var who = el('p', 'who', label(m) + ' ');
      var when = el('time', null, new Date(m.timestamp || Date.now()).toLocaleTimeString('de-DE'));
      who.appendChild(when);
      li.appendChild(who);
      li.appendChild(el('p', 'text', m.text || '(ohne Text)'));
      list.appendChild(li);
      list.scrollTop = list.scrollHeight;
    }
    function poll() {
      getJSON(box.getAttribute('data-messages')).then(function (data) {
        data.messages.forEach(add);
      }).catch(function () {});
    }
    getJSON(box.getAttribute('data-messages')).then(function (data) {
      data.messages.forEach(function (m) { seen[m.id] = true; });
    }).catch(function () {});
    var caseRef = { socket: null };
    caseRef.socket = connect({
      live_message: function (data) { if (data && data.case_number === number) add(data.message); },
    });
    every(POLL_MS, poll, caseRef);

    var form = document.getElementById('reply-form');
    if (form) {
      var input = document.getElementById('reply');
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var text = input.value.trim();
        if (!text) return;
        var button = form.querySelector('button');
        button.disabled = true;
        fetch(box.getAttribute('data-reply'), {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
          body: JSON.stringify({ text: text }),
        }).then(function (r) {
          if (!r.ok) throw new Error('HTTP ' + r.status);
          return r.json();
        }).then(function (data) {
          input.value = '';
          add(data.message);
        }).catch(function () {
          window.alert('Die Antwort konnte nicht gesendet werden. Bitte laden Sie die Seite neu.');
        }).then(function () { button.disabled = false; input.focus(); });
      });
    }
  }
})();
