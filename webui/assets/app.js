// leolab ui: the live page. Data comes from /api/events (server-sent
// events): a "topology" message when the labs change, a "stats" message
// every second. The graph is drawn with cytoscape.js; the side panel holds
// the same facts as text (for screen readers, keyboards and tests).
(function () {
  'use strict';

  const only = new URLSearchParams(location.search).get('lab') || '';
  const statusEl = document.getElementById('status');
  const labsEl = document.getElementById('labs');
  const posKey = 'leolab.positions';
  const saved = JSON.parse(sessionStorage.getItem(posKey) || '{}');
  let topo = { labs: [] };

  const cy = cytoscape({
    container: document.getElementById('graph'),
    minZoom: 0.02, maxZoom: 4, wheelSensitivity: 0.3,
    style: [
      { selector: 'node', style: { 'label': 'data(label)', 'font-size': 11, 'text-valign': 'bottom',
        'text-margin-y': 3, 'width': 26, 'height': 26, 'background-color': '#3d6fd8',
        'border-width': 3, 'border-color': '#147a3d' } },
      { selector: 'node.bridge', style: { 'shape': 'round-rectangle', 'width': 46, 'height': 18,
        'background-color': '#7b8496', 'border-width': 0 } },
      { selector: 'node.lab', style: { 'shape': 'round-rectangle', 'background-opacity': 0, 'border-width': 0,
        'width': 1, 'height': 1, 'font-size': 16, 'font-weight': 'bold', 'text-valign': 'top', 'events': 'no' } },
      { selector: 'node.down', style: { 'border-color': '#b3261e', 'background-color': '#c9ced8' } },
      { selector: 'edge', style: { 'width': 2, 'line-color': '#6b8f7a', 'curve-style': 'bezier',
        'label': 'data(label)', 'font-size': 9, 'color': '#596275', 'text-rotation': 'autorotate',
        'text-background-color': '#fff', 'text-background-opacity': 0.8 } },
      { selector: 'edge.down', style: { 'line-color': '#b3261e', 'line-style': 'dashed' } },
      { selector: 'edge.netem', style: { 'line-color': '#c77c02' } },
    ],
  });
  cy.on('dragfree', 'node', (e) => {
    saved[e.target.id()] = e.target.position();
    sessionStorage.setItem(posKey, JSON.stringify(saved));
  });
  cy.on('dbltap', 'node.node', (e) => openShell(e.target.data('lab'), e.target.data('name')));

  // ---- graph -------------------------------------------------------------

  function graphElements(lab) {
    const els = [];
    const L = lab.name;
    for (const n of lab.nodes) els.push({ group: 'nodes', classes: 'node', data: { id: 'n:' + L + '/' + n.name, label: n.name, lab: L, name: n.name } });
    for (const b of lab.bridges) els.push({ group: 'nodes', classes: 'bridge', data: { id: 'b:' + L + '/' + b.name, label: b.name, lab: L } });
    for (const l of lab.links) {
      const a = 'n:' + L + '/' + l.a.split(':')[0];
      const b = l.bridge ? 'b:' + L + '/' + l.bridge : 'n:' + L + '/' + l.b.split(':')[0];
      els.push({ group: 'edges', data: { id: 'e:' + L + '/' + l.a, source: a, target: b, label: '' } });
    }
    return els;
  }

  function applyGraph() {
    const want = new Map();
    for (const lab of topo.labs) for (const el of graphElements(lab)) want.set(el.data.id, el);
    const added = [];
    cy.batch(() => {
      cy.elements().forEach((el) => { if (!want.has(el.id())) cy.remove(el); });
      for (const [id, el] of want) {
        if (cy.getElementById(id).empty()) added.push(id);
      }
      const nodes = added.filter((id) => want.get(id).group === 'nodes').map((id) => want.get(id));
      const edges = added.filter((id) => want.get(id).group === 'edges').map((id) => want.get(id));
      cy.add(nodes);
      cy.add(edges);
    });
    const newNodes = cy.collection(added.map((id) => cy.getElementById(id))).nodes();
    if (newNodes.nonempty()) placeNew(newNodes);
  }

  // placeNew lays out the nodes that just appeared: a whole new lab gets
  // its own layout (force-directed when small, a grid when large) in a band
  // of its own; a node added to a lab goes next to its neighbours. Nodes the
  // user dragged keep their place for the session.
  function placeNew(newNodes) {
    let x0 = 0;
    cy.nodes().difference(newNodes).forEach((n) => { x0 = Math.max(x0, n.position('x') + 150); });
    for (const lab of topo.labs) {
      const mine = newNodes.filter((n) => n.data('lab') === lab.name);
      if (mine.empty()) continue;
      const whole = cy.nodes().filter((n) => n.data('lab') === lab.name);
      if (mine.length === whole.length) {
        x0 = layoutLab(whole, x0) + 200;
      } else {
        mine.forEach((n) => {
          const nb = n.neighborhood('node').difference(mine);
          const p = nb.nonempty() ? nb[0].position() : { x: x0, y: 0 };
          n.position({ x: p.x + 60, y: p.y + 60 });
        });
      }
    }
    newNodes.forEach((n) => { if (saved[n.id()]) n.position(saved[n.id()]); });
    refit();
  }

  // layoutLab places one lab's nodes from x0 and returns its right edge.
  function layoutLab(nodes, x0) {
    const count = nodes.length;
    const side = Math.max(300, Math.sqrt(count) * 110);
    const box = { x1: x0, y1: 0, w: side, h: side };
    // Start from a circle so the force layout is the same on every load.
    nodes.forEach((n, i) => {
      const a = (2 * Math.PI * i) / count;
      n.position({ x: x0 + side / 2 + (side / 2) * Math.cos(a), y: side / 2 + (side / 2) * Math.sin(a) });
    });
    const opts = count <= 60
      ? { name: 'cose', animate: false, randomize: false, numIter: 400, fit: false, boundingBox: box, nodeRepulsion: () => 90000, idealEdgeLength: () => 70 }
      : { name: 'grid', animate: false, fit: false, boundingBox: box, avoidOverlap: true };
    nodes.union(nodes.connectedEdges()).layout(opts).run();
    return x0 + side;
  }

  // ---- panel -------------------------------------------------------------

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v);
    }
    for (const kid of kids) el.append(kid);
    return el;
  }

  // rows finds the panel's state elements by key without searching the
  // document on every update (a 1000-node lab has thousands of rows).
  let rows = new Map();

  function renderPanel() {
    rows = new Map();
    labsEl.replaceChildren();
    if (topo.labs.length === 0) {
      labsEl.append(h('p', {}, only ? 'Lab ' + only + ' is not deployed.' : 'No lab is deployed.'));
    }
    for (const lab of topo.labs) labsEl.append(labSection(lab));
  }

  function labSection(lab) {
    const L = lab.name;
    const checksOut = h('div', { class: 'checks', 'aria-live': 'polite' });
    const title = h('h2', {}, 'Lab ' + L + ' ', h('span', { class: 'state ' + lab.phase }, lab.phase));
    if (lab.checks > 0) title.append(h('button', { type: 'button', onclick: () => runChecks(L, checksOut) }, 'Run checks'));
    const nodes = h('ul', { class: 'nodes' });
    for (const n of lab.nodes) {
      const state = h('span', { class: 'state' }, '…');
      rows.set('n:' + L + '/' + n.name, { state });
      nodes.append(h('li', { 'data-node': L + '/' + n.name },
        h('span', { class: 'name' }, n.name), ': ', state,
        h('button', { type: 'button', onclick: () => openShell(L, n.name), 'aria-label': 'Shell in ' + n.name }, 'Shell')));
    }
    const links = h('ul', { class: 'links' });
    for (const l of lab.links) links.append(linkItem(L, l));
    return h('section', { class: 'lab', 'data-lab': L }, title, checksOut,
      h('h3', {}, 'Nodes (' + lab.nodes.length + ')'), nodes,
      h('h3', {}, 'Links (' + lab.links.length + ')'), links);
  }

  function linkItem(L, l) {
    const other = l.bridge ? 'bridge ' + l.bridge : l.b;
    const ends = L + '/' + l.a + (l.b ? ' ' + L + '/' + l.b : '');
    const row = { state: h('span', { class: 'state' }, '…'), netem: h('span', { class: 'netem' }), rates: h('span', { class: 'rates' }) };
    rows.set('e:' + L + '/' + l.a, row);
    let form = null; // made on first use: a large lab has a row per link
    const li = h('li', { 'data-link': L + '/' + l.a, 'data-ends': ends },
      h('span', { class: 'name' }, l.a + ' — ' + other), ': ', row.state, ' ', row.netem, ' ', row.rates, h('br'),
      h('button', { type: 'button', onclick: () => setLink(L, l.a, false), 'aria-label': 'Take ' + l.a + ' down' }, 'Down'),
      h('button', { type: 'button', onclick: () => setLink(L, l.a, true), 'aria-label': 'Bring ' + l.a + ' up' }, 'Up'),
      h('button', { type: 'button', onclick: () => {
        if (!form) { form = netemForm(L, l.a); li.append(form); }
        form.hidden = !form.hidden;
      } }, 'Netem…'),
      captureButton(L, l.a));
    return li;
  }

  function netemForm(L, target) {
    const f = {};
    const input = (k, ph) => (f[k] = h('input', { name: k, placeholder: ph, 'aria-label': k }));
    const form = h('form', { class: 'netem-form' }, ' ', input('delay', '20ms'), input('jitter', '2ms'),
      input('loss', '1%'), input('rate', '10mbit'),
      h('button', { type: 'submit' }, 'Set'),
      h('button', { type: 'button', onclick: () => post('/api/netem', { lab: L, target, clear: true }) }, 'Clear'));
    form.hidden = true; // the caller shows it
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      post('/api/netem', { lab: L, target, delay: f.delay.value, jitter: f.jitter.value, loss: f.loss.value, rate: f.rate.value });
    });
    return form;
  }

  // captureButton downloads a 10-second pcapng capture of the interface.
  function captureButton(L, target) {
    const q = new URLSearchParams({ lab: L, target, duration: '10s' });
    return h('a', { href: '/api/capture?' + q, download: L + '-' + target.replace(':', '-') + '.pcapng',
      class: 'capture', 'aria-label': 'Capture 10 seconds of ' + target + ' as pcapng' }, 'Capture 10 s');
  }

  // ---- live state ----------------------------------------------------------

  function fmtRate(bps, pps) {
    const u = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
    let i = 0;
    while (bps >= 1000 && i < u.length - 1) { bps /= 1000; i++; }
    return (i ? bps.toFixed(1) : Math.round(bps)) + ' ' + u[i] + ' ' + Math.round(pps) + ' pkt/s';
  }

  function setText(el, text, cls) {
    if (el.textContent !== text) el.textContent = text;
    if (cls !== undefined && el.dataset.cls !== cls) {
      if (el.dataset.cls) el.classList.remove(el.dataset.cls);
      if (cls) el.classList.add(cls);
      el.dataset.cls = cls;
    }
  }

  function linkState(ls, l) {
    const a = ls.ifaces[l.a];
    const b = l.b ? ls.ifaces[l.b] : null;
    if (!a || (l.b && !b)) return 'unknown';
    return a.up && (!b || b.up) ? 'up' : 'down';
  }

  // live is the whole live state; the server sends it whole with each
  // topology, then only what changed.
  let live = { labs: {} };

  function mergeStats(msg) {
    if (msg.full) live = { labs: {} };
    let changed = msg.full;
    for (const [L, ls] of Object.entries(msg.labs || {})) {
      const cur = live.labs[L] || (live.labs[L] = { nodes: {}, ifaces: {} });
      for (const [k, v] of Object.entries(ls.nodes || {})) { cur.nodes[k] = v; changed = true; }
      for (const [k, v] of Object.entries(ls.ifaces || {})) { cur.ifaces[k] = v; changed = true; }
    }
    return changed;
  }

  function applyStats(msg) {
    cy.batch(() => {
      for (const lab of topo.labs) {
        const ls = msg.labs[lab.name];
        if (!ls) continue;
        for (const n of lab.nodes) {
          const st = ls.nodes[n.name] || 'missing';
          const row = rows.get('n:' + lab.name + '/' + n.name);
          if (row) setText(row.state, st, st);
          const g = cy.getElementById('n:' + lab.name + '/' + n.name);
          if (g.hasClass('down') !== (st !== 'running')) g.toggleClass('down', st !== 'running');
        }
        for (const l of lab.links) {
          const st = linkState(ls, l);
          const a = ls.ifaces[l.a] || {};
          const rates = a.rxBytes === undefined ? '' : 'rx ' + fmtRate(a.rxBps, a.rxPps) + ', tx ' + fmtRate(a.txBps, a.txPps);
          const row = rows.get('e:' + lab.name + '/' + l.a);
          if (row) {
            setText(row.state, st, st);
            setText(row.netem, a.netem || '');
            setText(row.rates, rates);
          }
          const e = cy.getElementById('e:' + lab.name + '/' + l.a);
          if (e.hasClass('down') !== (st === 'down')) e.toggleClass('down', st === 'down');
          if (e.hasClass('netem') !== !!a.netem) e.toggleClass('netem', !!a.netem);
          const label = st === 'down' ? 'down' : (a.netem || '') + (a.rxBps + a.txBps >= 1 ? ' ' + fmtRate(a.rxBps + a.txBps, a.rxPps + a.txPps) : '');
          if (e.data('label') !== label) e.data('label', label);
        }
      }
    });
  }

  // ---- actions -------------------------------------------------------------

  async function post(url, body) {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const j = await r.json();
      if (!r.ok) throw new Error(j.error || r.statusText);
      return j;
    } catch (err) {
      statusEl.textContent = 'error: ' + err.message;
      statusEl.classList.add('error');
      throw err;
    }
  }

  function setLink(L, target, up) { post('/api/link', { lab: L, target, up }).catch(() => {}); }

  async function runChecks(L, out) {
    out.replaceChildren(h('p', {}, 'running checks…'));
    try {
      const res = await post('/api/check', { lab: L });
      const table = h('table', {}, h('caption', {}, res.passed ? 'all checks passed' : 'some checks failed'));
      for (const r of res.results) {
        table.append(h('tr', {}, h('td', { class: r.ok ? 'pass' : 'fail' }, r.ok ? 'PASS' : 'FAIL'),
          h('td', {}, r.name), h('td', {}, r.ok ? '' : r.detail)));
      }
      out.replaceChildren(table);
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, err.message));
    }
  }

  // ---- terminal ------------------------------------------------------------

  const termBox = document.getElementById('term-box');
  let term = null, sock = null, fit = null;

  function closeShell() {
    if (sock) sock.close();
    if (term) term.dispose();
    term = sock = null;
    termBox.hidden = true;
    refit();
  }

  // refit gives the graph the room the terminal leaves.
  function refit() {
    cy.resize();
    cy.fit(undefined, 40);
    if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }
  }
  document.getElementById('term-close').addEventListener('click', closeShell);
  window.addEventListener('resize', () => { if (fit) fit.fit(); });

  function openShell(L, node) {
    closeShell();
    termBox.hidden = false;
    refit();
    termBox.dataset.node = L + '/' + node;
    document.getElementById('term-title').textContent = 'shell in ' + L + '/' + node;
    term = new Terminal({ fontSize: 13, cursorBlink: true });
    fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(document.getElementById('term'));
    fit.fit();
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ lab: L, node, rows: term.rows, cols: term.cols });
    const ws = new WebSocket(proto + '//' + location.host + '/api/term?' + q);
    ws.binaryType = 'arraybuffer';
    sock = ws;
    const t = term;
    const enc = new TextEncoder();
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        const m = JSON.parse(e.data);
        t.write(m.error ? '\r\n[' + m.error + ']\r\n' : '\r\n[exited with status ' + m.exit + ']\r\n');
      } else {
        t.write(new Uint8Array(e.data));
      }
    };
    ws.onclose = () => { if (sock === ws) t.write('\r\n[connection closed]\r\n'); };
    t.onData((d) => { if (ws.readyState === 1) ws.send(enc.encode(d)); });
    t.onResize(({ rows, cols }) => { if (ws.readyState === 1) ws.send(JSON.stringify({ rows, cols })); });
    t.focus();
  }

  // ---- stream --------------------------------------------------------------

  function connect() {
    const es = new EventSource('/api/events' + (only ? '?lab=' + encodeURIComponent(only) : ''));
    es.onopen = () => { statusEl.textContent = 'live'; statusEl.classList.remove('error'); };
    es.onerror = () => { statusEl.textContent = 'disconnected, retrying…'; };
    es.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === 'topology') {
        const t0 = performance.now();
        topo = msg;
        applyGraph();
        const t1 = performance.now();
        renderPanel();
        timing.topology = [t0, t1, performance.now()];
        document.body.dataset.labs = String(topo.labs.length);
      } else if (msg.type === 'stats') {
        if (mergeStats(msg)) applyStats(live);
        document.body.dataset.updated = String(msg.time);
      }
    };
  }

  // timing: when the script ran and the last topology came, was drawn and listed (ms since navigation).
  const timing = { script: performance.now() };
  window.leolab = { cy, openShell, terminal: () => term, timing };
  connect();
})();
