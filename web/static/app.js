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

  // (i) Live regions (templ Live): [data-live=EVENTS] listens to the
  // server's event stream and re-reads [data-live-fragment] into its
  // .live-body on every "changed" event (the first one, sent on every
  // (re)connect, is a full resync). The region is honest about being live:
  // when the stream errors, closes, or its heartbeat ("alive", every few
  // seconds) stops, it is greyed and says "not live since HH:MM"; when the
  // session has ended (the stream's "ended" event, or a fragment answering
  // 401) it shows its sign-in form, which brings back the whole page.
  function startLive(el) {
    var body = el.querySelector('.live-body');
    var status = el.querySelector('.live-status');
    var msg = el.querySelector('.live-msg');
    var reconnecting = el.querySelector('.live-reconnecting');
    var form = el.querySelector('.live-login');
    var src = null, timer = 0, retry = 1000, beat = 5000;
    var lastHeard = Date.now(), watchFrom = Date.now();
    var down = false, ended = false, busy = false, again = false;
    function hhmm(t) {
      var o = {hour: '2-digit', minute: '2-digit', hourCycle: 'h23'};
      var tz = el.getAttribute('data-live-tz');
      if (tz) o.timeZone = tz;
      try {
        return new Intl.DateTimeFormat(doc.documentElement.lang || undefined, o).format(new Date(t));
      } catch (e) {
        var d = new Date(t);
        return pad(d.getHours()) + ':' + pad(d.getMinutes());
      }
    }
    function notLive(signIn) {
      if (!down) {
        down = true;
        el.classList.add('not-live');
        msg.textContent = (el.getAttribute('data-msg-not-live') || 'Not live since {time}').replace('{time}', hhmm(lastHeard));
        status.hidden = false;
      }
      if (signIn && form.hidden) {
        form.hidden = false;
        reconnecting.hidden = true;
        var u = form.querySelector('input[name=username]');
        var p = form.querySelector('input[type=password]');
        (u && !u.value ? u : p).focus();
      }
    }
    function isLive() {
      if (!down) return;
      down = false;
      el.classList.remove('not-live');
      status.hidden = true;
    }
    function close() {
      if (src) { src.close(); src = null; }
    }
    function schedule() {
      if (ended || timer) return;
      timer = setTimeout(function () { timer = 0; connect(); }, retry);
      retry = Math.min(retry * 2, 30000);
    }
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(el.getAttribute('data-live-fragment'), {headers: {'HX-Request': 'true'}, credentials: 'same-origin', cache: 'no-store'})
        .then(function (r) {
          if (r.status === 401) {
            ended = true;
            close();
            notLive(true);
            return null;
          }
          if (!r.ok) throw new Error('HTTP ' + r.status);
          return r.text();
        })
        .then(function (html) {
          if (html === null) return;
          // What is being typed (a follow-up's reason) survives the
          // refresh: a field, by id, keeps a value changed by hand, and
          // the focus stays where it was.
          var typed = {}, fields = body.querySelectorAll('input[id]:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea[id]');
          for (var i = 0; i < fields.length; i++) {
            if (fields[i].value !== fields[i].defaultValue) typed[fields[i].id] = fields[i].value;
          }
          var focused = body.contains(doc.activeElement) ? doc.activeElement.id : '';
          body.innerHTML = html;
          for (var id in typed) {
            var f = doc.getElementById(id);
            if (f && body.contains(f)) f.value = typed[id];
          }
          var g = focused && doc.getElementById(focused);
          if (g && body.contains(g)) g.focus();
          if (window.htmx) window.htmx.process(body);
          tick();
          dueTimer();
          doc.dispatchEvent(new CustomEvent('live:updated', {detail: {region: el}}));
          if (src && src.readyState === 1) isLive();
          else if (!src) schedule();
        }, function () {
          notLive(false);
          if (!src) schedule();
        })
        .then(function () {
          busy = false;
          if (again && !ended) { again = false; refresh(); }
        });
    }
    function heard() {
      lastHeard = watchFrom = Date.now();
      retry = 1000;
    }
    function connect() {
      close();
      if (ended) return;
      watchFrom = Date.now();
      var es = new EventSource(el.getAttribute('data-live'));
      src = es;
      es.addEventListener('alive', function (e) {
        heard();
        var n = parseInt(e.data, 10);
        if (n > 0) beat = n;
      });
      es.addEventListener('changed', function () {
        heard();
        refresh();
      });
      es.addEventListener('ended', function () {
        // The session ended: the fragment's 401 turns this into the
        // sign-in form; any other answer (the database was briefly
        // unreachable) reconnects.
        close();
        notLive(false);
        refresh();
      });
      es.onerror = function () {
        if (src !== es) return;
        notLive(false);
        // CONNECTING: the browser retries by itself. CLOSED: it was
        // refused (the session ended, or the server is down): ask the
        // fragment why, and try again later.
        if (es.readyState === 2) {
          close();
          refresh();
        }
      };
    }
    // A follow-up or order check falling due changes the board without
    // any change in the database, so no notification comes: the fragment
    // names its next due time ([data-refresh-at], ISO, server clock) and
    // the region re-reads itself just after it.
    var dueT = 0;
    function dueTimer() {
      if (dueT) { clearTimeout(dueT); dueT = 0; }
      var m = body.querySelector('[data-refresh-at]');
      var at = m ? Date.parse(m.getAttribute('data-refresh-at')) : NaN;
      if (isNaN(at)) return;
      var wait = Math.max(0, at - (Date.now() + skew)) + 250;
      if (wait > 2147483000) return;
      dueT = setTimeout(function () { dueT = 0; if (!ended) refresh(); }, wait);
    }
    dueTimer();
    // The heartbeat's watchdog: a stream silent for two and a half beats
    // has dropped, even if the browser has not noticed.
    setInterval(function () {
      if (src && !ended && Date.now() - watchFrom > 2.5 * beat + 1000) {
        notLive(false);
        close();
        schedule();
      }
    }, 1000);
    connect();
  }
  var lives = doc.querySelectorAll('[data-live]');
  for (var li = 0; li < lives.length; li++) startLive(lives[li]);

  // (j) A new assignment on the officer's list (region #my): the phone
  // vibrates (Vibration API, where the phone has it) and beeps (Web Audio,
  // which browsers allow only after the user has touched the page).
  var audioCtx = null;
  function unlockAudio() {
    if (audioCtx || !(window.AudioContext || window.webkitAudioContext)) return;
    try { audioCtx = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audioCtx = null; }
  }
  doc.addEventListener('pointerdown', unlockAudio, true);
  doc.addEventListener('keydown', unlockAudio, true);
  function beep(times) {
    if (!audioCtx) return;
    try {
      for (var i = 0; i < times; i++) {
        var o = audioCtx.createOscillator(), g = audioCtx.createGain();
        var t0 = audioCtx.currentTime + i * 0.3;
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.2, t0);
        g.gain.setValueAtTime(0, t0 + 0.18);
        o.connect(g);
        g.connect(audioCtx.destination);
        o.start(t0);
        o.stop(t0 + 0.2);
      }
    } catch (e) { /* no sound is better than a broken page */ }
  }
  function cardLinks(region) {
    var out = {}, as = region.querySelectorAll('.my-incident h2 a[href]');
    for (var i = 0; i < as.length; i++) out[as[i].getAttribute('href')] = true;
    return out;
  }
  var myRegion = doc.getElementById('my');
  var myKnown = myRegion ? cardLinks(myRegion) : {};
  // Cards that arrived while the page was open stay marked new through
  // later refreshes (another unit's move, a follow-up created) until the
  // officer opens one, which leaves this page.
  var myFresh = {};
  doc.addEventListener('live:updated', function (e) {
    var region = e.detail && e.detail.region && e.detail.region.querySelector('#my');
    if (!region) return;
    var now = cardLinks(region), fresh = [], k;
    for (k in now) if (!myKnown[k]) fresh.push(k);
    myKnown = now;
    for (var i = 0; i < fresh.length; i++) myFresh[fresh[i]] = true;
    for (k in myFresh) {
      if (!now[k]) { delete myFresh[k]; continue; }
      var a = region.querySelector('.my-incident h2 a[href="' + k + '"]');
      var card = a && a.closest('.my-incident');
      if (card) card.classList.add('is-new');
    }
    if (!fresh.length) return;
    if (navigator.vibrate) { try { navigator.vibrate([300, 150, 300]); } catch (err) { /* not allowed */ } }
    beep(2);
  });

  // (k) Board alerts. A call that appears while the board is open is
  // highlighted until someone opens it (this browser remembers, in
  // sessionStorage, which calls are new and which were opened). A new P1
  // or P2 call, and a call passing its target, sound (once the user has
  // touched the page; the board's Sound button mutes, per user, kept in
  // localStorage).
  var soundBtn = doc.querySelector('[data-sound-toggle]');
  function soundOn() {
    try { return !soundBtn || localStorage.getItem(soundBtn.getAttribute('data-sound-toggle')) !== 'off'; } catch (e) { return true; }
  }
  function showSound() {
    if (!soundBtn) return;
    var on = soundOn();
    soundBtn.setAttribute('aria-pressed', on ? 'true' : 'false');
    soundBtn.textContent = soundBtn.getAttribute(on ? 'data-msg-on' : 'data-msg-off');
  }
  if (soundBtn) {
    showSound();
    soundBtn.addEventListener('click', function () {
      try { localStorage.setItem(soundBtn.getAttribute('data-sound-toggle'), soundOn() ? 'off' : 'on'); } catch (e) { /* private mode */ }
      showSound();
    });
  }
  function store(name) {
    try { return JSON.parse(sessionStorage.getItem(name) || '{}') || {}; } catch (e) { return {}; }
  }
  function keep(name, v) {
    try { sessionStorage.setItem(name, JSON.stringify(v)); } catch (e) { /* private mode */ }
  }
  // Opening an incident ends its highlight.
  var opened = location.pathname.match(/^\/incidents\/\d+$/);
  if (opened) {
    var fresh0 = store('dvr-fresh');
    if (fresh0[opened[0]]) { delete fresh0[opened[0]]; keep('dvr-fresh', fresh0); }
  }
  var boardEl = doc.getElementById('board');
  var boardKnown = {};
  function boardRows() { return boardEl ? boardEl.querySelectorAll('tr[data-href]') : []; }
  function markFresh() {
    var fresh = store('dvr-fresh'), rows = boardRows();
    for (var i = 0; i < rows.length; i++) {
      rows[i].classList.toggle('is-new', !!fresh[rows[i].getAttribute('data-href')]);
    }
  }
  if (boardEl) {
    var rows0 = boardRows();
    for (var r0 = 0; r0 < rows0.length; r0++) boardKnown[rows0[r0].getAttribute('data-href')] = true;
    markFresh();
  }
  doc.addEventListener('live:updated', function (e) {
    if (!boardEl || !e.detail || e.detail.region.querySelector('#board') !== boardEl) return;
    var fresh = store('dvr-fresh'), rows = boardRows(), urgent = false, added = false;
    for (var i = 0; i < rows.length; i++) {
      var href = rows[i].getAttribute('data-href');
      if (!boardKnown[href]) {
        boardKnown[href] = true;
        fresh[href] = true;
        added = true;
        if (parseInt(rows[i].getAttribute('data-priority'), 10) <= 2) urgent = true;
      }
    }
    if (added) keep('dvr-fresh', fresh);
    markFresh();
    if (urgent && soundOn()) beep(3);
  });
  doc.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('#board tr[data-href] a');
    if (!a) return;
    var fresh = store('dvr-fresh');
    delete fresh[a.getAttribute('href')];
    keep('dvr-fresh', fresh);
  });
  // A board timer turning red (past its target) sounds once per call and
  // stage.
  var overdue = {};
  var overdueReady = false;
  function checkOverdue() {
    if (!boardEl) return;
    var rows = boardRows(), ring = false;
    for (var i = 0; i < rows.length; i++) {
      var t = rows[i].querySelector('time.timer-red');
      var key = rows[i].getAttribute('data-href') + '|' + rows[i].getAttribute('data-stage');
      if (t && !overdue[key]) {
        overdue[key] = true;
        if (overdueReady) ring = true;
      }
    }
    overdueReady = true; // calls already late when the board opened do not ring
    if (ring && soundOn()) beep(2);
  }
  setInterval(checkOverdue, 1000);

  // (l) Arrow keys walk the board's rows (Up/Down from anywhere outside a
  // field); Enter on a row's link opens it, as links do.
  doc.addEventListener('keydown', function (e) {
    if (!boardEl || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') || e.altKey || e.ctrlKey || e.metaKey) return;
    if (typing(e.target)) return;
    var links = boardEl.querySelectorAll('tr[data-href] td:first-child a');
    if (!links.length) return;
    var i = -1;
    for (var k = 0; k < links.length; k++) if (links[k] === doc.activeElement) i = k;
    i = e.key === 'ArrowDown' ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
    e.preventDefault();
    links[i].focus();
  });

  // (m) The intake form: Enter in a text field never sends a half-typed
  // call (Alt+S does, and so does the Log button); after a refused send,
  // the focus goes to the first field in error; latitude and longitude
  // stay out of the Tab order (a click still reaches them).
  var intake = doc.querySelector('form.intake');
  if (intake) {
    var noEnter = function (e) {
      var el = e.target;
      if (e.key === 'Enter' && !e.altKey && el.tagName === 'INPUT' && !/^(submit|button|checkbox|radio)$/.test(el.type)) {
        e.preventDefault();
      }
    };
    intake.addEventListener('keydown', noEnter);
    intake.addEventListener('keypress', noEnter);
    var coords = intake.querySelectorAll('input[name=latitude], input[name=longitude]');
    for (var c = 0; c < coords.length; c++) coords[c].setAttribute('tabindex', '-1');
  }
  var firstError = doc.querySelector('.field.has-error input, .field.has-error select, .field.has-error textarea, .danger-q.has-error input');
  if (firstError) firstError.focus();

  // (n) The danger screen's "mark the rest unknown": every question not
  // yet answered is answered "unknown" (answers given stay as they are).
  doc.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('[data-rest-unknown]');
    if (!btn || !btn.form) return;
    var qs = btn.form.querySelectorAll('fieldset.danger-q');
    for (var i = 0; i < qs.length; i++) {
      if (qs[i].querySelector('input[type=radio]:checked')) continue;
      var u = qs[i].querySelector('input[type=radio][value=unknown]');
      if (u) u.checked = true;
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
