/* dvresponse app.js: loaded with `defer`; the CSP forbids inline scripts,
   so all behaviour is wired here from data-* attributes. No dependencies. */
(function () {
  'use strict';
  var doc = document;

  function isForm(el) { return el && el.tagName === 'FORM'; }

  // (a) form[data-confirm]: ask before submitting. Capture phase, so it runs
  // before htmx's own submit handler on the form; a "Cancel" stops both.
  doc.addEventListener('submit', function (e) {
    var msg = isForm(e.target) && e.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);

  // (h) No network: a POST form is not sent (the browser would only show
  // its own error page, and the officer would lose the page); the form
  // says so and stays as it was. Pressing again once the network is back
  // is safe: each form carries its own key, and a repeat is recognised.
  var OFFLINE = doc.body.getAttribute('data-msg-offline') || 'No network: nothing was sent. Press again when the network is back.';
  doc.addEventListener('submit', function (e) {
    var form = e.target;
    if (!isForm(form) || navigator.onLine !== false) return;
    if ((form.getAttribute('method') || 'get').toLowerCase() !== 'post') return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var note = form.querySelector('.offline-note');
    if (!note) {
      note = doc.createElement('div');
      note.className = 'flash flash-error offline-note';
      note.setAttribute('role', 'alert');
      form.insertBefore(note, form.firstChild);
    }
    note.textContent = OFFLINE;
  }, true);
  window.addEventListener('online', function () {
    var notes = doc.querySelectorAll('.offline-note');
    for (var i = 0; i < notes.length; i++) notes[i].parentNode.removeChild(notes[i]);
  });

  // (c) No double submits of plain POST forms (htmx forms arrive here
  // defaultPrevented: use hx-disabled-elt). Disable in a timeout, AFTER the
  // browser has built the form data, or the clicked button's name=value
  // (e.g. status=on_scene) would be lost. Opt out: data-no-disable.
  var MARK = 'data-busy-disabled';
  function release(form) {
    var els = (form || doc).querySelectorAll('[' + MARK + ']');
    for (var i = 0; i < els.length; i++) {
      els[i].disabled = false;
      els[i].removeAttribute(MARK);
      els[i].removeAttribute('aria-busy');
    }
  }
  doc.addEventListener('submit', function (e) {
    var form = e.target;
    if (e.defaultPrevented || !isForm(form) || form.hasAttribute('data-no-disable')) return;
    if ((form.getAttribute('method') || 'get').toLowerCase() !== 'post') return;
    setTimeout(function () {
      var els = form.elements;
      for (var i = 0; i < els.length; i++) {
        var b = els[i];
        var isBtn = b.tagName === 'BUTTON' || /^(submit|button|image)$/.test(b.type);
        if (isBtn && !b.disabled) {
          b.disabled = true;
          b.setAttribute(MARK, '');
          b.setAttribute('aria-busy', 'true');
        }
      }
      // Safety net: a download (CSV export) does not leave the page.
      setTimeout(function () { release(form); }, 10000);
    }, 0);
  });
  // Back button restores the page from the bfcache with buttons disabled.
  window.addEventListener('pageshow', function () { release(null); });

  // (b) [data-autofocus]: focus the first one on load.
  var af = doc.querySelector('[data-autofocus]');
  if (af) af.focus();

  // (d) "?" toggles .help-overlay, Escape closes it; so do [data-help-toggle]
  // and [data-help-close]. A <dialog> opens modal, another element gets .open.
  var lastFocus = null;
  function overlay() { return doc.querySelector('.help-overlay'); }
  function isOpen(el) { return el.hasAttribute('open') || el.classList.contains('open'); }
  function setHelp(open) {
    var el = overlay();
    if (!el || open === isOpen(el)) return;
    if (open) {
      lastFocus = doc.activeElement;
      if (typeof el.showModal === 'function') el.showModal(); else el.classList.add('open');
      if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
      el.focus();
    } else {
      if (typeof el.close === 'function') el.close();
      el.classList.remove('open');
      el.removeAttribute('open');
      if (lastFocus && lastFocus.focus) lastFocus.focus();
    }
  }
  function typing(el) {
    return el && (/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || el.isContentEditable);
  }
  doc.addEventListener('keydown', function (e) {
    var el = overlay();
    if (!el) return;
    if (e.key === 'Escape' && isOpen(el)) {
      e.preventDefault();
      setHelp(false);
    } else if (e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target)) {
      e.preventDefault();
      setHelp(!isOpen(el));
    }
  });
  doc.addEventListener('click', function (e) {
    var t = e.target;
    if (!t.closest) return;
    var o = overlay();
    if (!o) return;
    if (t.closest('[data-help-toggle]')) setHelp(!isOpen(o));
    else if (t.closest('[data-help-close]')) setHelp(false);
  });

  // (e) <time data-tick datetime="2024-05-01T10:00:00Z" data-target-s="600">
  // shows time elapsed (mm:ss, h:mm:ss) with class timer-ok / timer-amber
  // (>= 80% of target) / timer-red (>= target). Re-queried each second, so
  // rows swapped in by htmx/SSE just work. Optional <body data-server-now=ISO>
  // corrects a wrong workstation clock.
  var skew = Date.parse(doc.body.getAttribute('data-server-now') || '') - Date.now() || 0;
  var LEVELS = ['timer-ok', 'timer-amber', 'timer-red'];
  var TIMER_NEAR = doc.body.getAttribute('data-msg-timer-near') || 'near target';
  var TIMER_OVER = doc.body.getAttribute('data-msg-timer-over') || 'past target';
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function fmt(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + ':' + pad(m) : pad(m)) + ':' + pad(s % 60);
  }
  function tick() {
    var now = Date.now() + skew;
    var els = doc.querySelectorAll('time[data-tick][datetime]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var start = Date.parse(el.getAttribute('datetime'));
      if (isNaN(start)) continue;
      var s = Math.max(0, Math.floor((now - start) / 1000));
      var text = fmt(s);
      if (el.textContent !== text) el.textContent = text;
      var target = parseFloat(el.getAttribute('data-target-s'));
      if (!(target > 0)) continue;
      var lvl = LEVELS[s >= target ? 2 : s >= 0.8 * target ? 1 : 0];
      if (!el.classList.contains(lvl)) {
        el.classList.remove.apply(el.classList, LEVELS);
        el.classList.add(lvl);
      }
      // Colour and the CSS triangle are not the only signal: a screen
      // reader hears "near target" / "past target" with the time.
      var word = lvl === 'timer-red' ? TIMER_OVER : lvl === 'timer-amber' ? TIMER_NEAR : '';
      var label = word ? text + ' (' + word + ')' : '';
      if ((el.getAttribute('aria-label') || '') !== label) {
        if (label) el.setAttribute('aria-label', label); else el.removeAttribute('aria-label');
      }
    }
  }
  tick();
  setInterval(tick, 1000);
  doc.addEventListener('htmx:afterSettle', tick);

  // (f) Keyboard shortcuts for the dispatcher: an element with
  // data-shortcut="n" is clicked by Alt+N anywhere, or by N alone when the
  // focus is not in a field. "b" (or Alt+B) goes back to the board.
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  doc.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    if (!e.altKey && (e.shiftKey || typing(e.target))) return;
    var key = (e.code && e.code.indexOf('Key') === 0) ? e.code.slice(3).toLowerCase() : (e.key || '').toLowerCase();
    var el = doc.querySelector('[data-shortcut="' + key + '"]');
    if (el) {
      e.preventDefault();
      el.click();
    } else if (key === 'b' && location.pathname !== '/board' && !doc.querySelector('form.intake')) {
      e.preventDefault();
      location.href = '/board';
    }
  });

  // (g) Language menus. The user menu's language choice is sent as soon as
  // it changes (its button remains for keyboards and browsers without
  // scripts); on the login page a new choice reloads the page in that
  // language, keeping where the user was going.
  doc.addEventListener('change', function (e) {
    var el = e.target;
    if (el.matches && el.matches('select[data-submit-on-change]') && el.form) {
      el.form.submit();
    } else if (el.matches && el.matches('select[data-lang-switch]')) {
      var u = new URL(location.href);
      u.searchParams.set('lang', el.value);
      location.href = u.pathname + u.search;
    }
  });
})();

// (h) Fill from history: a button on an earlier incident at the same flat
// copies its district, settlement and coordinates into the intake form.
(function () {
  'use strict';
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button.fill-from-history');
    if (!b) return;
    e.preventDefault();
    var set = function (id, v) {
      var el = document.getElementById(id);
      if (el && v !== undefined && v !== '') {
        el.value = v;
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }
    };
    set('f-district_id', b.dataset.district);
    set('f-settlement_id', b.dataset.settlement);
    set('f-latitude', b.dataset.latitude);
    set('f-longitude', b.dataset.longitude);
  });
})();
