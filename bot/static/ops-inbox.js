/* Krisenlotse operator console, NLU inbox (/ops/inbox): bulk selection, keyboard shortcuts and labelling
 * through the JSON API without reloading. Without JavaScript the page's form posts to /ops/inbox.
 * Single-key shortcuts can be switched off (WCAG 2.1.4); they never fire while typing in a field. */
(function () {
  'use strict';
  var form = document.getElementById('inbox-form');
  if (!form) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var api = form.getAttribute('data-api');
  var statusBox = document.getElementById('inbox-status');
  var counter = document.getElementById('inbox-count');
  var selectAll = document.getElementById('select-all');
  var selectionText = document.getElementById('selection-count');
  var intentInput = document.getElementById('intent-search');
  var shortcutsOn = document.getElementById('shortcuts-on');
  var STORE_KEY = 'krisenlotse.inbox.shortcuts';
  var current = null;
  var busy = false;

  function items() { return Array.prototype.slice.call(form.querySelectorAll('.inbox-item')); }
  function checkOf(item) { return item.querySelector('.item-check'); }
  function selected() { return items().filter(function (i) { return checkOf(i).checked; }); }

  function announce(text, isError) {
    statusBox.hidden = false;
    statusBox.className = isError ? 'error' : 'notice';
    statusBox.textContent = text;
  }

  function setCurrent(item, focus) {
    if (current) current.classList.remove('current');
    current = item || null;
    if (!current) return;
    current.classList.add('current');
    if (focus !== false) current.focus();
  }

  function refreshSelection() {
    var chosen = selected();
    items().forEach(function (i) { i.classList.toggle('selected', checkOf(i).checked); });
    selectionText.textContent = chosen.length
      ? chosen.length + ' ausgewählt – Aktionen gelten für die Auswahl.'
      : 'Keine Auswahl – Aktionen gelten für die markierte Nachricht.';
    var all = items();
    selectAll.checked = all.length > 0 && chosen.length === all.length;
    selectAll.indeterminate = chosen.length > 0 && chosen.length < all.length;
  }

  function targets(explicitId) {
    if (explicitId) return [explicitId];
    var chosen = selected();
    if (chosen.length) return chosen.map(function (i) { return i.getAttribute('data-id'); });
    return current ? [current.getAttribute('data-id')] : [];
  }

  function removeDone(results) {
    var remaining = items();
    var next = null;
    results.forEach(function (r) {
      var item = document.getElementById('item-' + r.id);
      if (!item) return;
      if (r.status === 'written' || r.status === 'ignored' || r.status === 'conflict' || r.status === 'gone') {
        var index = remaining.indexOf(item);
        remaining.splice(index, 1);
        next = remaining[index] || remaining[index - 1] || null;
        item.parentNode.removeChild(item);
      }
    });
    if (counter) counter.textContent = String(Math.max(0, Number(counter.textContent) -
      results.filter(function (r) { return r.status !== 'error'; }).length));
    if (!remaining.length) {
      announce(statusBox.textContent + ' Der Posteingang ist leer.');
      return;
    }
    if (next || current === null || !document.body.contains(current)) setCurrent(next || remaining[0]);
  }

  function send(action, ids, intent) {
    if (busy) return;
    if (!ids.length) { announce('Bitte wählen Sie mindestens eine Nachricht aus.', true); return; }
    if (action === 'pick' && !intent) {
      announce('Bitte wählen Sie ein Intent aus der Liste.', true);
      intentInput.focus();
      return;
    }
    busy = true;
    form.setAttribute('aria-busy', 'true');
    fetch(api, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ action: action, items: ids, intent: intent || undefined })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) {
        var message = res.body && res.body.error ? res.body.error.message : 'Die Aktion ist fehlgeschlagen.';
        announce(message, true);
        return;
      }
      var errors = res.body.results.filter(function (r) { return r.status === 'error'; });
      announce(res.body.message, errors.length > 0);
      if (res.body.conflict) {
        announce(res.body.message + ' Laden Sie die Seite neu, um Konflikte zu entscheiden.', true);
      }
      removeDone(res.body.results);
      refreshSelection();
      if (action === 'pick' && !errors.length) intentInput.value = '';
    }).catch(function () {
      announce('Keine Verbindung zum Server. Bitte versuchen Sie es noch einmal.', true);
    }).then(function () {
      busy = false;
      form.removeAttribute('aria-busy');
    });
  }

  function command(value) {
    var parts = (value || '').split(':');
    var action = parts[0];
    var id = parts[1] || null;
    var intent = parts.slice(2).join(':') || (action === 'pick' ? intentInput.value.trim() : null);
    send(action, targets(id), intent);
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var button = ev.submitter;
    if (!button && document.activeElement === intentInput) { command('pick'); return; }
    if (button) {
      var item = button.closest('.inbox-item');
      if (item) setCurrent(item, false);
      command(button.value);
    }
  });

  form.addEventListener('change', function (ev) {
    if (ev.target === selectAll) {
      items().forEach(function (i) { checkOf(i).checked = selectAll.checked; });
    }
    if (ev.target.classList.contains('item-check')) setCurrent(ev.target.closest('.inbox-item'), false);
    refreshSelection();
  });

  form.addEventListener('focusin', function (ev) {
    var item = ev.target.closest && ev.target.closest('.inbox-item');
    if (item && item !== current) setCurrent(item, false);
  });

  function move(step) {
    var all = items();
    if (!all.length) return;
    var index = current ? all.indexOf(current) : -1;
    setCurrent(all[Math.min(all.length - 1, Math.max(0, index + step))]);
  }

  function typing(target) {
    var tag = (target.tagName || '').toLowerCase();
    if (tag === 'textarea' || tag === 'select' || target.isContentEditable) return true;
    return tag === 'input' && target.type !== 'checkbox';
  }

  if (shortcutsOn) {
    shortcutsOn.checked = window.localStorage.getItem(STORE_KEY) !== 'off';
    shortcutsOn.addEventListener('change', function () {
      window.localStorage.setItem(STORE_KEY, shortcutsOn.checked ? 'on' : 'off');
      announce(shortcutsOn.checked ? 'Tastenkürzel eingeschaltet.' : 'Tastenkürzel ausgeschaltet.');
    });
  }

  intentInput.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') {
      // Enter in the search field assigns the intent (the form's default button would confirm instead)
      ev.preventDefault();
      command('pick');
    } else if (ev.key === 'Escape') {
      intentInput.blur();
      if (current) current.focus();
    }
  });

  document.addEventListener('keydown', function (ev) {
    if (!shortcutsOn || !shortcutsOn.checked) return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.defaultPrevented || typing(ev.target)) return;
    var key = ev.key;
    var handled = true;
    if (key === 'j' || key === 'ArrowDown' && ev.target.classList.contains('inbox-item')) move(1);
    else if (key === 'k' || key === 'ArrowUp' && ev.target.classList.contains('inbox-item')) move(-1);
    else if (key === 'x') {
      if (!current) move(1);
      if (current) { var box = checkOf(current); box.checked = !box.checked; refreshSelection(); }
    } else if (key === 'b') command('confirm');
    else if (key === 'o') command('out_of_scope');
    else if (key === 'i') command('ignore');
    else if (key === 'a') { intentInput.focus(); }
    else if (key === 'v') {
      var details = current && current.querySelector('details');
      if (details) details.open = !details.open;
    } else if (key === '1' || key === '2' || key === '3') {
      var button = current && current.querySelector('button.rank[data-rank="' + key + '"]');
      if (button && !button.disabled) command(button.value.replace(/^pick:[^:]+/, 'pick:'));
      else announce('Für diese Nachricht gibt es kein Intent Nummer ' + key + '.', true);
    } else handled = false;
    if (handled) ev.preventDefault();
  });

  refreshSelection();
}());
