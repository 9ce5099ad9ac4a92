// The gameauth operators' console: a page over the admin API beside it.
//
// Rules this file keeps:
//  - The operator's token lives in this tab's sessionStorage only and goes
//    out as "Authorization: Bearer" on each API call; no cookie is set.
//  - Every URL is relative, so the console works under any mount prefix.
//  - Text from the API (a player's nickname, device model, memo, a block's
//    reason) is put in the page with textContent and createElement, never
//    parsed as HTML. The server's Trusted Types policy makes innerHTML throw.
'use strict';

(() => {
  const TOKEN_KEY = 'gameauth.console.token';
  const PAGE = 50; // rows per page of search results and the audit log
  const PLAYER_EVENTS = 20; // audit events per page on a player's page

  const main = document.getElementById('main');
  const bar = document.getElementById('bar');
  const okNotice = document.getElementById('notice-ok');
  const errorNotice = document.getElementById('notice-error');

  // ---- DOM ------------------------------------------------------------

  // el builds an element: attrs are properties or attributes ("class",
  // "for", data-*, aria-*; on* are listeners); children are nodes or text,
  // text always as a text node.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'for') e.htmlFor = v;
      else if (k === 'text') e.textContent = v;
      else if (k in e && !k.includes('-')) e[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    append(e, ...children);
    return e;
  }

  function append(parent, ...children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return parent;
  }

  function field(id, label, input, hint) {
    input.id = id;
    const parts = [el('label', {for: id}, label), input];
    if (hint) {
      const hintID = id + '-hint';
      input.setAttribute('aria-describedby', hintID);
      parts.push(el('small', {id: hintID, class: 'hint'}, hint));
    }
    return el('div', {class: 'field'}, parts);
  }

  // table renders rows as a table whose cells carry their column's name, so
  // that on a phone each row stacks into a labelled card.
  function table(columns, rows, cls) {
    if (rows.length === 0) return null;
    return el('div', {class: 'table-wrap'},
      el('table', {class: cls || ''},
        el('thead', {}, el('tr', {}, columns.map((c) => el('th', {scope: 'col'}, c)))),
        el('tbody', {}, rows.map((cells) => el('tr', {},
          cells.map((c, i) => el('td', {'data-label': columns[i]}, c)))))));
  }

  function dl(pairs) {
    return el('dl', {class: 'facts'}, pairs.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }

  function empty(text) { return el('p', {class: 'empty'}, text); }

  function code(text) { return text ? el('code', {}, text) : dash(); }

  function dash() { return el('span', {class: 'muted'}, '—'); }

  function time(s) {
    if (!s) return dash();
    if (s === 'permanent') return 'permanent';
    return el('time', {dateTime: s}, s.replace('T', ' ').replace(/Z$/, ' UTC'));
  }

  function badge(text, kind) { return el('span', {class: 'badge ' + kind}, text); }

  // armed makes a button ask for a second click within a few seconds before
  // it acts: for actions that cannot be undone from here.
  function armed(label, confirmLabel, action, attrs) {
    let timer = 0;
    const b = el('button', Object.assign({type: 'button', class: 'danger'}, attrs), label);
    b.addEventListener('click', () => {
      if (!b.classList.contains('armed')) {
        b.classList.add('armed');
        b.textContent = confirmLabel;
        timer = setTimeout(() => { b.classList.remove('armed'); b.textContent = label; }, 4000);
        return;
      }
      clearTimeout(timer);
      b.disabled = true;
      action().finally(() => { b.disabled = false; });
    });
    return b;
  }

  // ---- Notices ----------------------------------------------------------

  function say(text) {
    errorNotice.hidden = true;
    okNotice.textContent = text;
    okNotice.hidden = false;
  }

  function refusal(err) {
    return err instanceof APIError ? err.code + ': ' + err.message : String(err && err.message || err);
  }

  function fail(err) {
    if (err instanceof APIError && err.status === 401) {
      signOut(refusal(err) + ' — sign in again.');
      return;
    }
    okNotice.hidden = true;
    errorNotice.textContent = refusal(err);
    errorNotice.hidden = false;
  }

  function clearNotices() { okNotice.hidden = true; errorNotice.hidden = true; }

  // ---- API --------------------------------------------------------------

  class APIError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // api calls the admin API at a path relative to the page, with the token.
  async function api(method, path, body) {
    const init = {
      method,
      headers: {Authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || ''), Accept: 'application/json'},
      credentials: 'omit',
      cache: 'no-store',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new APIError(0, 'NETWORK', 'the server could not be reached');
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      throw new APIError(res.status, (data && data.ErrorCode) || 'HTTP_' + res.status,
        (data && data.Message) || res.statusText || 'request failed');
    }
    return data;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  const seg = encodeURIComponent;

  // ---- Routing ------------------------------------------------------------

  // Views live in the fragment (#/players?q=…, #/player/ID, #/audit?…), so
  // the page URL stays the mount's root and Back works.
  let generation = 0;
  let lastSearch = '';

  function route() {
    const hash = location.hash.replace(/^#/, '') || '/players';
    const [path, qs] = hash.split('?', 2);
    const decode = (p) => { try { return decodeURIComponent(p); } catch (e) { return p; } }; // a hand-typed URL
    return {parts: path.split('/').filter(Boolean).map(decode), params: new URLSearchParams(qs || '')};
  }

  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }

  async function render(keepNotices) {
    const gen = ++generation;
    if (!keepNotices) clearNotices();
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      renderSignIn();
      return;
    }
    bar.hidden = false;
    const {parts, params} = route();
    const view = parts[0] || 'players';
    for (const a of bar.querySelectorAll('nav a')) {
      a.toggleAttribute('aria-current', a.id === 'nav-' + (view === 'player' ? 'players' : view));
    }
    const current = () => gen === generation;
    try {
      if (view === 'player' && parts[1]) await renderPlayer(parts[1], current);
      else if (view === 'audit') await renderAudit(params, current);
      else await renderSearch(params.get('q') || '', current);
    } catch (err) {
      if (current()) fail(err);
    }
  }

  function show(...nodes) {
    main.replaceChildren(...nodes.flat().filter(Boolean));
    const h = main.querySelector('h1');
    if (h) document.title = h.textContent + ' · gameauth console';
  }

  // ---- Sign-in ------------------------------------------------------------

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    renderSignIn(message);
  }

  function renderSignIn(message) {
    generation++;
    bar.hidden = true;
    clearNotices();
    document.title = 'Sign in · gameauth console';
    const error = el('p', {class: 'notice error', id: 'signin-error', role: 'alert', hidden: !message}, message || '');
    const token = el('input', {type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: false});
    const submit = el('button', {type: 'submit', id: 'signin-submit'}, 'Sign in');
    const form = el('form', {class: 'card signin', id: 'signin-form'},
      el('h1', {}, 'gameauth console'),
      el('p', {class: 'lede'}, 'Find players, see their sessions and blocks, and act on them.'),
      field('token', 'Operator token', token,
        'The server\'s admin token. It stays in this browser tab only and is sent with each request.'),
      error,
      submit);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      sessionStorage.setItem(TOKEN_KEY, token.value.trim());
      try {
        await api('GET', 'audit?limit=1'); // any authorized call tells a good token
        token.value = '';
        render();
      } catch (err) {
        sessionStorage.removeItem(TOKEN_KEY);
        error.textContent = err instanceof APIError && err.status === 401
          ? refusal(err) + ' — check the token and try again.'
          : refusal(err);
        error.hidden = false;
        submit.disabled = false;
        token.focus();
      }
    });
    show(form);
    token.focus();
  }

  // ---- Search -------------------------------------------------------------

  function playerLink(p) {
    return el('a', {href: '#/player/' + seg(p.UserUniqueID), class: 'player-link'},
      p.Nickname || '(no nickname)');
  }

  function signInMethod(linkedType, linkedID) {
    return el('span', {}, badge(linkedType || '?', 'neutral'), linkedID ? ' ' + linkedID : '');
  }

  async function renderSearch(q, current) {
    lastSearch = q;
    const input = el('input', {type: 'search', name: 'q', value: q, autocomplete: 'off', spellcheck: false,
      placeholder: 'UserUniqueID, OpenID, email, device ID or nickname'});
    const form = el('form', {class: 'search', id: 'search-form', role: 'search'},
      field('search-q', 'Find a player', input,
        'IDs, email and device ID match exactly; a nickname matches from its start, in any case.'),
      el('button', {type: 'submit'}, 'Search'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      go('#/players' + query({q: input.value.trim()}));
    });
    const results = el('section', {class: 'results', id: 'results', 'aria-live': 'polite'});
    show(el('h1', {}, 'Players'), el('div', {class: 'card'}, form), results);
    if (!q) {
      append(results, empty('Search for a player by any of their IDs, email, device ID or nickname.'));
      input.focus();
      return;
    }
    const columns = ['Nickname', 'Signs in with', 'UserUniqueID', 'Created'];
    const row = (p) => [playerLink(p), signInMethod(p.LinkedType, p.LinkedID), code(p.UserUniqueID), time(p.CreatedAt)];
    let rows = [];
    const more = async (cursor) => {
      const data = await api('GET', 'players' + query({q, cursor, limit: String(PAGE)}));
      if (!current()) return;
      rows = rows.concat(data.Players.map(row));
      const head = el('p', {class: 'count'}, rows.length === 1 ? '1 player' : rows.length + ' players',
        data.Cursor ? ' so far' : '', ' for “', q, '”');
      const next = data.Cursor
        ? el('button', {type: 'button', class: 'quiet', id: 'results-more',
          onclick: () => more(data.Cursor).catch(fail)}, 'More results')
        : null;
      results.replaceChildren(...[rows.length ? head : empty('No player matches “' + q + '”.'),
        table(columns, rows, 'results-table'), next].filter(Boolean));
    };
    await more('');
  }

  // ---- Player ---------------------------------------------------------------

  async function renderPlayer(id, current) {
    const rec = await api('GET', 'players/' + seg(id));
    if (!current()) return;
    const p = rec.Player;
    const playerBlocks = rec.Blocks.filter((b) => b.Kind === 'player' && b.InForce);
    const deviceBlocks = rec.Blocks.filter((b) => b.Kind === 'device' && b.InForce);
    const reload = (message) => { say(message); render(true); };
    const act = (method, path, body, message) => () =>
      api(method, path, body).then((r) => reload(typeof message === 'function' ? message(r) : message)).catch(fail);

    const back = el('a', {href: '#/players' + query({q: lastSearch}), class: 'back'}, '← Players');
    const title = el('h1', {id: 'player-nickname'}, p.Nickname || '(no nickname)');
    const badges = el('div', {class: 'badges'},
      playerBlocks.length ? badge('Blocked', 'bad') : badge('Not blocked', 'good'),
      deviceBlocks.length ? badge(deviceBlocks.length === 1 ? 'A device blocked' : deviceBlocks.length + ' devices blocked', 'bad') : null,
      rec.Withdrawal ? badge('Withdrawal pending', 'warn') : null);
    const actions = el('div', {class: 'actions'},
      armed('Revoke all sessions', 'Click again to revoke all', act('POST', 'players/' + seg(id) + '/revoke', undefined,
        'All sessions revoked: the player must sign in again.'), {id: 'revoke-all'}),
      playerBlocks.length
        ? armed('Unblock player', 'Click again to unblock', act('DELETE', 'players/' + seg(id) + '/block', undefined,
          'Player unblocked.'), {id: 'unblock-player'})
        : null,
      el('button', {type: 'button', class: 'quiet', id: 'export', onclick: () => exportPlayer(id)}, 'Export (JSON)'));

    const account = section('Account', dl([
      ['Nickname', p.Nickname || dash()],
      ['UserUniqueID', code(p.UserUniqueID)],
      ['OpenID', code(p.OpenID)],
      ['Signs in with', signInMethod(p.LinkedType, p.LinkedID)],
      ['Password', p.HasPassword ? 'set' : 'none'],
      ['Country', p.Country || dash()],
      ['Time zone', p.Timezone || dash()],
      ['Created', time(p.CreatedAt)],
      ['Updated', time(p.UpdatedAt)],
    ]));
    const money = (n, cur) => n ? n.toLocaleString('en', {maximumFractionDigits: 2}) + (cur ? ' ' + cur : '') : '0';
    const purchases = section('Purchases', dl([
      ['Purchases', String(p.PurchaseCount)],
      ['Total', money(p.PurchaseTotalPrice, p.PurchaseCurrencyCode)],
      ['Voided', String(p.PurchaseVoidedCount)],
      ['Voided total', money(p.PurchaseVoidedTotalPrice, p.PurchaseVoidedCurrencyCode)],
    ]));
    const identities = section('Identities', table(['Provider', 'ID', 'Linked'],
      rec.Identities.map((i) => [badge(i.LinkedType, 'neutral'), code(i.LinkedID), time(i.LinkedAt)]))
      || empty('No linked identity.'));

    const form = blockForm(id, rec, reload);
    const sessions = section('Sessions and devices', table(
      ['Device', 'Model', 'Platform', 'Address', 'Signed in', 'Refreshed', 'Expires', 'State', ''],
      rec.Sessions.map((s) => [
        code(s.DeviceID), s.DeviceModel || dash(), s.Platform || dash(), s.ClientAddr || dash(),
        time(s.CreatedAt), time(s.RefreshedAt), time(s.ExpiresAt),
        badge(s.State, s.State === 'live' ? 'good' : 'neutral'),
        el('div', {class: 'row-actions'},
          s.State === 'live'
            ? el('button', {type: 'button', class: 'small', 'data-session': s.SessionID,
              onclick: act('POST', 'sessions/' + seg(s.SessionID) + '/revoke', undefined, 'Session revoked.')}, 'Revoke')
            : null,
          el('button', {type: 'button', class: 'small quiet', 'data-block-device': s.DeviceID,
            onclick: () => form.target('device:' + s.DeviceID)},
            'Block device')),
      ]), 'sessions-table') || empty('No session.'));

    const blocks = section('Blocks', table(['Kind', 'Subject', 'Reason', 'Services', 'Since', 'Until', 'Lifted', ''],
      rec.Blocks.map((b) => [
        badge(b.Kind, 'neutral'), code(b.Subject), b.Reason || dash(),
        b.Services.length ? b.Services.join(', ') : 'all', time(b.CreatedAt), time(b.Until), time(b.LiftedAt),
        b.InForce
          ? (b.Kind === 'device'
            ? el('button', {type: 'button', class: 'small', 'data-device': b.Subject,
              onclick: act('DELETE', 'devices/' + seg(b.Subject) + '/block', undefined, 'Device unblocked.')}, 'Unblock')
            : badge('in force', 'bad'))
          : badge('ended', 'neutral'),
      ]), 'blocks-table') || empty('Never blocked.'), form.node);

    const withdrawal = section('Withdrawal', rec.Withdrawal
      ? [dl([['Requested', time(rec.Withdrawal.RequestedAt)], ['Deleted after', time(rec.Withdrawal.Deadline)],
        ['Memo', rec.Withdrawal.Memo || dash()]]),
      el('button', {type: 'button', id: 'restore', onclick: act('POST', 'players/' + seg(id) + '/restore', undefined,
        'Withdrawal ended: the account is restored.')}, 'Restore account')]
      : empty('No withdrawal pending.'));

    const events = section('Audit events', el('div', {id: 'player-events'}),
      el('a', {href: '#/audit' + query({player: id})}, 'Open in the audit log →'));

    show(back, el('div', {class: 'title'}, title, badges), actions,
      el('div', {class: 'grid'}, account, el('div', {class: 'stack'}, purchases, withdrawal), identities),
      sessions, blocks, events);
    await eventPages(events.querySelector('#player-events'), {player: id}, PLAYER_EVENTS, current, false);
  }

  function section(title, ...body) {
    const id = 'section-' + title.toLowerCase().replace(/[^a-z]+/g, '-');
    return el('section', {class: 'card', 'aria-labelledby': id}, el('h2', {id}, title), body);
  }

  async function exportPlayer(id) {
    try {
      const data = await api('GET', 'players/' + seg(id) + '/export');
      const blob = new Blob([JSON.stringify(data, null, 2)], {type: 'application/json'});
      const a = el('a', {href: URL.createObjectURL(blob), download: 'player-' + id.replace(/[^\w-]/g, '') + '.json'});
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      say('Export downloaded.');
    } catch (err) {
      fail(err);
    }
  }

  // blockForm is the form that blocks the player or one of their devices.
  function blockForm(id, rec, reload) {
    const devices = [...new Map(rec.Sessions.map((s) => [s.DeviceID, s])).values()];
    const target = el('select', {name: 'target'},
      el('option', {value: 'player'}, 'This player'),
      devices.map((s) => el('option', {value: 'device:' + s.DeviceID},
        'Device ' + s.DeviceID + (s.DeviceModel ? ' (' + s.DeviceModel + ')' : ''))));
    const reason = el('input', {type: 'text', name: 'reason', required: true, maxLength: 500, autocomplete: 'off'});
    const permanent = el('input', {type: 'radio', name: 'ends', value: 'permanent', id: 'block-permanent', checked: true});
    const until = el('input', {type: 'radio', name: 'ends', value: 'until', id: 'block-until-on'});
    const date = el('input', {type: 'datetime-local', name: 'until', id: 'block-until', step: 60,
      'aria-label': 'Ends at (UTC)', oninput: () => { until.checked = true; }});
    const services = el('input', {type: 'text', name: 'services', autocomplete: 'off', spellcheck: false,
      placeholder: 'e.g. chat, ranking'});
    const error = el('p', {class: 'notice error', id: 'block-error', role: 'alert', hidden: true});
    const submit = el('button', {type: 'submit', class: 'danger', id: 'block-submit'}, 'Block');
    const node = el('form', {class: 'block-form', id: 'block-form'},
      el('h3', {}, 'Block'),
      el('div', {class: 'fields'},
        field('block-target', 'Who', target),
        field('block-reason', 'Reason', reason, 'Shown to the player with the refusal.'),
        el('fieldset', {class: 'field'},
          el('legend', {}, 'Ends'),
          el('div', {class: 'choices'},
            el('label', {class: 'choice', for: 'block-permanent'}, permanent, 'Never (permanent)'),
            el('label', {class: 'choice', for: 'block-until-on'}, until, 'At (UTC)'),
            date)),
        field('block-services', 'Services', services, 'Comma-separated; empty blocks everything.')),
      error, submit);
    // refuse shows why the form was not sent, and puts the cursor where
    // the mistake is. The API refuses the same mistakes; the form says so
    // first, in words, and never sends a field the API does not take.
    const refuse = (message, input) => {
      error.textContent = message;
      error.hidden = false;
      input.focus();
    };
    node.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      const body = {reason: reason.value.trim()};
      if (!body.reason) {
        refuse('Give a reason: the player is shown it.', reason);
        return;
      }
      if (until.checked) {
        if (!date.value) {
          refuse('Pick when the block ends, or make it permanent.', date);
          return;
        }
        body.until = (date.value.length === 16 ? date.value + ':00' : date.value) + 'Z';
      }
      // An empty field blocks everything; a service left blank between
      // commas is a mistake to point out, not to drop: dropped, a list of
      // blanks would have blocked everything too.
      if (services.value.trim()) {
        const svc = services.value.split(',').map((s) => s.trim());
        if (svc.includes('')) {
          refuse('A service name is empty: remove the extra comma, or clear the field to block everything.', services);
          return;
        }
        const twice = svc.find((s, i) => svc.indexOf(s) !== i);
        if (twice !== undefined) {
          refuse('Service ' + twice + ' is listed twice.', services);
          return;
        }
        body.services = svc;
      }
      const dev = target.value.startsWith('device:') ? target.value.slice('device:'.length) : '';
      const path = dev ? 'devices/' + seg(dev) + '/block' : 'players/' + seg(id) + '/block';
      submit.disabled = true;
      try {
        const r = await api('POST', path, body);
        reload((dev ? 'Device ' + dev : 'Player') + ' blocked (block key ' + r.BlockKey + ').');
      } catch (err) {
        if (err instanceof APIError && err.status === 401) {
          fail(err);
          return;
        }
        error.textContent = refusal(err);
        error.hidden = false;
        submit.disabled = false;
      }
    });
    return {
      node,
      target(value) {
        target.value = value;
        node.scrollIntoView({behavior: 'smooth', block: 'start'});
        reason.focus({preventScroll: true});
      },
    };
  }

  // ---- Audit log ------------------------------------------------------------

  const eventColumns = ['Time', 'Kind', 'Player', 'Session', 'Device', 'Address', 'Operator', 'Reason'];

  function eventRow(e) {
    return [time(e.Time), badge(e.Kind, e.Kind.startsWith('block') || e.Kind.endsWith('failed') || e.Kind.endsWith('reused') ? 'warn' : 'neutral'),
      e.PlayerID ? el('a', {href: '#/player/' + seg(e.PlayerID)}, el('code', {}, e.PlayerID)) : dash(),
      code(e.SessionID), code(e.DeviceID), e.ClientAddr || dash(), e.Operator || dash(), e.Reason || dash()];
  }

  // eventPages shows the audit events matching filter in box, newest first,
  // a page at a time: with pager, Newer/Older buttons; without, More.
  async function eventPages(box, filter, limit, current, pager) {
    const cursors = ['']; // the cursor of each page seen, for Newer
    let rows = [];
    const load = async (page) => {
      const data = await api('GET', 'audit' + query(Object.assign({}, filter, {cursor: cursors[page], limit: String(limit)})));
      if (!current()) return;
      cursors[page + 1] = data.Cursor;
      rows = pager ? data.Events.map(eventRow) : rows.concat(data.Events.map(eventRow));
      const nav = el('div', {class: 'pager'},
        pager && page > 0
          ? el('button', {type: 'button', class: 'quiet', id: 'audit-newer', onclick: () => load(page - 1).catch(fail)}, '← Newer')
          : null,
        pager ? el('span', {class: 'muted', id: 'audit-page'}, 'Page ' + (page + 1)) : null,
        data.Cursor
          ? el('button', {type: 'button', class: 'quiet', id: pager ? 'audit-older' : 'events-more',
            onclick: () => load(page + 1).catch(fail)}, pager ? 'Older →' : 'More')
          : null);
      box.replaceChildren(...[table(eventColumns, rows, 'events-table') || empty('No event.'),
        nav.childElementCount ? nav : null].filter(Boolean));
    };
    await load(0);
  }

  let kindsCache = null;
  async function kinds() {
    if (!kindsCache) {
      const res = await fetch('console/kinds.json', {credentials: 'omit'});
      kindsCache = res.ok ? await res.json() : [];
    }
    return kindsCache;
  }

  async function renderAudit(params, current) {
    const filter = {player: params.get('player') || '', kind: params.get('kind') || '', since: params.get('since') || ''};
    const player = el('input', {type: 'text', name: 'player', value: filter.player, autocomplete: 'off', spellcheck: false,
      placeholder: 'UserUniqueID'});
    const kind = el('select', {name: 'kind'}, el('option', {value: ''}, 'Any'),
      (await kinds()).map((k) => el('option', {value: k, selected: k === filter.kind}, k)));
    if (!current()) return;
    const since = el('input', {type: 'datetime-local', name: 'since', step: 1,
      value: filter.since.replace(/Z$/, '')});
    const form = el('form', {class: 'filters', id: 'audit-form'},
      field('audit-player', 'Player', player),
      field('audit-kind', 'Kind', kind),
      field('audit-since', 'Since (UTC)', since),
      el('div', {class: 'field buttons'},
        el('button', {type: 'submit'}, 'Filter'),
        el('a', {href: '#/audit', class: 'button quiet'}, 'Clear')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const s = since.value ? (since.value.length === 16 ? since.value + ':00' : since.value) + 'Z' : '';
      go('#/audit' + query({player: player.value.trim(), kind: kind.value, since: s}));
    });
    const box = el('div', {id: 'audit-events'});
    show(el('h1', {}, 'Audit log'), el('div', {class: 'card'}, form), el('section', {class: 'card'}, box));
    await eventPages(box, filter, PAGE, current, true);
  }

  // ---- Start ----------------------------------------------------------------

  document.getElementById('signout').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', () => render());
  render();
})();
