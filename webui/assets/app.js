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

  // Labels too small to read are not drawn (a 1000-node lab fitted in the
  // window): zooming in shows them.
  const cy = cytoscape({
    container: document.getElementById('graph'),
    minZoom: 0.02, maxZoom: 4, wheelSensitivity: 0.3,
    style: [
      { selector: 'node', style: { 'label': 'data(label)', 'font-size': 11, 'text-valign': 'bottom',
        'text-margin-y': 3, 'width': 26, 'height': 26, 'background-color': '#3d6fd8',
        'border-width': 3, 'border-color': '#147a3d', 'min-zoomed-font-size': 7 } },
      { selector: 'node.bridge', style: { 'shape': 'round-rectangle', 'width': 46, 'height': 18,
        'background-color': '#7b8496', 'border-width': 0 } },
      { selector: 'node.lab', style: { 'shape': 'round-rectangle', 'background-opacity': 0, 'border-width': 0,
        'width': 1, 'height': 1, 'font-size': 16, 'font-weight': 'bold', 'text-valign': 'top', 'events': 'no' } },
      { selector: 'node.down', style: { 'border-color': '#b3261e', 'background-color': '#c9ced8' } },
      { selector: 'edge', style: { 'width': 2, 'line-color': '#6b8f7a', 'curve-style': 'bezier',
        'label': 'data(label)', 'font-size': 9, 'color': '#596275', 'text-rotation': 'autorotate',
        'text-background-color': '#fff', 'text-background-opacity': 0.8, 'min-zoomed-font-size': 7 } },
      // A large lab's edges are straight lines: no bundling of parallel edges to compute.
      { selector: 'edge.big', style: { 'curve-style': 'haystack', 'haystack-radius': 0 } },
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

  // A lab above this many nodes is drawn the cheap way: straight edges and
  // a computed layout instead of a force-directed one.
  const bigLab = 60;

  function graphElements(lab) {
    const els = [];
    const L = lab.name;
    const edgeClass = lab.nodes.length > bigLab ? 'big' : '';
    for (const n of lab.nodes) els.push({ group: 'nodes', classes: 'node', data: { id: 'n:' + L + '/' + n.name, label: n.name, lab: L, name: n.name } });
    for (const b of lab.bridges) els.push({ group: 'nodes', classes: 'bridge', data: { id: 'b:' + L + '/' + b.name, label: b.name, lab: L } });
    for (const l of lab.links) {
      const a = 'n:' + L + '/' + l.a.split(':')[0];
      const b = l.bridge ? 'b:' + L + '/' + l.bridge : 'n:' + L + '/' + l.b.split(':')[0];
      els.push({ group: 'edges', classes: edgeClass, data: { id: 'e:' + L + '/' + l.a, source: a, target: b, label: '' } });
    }
    return els;
  }

  // applyGraph adds and removes what changed in one batch. A whole new
  // large lab comes with its positions (layoutBig), so that it is added,
  // styled and drawn once.
  function applyGraph() {
    const want = new Map();
    for (const lab of topo.labs) for (const el of graphElements(lab)) want.set(el.data.id, el);
    const added = [];
    let placed = new Set();
    cy.batch(() => {
      cy.elements().forEach((el) => { if (!want.has(el.id())) cy.remove(el); });
      for (const [id, el] of want) {
        if (cy.getElementById(id).empty()) added.push(id);
      }
      placed = placeBig(added.map((id) => want.get(id)));
      const nodes = added.filter((id) => want.get(id).group === 'nodes').map((id) => want.get(id));
      const edges = added.filter((id) => want.get(id).group === 'edges').map((id) => want.get(id));
      cy.add(nodes);
      cy.add(edges);
    });
    const rest = cy.collection(added.filter((id) => !placed.has(id)).map((id) => cy.getElementById(id))).nodes();
    if (rest.nonempty()) placeNew(rest);
    if (added.length) refit();
  }

  // rightEdge is where a new lab's band starts.
  function rightEdge() {
    let x0 = 0;
    cy.nodes().forEach((n) => { x0 = Math.max(x0, n.position('x') + 150); });
    return x0;
  }

  // placeBig gives positions to the elements of each large lab that is
  // wholly new, and returns their ids.
  function placeBig(els) {
    const placed = new Set();
    let x0 = null;
    for (const lab of topo.labs) {
      if (lab.nodes.length <= bigLab || cy.nodes().some((n) => n.data('lab') === lab.name)) continue;
      if (x0 === null) x0 = rightEdge();
      const pos = new Map();
      x0 = layoutBig(lab, x0, pos) + 200;
      for (const el of els) {
        const p = pos.get(el.data.id);
        if (p) {
          el.position = saved[el.data.id] || p;
          placed.add(el.data.id);
        }
      }
    }
    return placed;
  }

  // placeNew lays out the nodes that just appeared, but for large new labs
  // (placeBig): a whole new lab gets its own force-directed layout in a band
  // of its own; a node added to a lab goes next to its neighbours. Nodes the
  // user dragged keep their place for the session.
  function placeNew(newNodes) {
    let x0 = rightEdge();
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
  }

  // layoutLab places a small lab's nodes from x0 (force-directed) and
  // returns its right edge.
  function layoutLab(nodes, x0) {
    const count = nodes.length;
    const side = Math.max(300, Math.sqrt(count) * 110);
    const box = { x1: x0, y1: 0, w: side, h: side };
    // Start from a circle so the force layout is the same on every load.
    nodes.forEach((n, i) => {
      const a = (2 * Math.PI * i) / count;
      n.position({ x: x0 + side / 2 + (side / 2) * Math.cos(a), y: side / 2 + (side / 2) * Math.sin(a) });
    });
    const opts = { name: 'cose', animate: false, randomize: false, numIter: 400, fit: false, boundingBox: box, nodeRepulsion: () => 90000, idealEdgeLength: () => 70 };
    nodes.union(nodes.connectedEdges()).layout(opts).run();
    return x0 + side;
  }

  // layoutBig places a large lab from x0 (into pos, by element id) without
  // measuring anything: each bridge heads a square block of the nodes whose
  // first interface is on it, the other nodes form a block of their own,
  // and the blocks go in rows. The same lab gets the same picture on every
  // load. Returns the lab's right edge.
  function layoutBig(lab, x0, pos) {
    const L = lab.name, cell = 70;
    const groups = new Map(lab.bridges.map((b) => [b.name, []]));
    const loose = [];
    const home = new Map(); // node → its first bridge
    for (const l of lab.links) {
      const n = l.a.split(':')[0];
      if (l.bridge && !home.has(n)) home.set(n, l.bridge);
    }
    for (const n of lab.nodes) {
      const b = home.get(n.name);
      (b && groups.has(b) ? groups.get(b) : loose).push(n.name);
    }
    const blocks = [...groups].map(([b, ns]) => ({ bridge: b, nodes: ns }));
    if (loose.length) blocks.push({ bridge: null, nodes: loose });
    const perRow = Math.max(1, Math.ceil(Math.sqrt(blocks.length)));
    let x = x0, y = 0, rowH = 0, right = x0;
    blocks.forEach((blk, i) => {
      if (i > 0 && i % perRow === 0) { x = x0; y += rowH + 2 * cell; rowH = 0; }
      const cols = Math.max(1, Math.ceil(Math.sqrt(blk.nodes.length)));
      const w = cols * cell;
      let top = y;
      if (blk.bridge) {
        pos.set('b:' + L + '/' + blk.bridge, { x: x + w / 2, y: y });
        top += 1.5 * cell;
      }
      blk.nodes.forEach((name, k) => {
        pos.set('n:' + L + '/' + name, { x: x + (k % cols) * cell + cell / 2, y: top + Math.floor(k / cols) * cell });
      });
      rowH = Math.max(rowH, top - y + Math.ceil(blk.nodes.length / cols) * cell);
      x += w + 2 * cell;
      right = Math.max(right, x);
    });
    return right;
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
  let panelGen = 0; // which topology the panel shows

  // renderPanel lists every lab's nodes, then (after the next frame: they
  // are below them) its links. The lists are written as HTML, parsed at
  // once, and their buttons answered by one listener on the panel.
  function renderPanel() {
    const gen = ++panelGen;
    rows = new Map();
    labsEl.replaceChildren();
    if (topo.labs.length === 0) {
      labsEl.append(h('p', {}, only ? 'Lab ' + only + ' is not deployed.' : 'No lab is deployed.'));
    }
    const linkLists = [];
    for (const lab of topo.labs) {
      const [section, links] = labSection(lab);
      labsEl.append(section);
      linkLists.push([lab, links]);
    }
    afterFrame(() => {
      if (gen !== panelGen) return;
      for (const [lab, links] of linkLists) fillLinks(lab, links);
      applyStats(live);
    });
  }

  function afterFrame(f) { requestAnimationFrame(() => setTimeout(f)); }

  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');

  function labSection(lab) {
    const L = lab.name;
    const checksOut = h('div', { class: 'checks', 'aria-live': 'polite' });
    const title = h('h2', {}, 'Lab ' + L + ' ', h('span', { class: 'state ' + lab.phase }, lab.phase));
    if (lab.checks > 0) title.append(h('button', { type: 'button', onclick: () => runChecks(L, checksOut) }, 'Run checks'));
    const nodes = h('ul', { class: 'nodes' });
    nodes.innerHTML = lab.nodes.map((n) => '<li data-node="' + esc(L + '/' + n.name) + '"><span class="name">' + esc(n.name) +
      '</span>: <span class="state">…</span><button type="button" data-act="shell" data-lab="' + esc(L) + '" data-node-name="' + esc(n.name) +
      '" aria-label="Shell in ' + esc(n.name) + '">Shell</button></li>').join('');
    nodes.querySelectorAll('.state').forEach((state, i) => rows.set('n:' + L + '/' + lab.nodes[i].name, { state }));
    const links = h('ul', { class: 'links' });
    const section = h('section', { class: 'lab', 'data-lab': L }, title, checksOut,
      h('h3', {}, 'Nodes (' + lab.nodes.length + ')'), nodes,
      h('h3', {}, 'Links (' + lab.links.length + ')'), links);
    return [section, links];
  }

  function fillLinks(lab, ul) {
    const L = lab.name;
    ul.innerHTML = lab.links.map((l) => {
      const other = l.bridge ? 'bridge ' + l.bridge : l.b;
      const ends = L + '/' + l.a + (l.b ? ' ' + L + '/' + l.b : '');
      const act = (a, label, text) => '<button type="button" data-act="' + a + '" data-lab="' + esc(L) + '" data-target="' + esc(l.a) +
        '"' + (label ? ' aria-label="' + esc(label) + '"' : '') + '>' + text + '</button>';
      const q = new URLSearchParams({ lab: L, target: l.a, duration: '10s' });
      // The capture link downloads a 10-second pcapng capture of the interface.
      return '<li data-link="' + esc(L + '/' + l.a) + '" data-ends="' + esc(ends) + '"><span class="name">' + esc(l.a + ' — ' + other) +
        '</span>: <span class="state">…</span> <span class="netem"></span> <span class="rates"></span><br>' +
        act('down', 'Take ' + l.a + ' down', 'Down') + act('up', 'Bring ' + l.a + ' up', 'Up') + act('netem', '', 'Netem…') +
        '<a href="/api/capture?' + esc(q) + '" download="' + esc(L + '-' + l.a.replace(':', '-') + '.pcapng') +
        '" class="capture" aria-label="' + esc('Capture 10 seconds of ' + l.a + ' as pcapng') + '">Capture 10 s</a></li>';
    }).join('');
    ul.querySelectorAll(':scope > li').forEach((li, i) => {
      const [state, netem, rates] = li.querySelectorAll('.state, .netem, .rates');
      rows.set('e:' + L + '/' + lab.links[i].a, { state, netem, rates });
    });
  }

  // The panel's buttons: one listener for thousands of rows.
  labsEl.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const L = b.dataset.lab, target = b.dataset.target;
    switch (b.dataset.act) {
      case 'shell': openShell(L, b.dataset.nodeName); break;
      case 'down': setLink(L, target, false); break;
      case 'up': setLink(L, target, true); break;
      case 'netem': {
        const li = b.closest('li');
        let form = li.querySelector('form'); // made on first use
        if (!form) { form = netemForm(L, target); li.append(form); }
        form.hidden = !form.hidden;
        break;
      }
    }
  });

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

  // refit gives the graph the room the terminal leaves, and shows all of
  // it (zoomed in at most 1.2×). The box is taken from the nodes' positions
  // and a margin for their labels: cytoscape's own fit measures every
  // label's text, half a second at 1000 nodes.
  function refit() {
    cy.resize();
    if (cy.nodes().empty()) return;
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    cy.nodes().forEach((n) => {
      const p = n.position();
      x1 = Math.min(x1, p.x); x2 = Math.max(x2, p.x); y1 = Math.min(y1, p.y); y2 = Math.max(y2, p.y);
    });
    x1 -= 40; x2 += 40; y1 -= 30; y2 += 40; // node sizes and labels
    const pad = 40, w = cy.width(), h = cy.height();
    const zoom = Math.max(cy.minZoom(), Math.min(1.2, (w - 2 * pad) / (x2 - x1), (h - 2 * pad) / (y2 - y1)));
    cy.viewport({ zoom, pan: { x: (w - zoom * (x1 + x2)) / 2, y: (h - zoom * (y1 + y2)) / 2 } });
  }
  document.getElementById('term-close').addEventListener('click', () => { shellWanted = null; closeShell(); });
  window.addEventListener('resize', () => { if (fit) fit.fit(); });

  // xterm.js is loaded on the first terminal, not with the page.
  let xtermLoaded = null;
  function loadXterm() {
    const load = (src) => new Promise((resolve, reject) => {
      const el = document.createElement('script');
      el.src = src;
      el.onload = resolve;
      el.onerror = () => reject(new Error('cannot load ' + src));
      document.head.append(el);
    });
    if (!xtermLoaded) {
      xtermLoaded = load('/static/vendor/xterm/xterm.js').then(() => load('/static/vendor/xterm-addon-fit/addon-fit.js'));
      xtermLoaded.catch(() => { xtermLoaded = null; });
    }
    return xtermLoaded;
  }

  let shellWanted = null;
  function openShell(L, node) {
    const want = shellWanted = L + '/' + node;
    loadXterm().then(() => { if (shellWanted === want) startShell(L, node); }, (err) => {
      statusEl.textContent = 'error: ' + err.message;
      statusEl.classList.add('error');
    });
  }

  function startShell(L, node) {
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
        afterPaint('painted');
        document.body.dataset.labs = String(topo.labs.length);
      } else if (msg.type === 'stats') {
        if (mergeStats(msg)) applyStats(live);
        if (!timing.live) afterPaint('live');
        document.body.dataset.updated = String(msg.time);
      }
    };
  }

  // timing: when the script ran and the last topology came, was drawn and
  // listed, and when the frames after it (painted) and after the first live
  // state (live) were done (ms since navigation).
  const timing = { script: performance.now() };
  function afterPaint(what) {
    timing[what] = -1;
    requestAnimationFrame(() => setTimeout(() => { timing[what] = performance.now(); }));
  }
  window.leolab = { cy, openShell, terminal: () => term, timing };
  connect();
})();
