/**
 * Script of the HTML flame graph: hand-written vanilla JS, inlined so the
 * file needs no network. It reads the JSON in #flame-data (see flame-data.ts)
 * and draws one absolutely positioned DIV per frame, root at the bottom.
 * URL hash parameters: `search=<term>`, `regex=1`, `type=<index or name>`,
 * `zoom=<process;frame;...>` (names from below the root), so a view can be
 * shared as a link and tests can drive the page.
 */
export const FLAME_VIEWER_JS = String.raw`
(function () {
  'use strict';
  var ROW = 18;
  var data = JSON.parse(document.getElementById('flame-data').textContent);
  var chart = document.getElementById('chart');
  var tooltip = document.getElementById('tooltip');
  var details = document.getElementById('details');
  var typeSelect = document.getElementById('type');
  var searchBox = document.getElementById('search');
  var regexBox = document.getElementById('regex');
  var matchedOut = document.getElementById('matched');
  var KIND_LABELS = { root: 'root', process: 'process', native: 'native (user)', kernel: 'kernel',
    go: 'Go', jvm: 'JVM', v8js: 'JavaScript', cpython: 'Python' };

  function inflate(c, parent, depth) {
    var n = { name: data.names[c[0]], kind: data.kinds[c[1]], values: c[2], children: [], parent: parent, depth: depth };
    var kids = c[3] || [];
    for (var i = 0; i < kids.length; i++) n.children.push(inflate(kids[i], n, depth + 1));
    return n;
  }
  var root = inflate(data.root, null, 0);
  var state = { type: 0, zoom: root, matcher: null };
  var items = [];

  function hash(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) / 4294967295;
  }
  // Warm colours for user code and blue for the kernel, as FlameGraph's
  // palettes make kernel time stand out; the name hash varies the shade.
  function colour(kind, name) {
    var v = hash(name);
    switch (kind) {
      case 'root': return 'hsl(0,0%,72%)';
      case 'process': return 'hsl(40,18%,' + (70 + 8 * v) + '%)';
      case 'kernel': return 'hsl(' + (198 + 18 * v) + ',62%,' + (62 + 10 * v) + '%)';
      case 'go': return 'hsl(' + (168 + 14 * v) + ',48%,55%)';
      case 'jvm': return 'hsl(' + (95 + 20 * v) + ',50%,55%)';
      case 'v8js': return 'hsl(' + (55 + 8 * v) + ',70%,52%)';
      case 'cpython': return 'hsl(' + (255 + 15 * v) + ',50%,72%)';
      default: return 'hsl(' + Math.round(50 * v) + ',82%,' + (58 + 6 * hash(name + '#')) + '%)';
    }
  }

  // A differential graph (diff-html.ts): values hold NEW then BASE; the
  // colour is the change of a frame's share of the total, scaled to the
  // largest change so the most changed frame is the deepest red or blue.
  var diff = data.diff || null;
  var TYPES = data.types.length;
  var maxChange = 0;
  function change(n, t) {
    var nt = diff.newTotals[t] || 0, bt = diff.baseTotals[t] || 0;
    return (nt > 0 ? (n.values[t] || 0) / nt : 0) - (bt > 0 ? (n.values[TYPES + t] || 0) / bt : 0);
  }
  function largestChange(t) {
    var m = 0;
    (function walk(n) {
      m = Math.max(m, Math.abs(change(n, t)));
      for (var i = 0; i < n.children.length; i++) walk(n.children[i]);
    })(root);
    return m;
  }
  function diffColour(n) {
    var c = change(n, state.type), f = maxChange > 0 ? Math.min(1, Math.abs(c) / maxChange) : 0;
    var light = Math.round(96 - 46 * f);
    return c > 0 ? 'hsl(0,85%,' + light + '%)' : c < 0 ? 'hsl(220,85%,' + light + '%)' : 'hsl(0,0%,96%)';
  }

  function formatValue(v, t) {
    var type = data.types[t] || { type: 'value', unit: 'count' };
    var unit = type.unit;
    if (unit === 'nanoseconds') {
      if (v >= 1e9) return (v / 1e9).toFixed(2) + ' s';
      if (v >= 1e6) return (v / 1e6).toFixed(2) + ' ms';
      if (v >= 1e3) return (v / 1e3).toFixed(2) + ' \u00b5s';
      return v + ' ns';
    }
    if (unit === 'bytes') {
      var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      var i = 0;
      while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return (i === 0 ? v : v.toFixed(2)) + ' ' + units[i];
    }
    return v.toLocaleString('en-US') + ' ' + (unit === 'count' ? type.type : unit);
  }
  function pct(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(2) + '%' : '0%'; }

  function matches(n) { return state.matcher !== null && n.kind !== 'root' && state.matcher(n.name); }

  function render() {
    var t = state.type, zoom = state.zoom, total = zoom.values[t] || 0;
    items = [];
    chart.textContent = '';
    if (total <= 0) {
      chart.style.height = 'auto';
      var empty = document.createElement('div');
      empty.className = 'empty';
      empty.textContent = 'No samples for ' + typeName(t) + '.';
      chart.appendChild(empty);
      updateMatched();
      return;
    }
    // Frames narrower than a third of a pixel cannot be seen; skipping them
    // keeps the DOM small for big profiles.
    var minFrac = 1 / (3 * Math.max(chart.clientWidth, 300));
    for (var a = zoom.parent; a; a = a.parent) items.push({ node: a, x: 0, w: 1, dim: true });
    (function walk(n, x) {
      var w = (n.values[t] || 0) / total;
      if (w <= 0 || w < minFrac) return;
      items.push({ node: n, x: x, w: w, dim: false });
      for (var i = 0; i < n.children.length; i++) {
        walk(n.children[i], x);
        x += (n.children[i].values[t] || 0) / total;
      }
    })(zoom, 0);
    var maxDepth = 0;
    for (var i = 0; i < items.length; i++) maxDepth = Math.max(maxDepth, items[i].node.depth);
    chart.style.height = (maxDepth + 1) * ROW + 'px';
    var frag = document.createDocumentFragment();
    for (var j = 0; j < items.length; j++) {
      var it = items[j], n = it.node, div = document.createElement('div');
      div.className = 'frame k-' + n.kind + (it.dim ? ' dim' : '') + (matches(n) ? ' match' : '');
      div.style.left = (100 * it.x) + '%';
      div.style.width = (100 * it.w) + '%';
      div.style.top = (maxDepth - n.depth) * ROW + 'px';
      div.style.background = diff ? diffColour(n) : colour(n.kind, n.name);
      div.setAttribute('data-i', String(j));
      div.textContent = n.name;
      frag.appendChild(div);
    }
    chart.appendChild(frag);
    updateMatched();
    showDetails(null);
  }

  // Sums matched frames without counting a match nested under another
  // match twice, so the percentage never exceeds 100.
  function updateMatched() {
    if (state.matcher === null) { matchedOut.textContent = ''; return; }
    var t = state.type, sum = 0, count = 0;
    (function walk(n) {
      if (matches(n)) { sum += n.values[t] || 0; count++; return; }
      for (var i = 0; i < n.children.length; i++) walk(n.children[i]);
    })(root);
    matchedOut.textContent = 'Matched: ' + pct(sum, root.values[t] || 0) + ' (' + formatValue(sum, t) + ')';
    matchedOut.setAttribute('data-frames', String(count));
  }

  function typeName(t) { var ty = data.types[t]; return ty ? ty.type + ' (' + ty.unit + ')' : 'value'; }

  function describe(n) {
    var t = state.type, v = n.values[t] || 0, self = v;
    for (var i = 0; i < n.children.length; i++) self -= n.children[i].values[t] || 0;
    var text = formatValue(v, t) + ', ' + pct(v, root.values[t] || 0) + ' of total';
    if (state.zoom !== root) text += ', ' + pct(v, state.zoom.values[t] || 0) + ' of zoomed';
    if (diff) {
      var c = change(n, t);
      text += ' (BASE ' + formatValue(n.values[TYPES + t] || 0, t) + '; share ' + (c >= 0 ? '+' : '') + (100 * c).toFixed(2) + ' points)';
    }
    return { name: n.name, text: text, extra: (KIND_LABELS[n.kind] || n.kind) + ' \u00b7 self ' + formatValue(self, t) };
  }
  function showDetails(n) {
    if (n === null) {
      details.textContent = 'Total: ' + formatValue(root.values[state.type] || 0, state.type) +
        (state.zoom !== root ? ' \u00b7 zoomed into ' + state.zoom.name : '') + ' \u00b7 click a frame to zoom, Esc to reset';
      return;
    }
    var d = describe(n);
    details.textContent = d.name + ' \u2014 ' + d.text + ' \u00b7 ' + d.extra;
  }

  function itemOf(target) {
    var i = target && target.getAttribute ? target.getAttribute('data-i') : null;
    return i === null ? null : items[Number(i)] || null;
  }
  chart.addEventListener('mousemove', function (e) {
    var it = itemOf(e.target);
    if (!it) { tooltip.hidden = true; showDetails(null); return; }
    var d = describe(it.node);
    tooltip.textContent = '';
    var b = document.createElement('b');
    b.textContent = d.name;
    tooltip.appendChild(b);
    tooltip.appendChild(document.createTextNode(d.text));
    tooltip.appendChild(document.createElement('br'));
    tooltip.appendChild(document.createTextNode(d.extra));
    tooltip.hidden = false;
    var x = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 6);
    var y = e.clientY + 16 + tooltip.offsetHeight > window.innerHeight ? e.clientY - tooltip.offsetHeight - 8 : e.clientY + 16;
    tooltip.style.left = Math.max(0, x) + 'px';
    tooltip.style.top = Math.max(0, y) + 'px';
    showDetails(it.node);
  });
  chart.addEventListener('mouseleave', function () { tooltip.hidden = true; showDetails(null); });
  chart.addEventListener('click', function (e) {
    var it = itemOf(e.target);
    if (!it) return;
    setZoom(it.node === state.zoom ? (it.node.parent || root) : it.node);
  });
  document.getElementById('reset').addEventListener('click', function () { setZoom(root); });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && e.target !== searchBox) setZoom(root);
  });
  function setZoom(n) { state.zoom = n; render(); writeHash(); }
  function pathOf(n) {
    var names = [];
    for (; n && n.parent; n = n.parent) names.unshift(n.name);
    return names.join(';');
  }
  function nodeAt(path) {
    var n = root, parts = path ? path.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var next = null;
      for (var j = 0; j < n.children.length && next === null; j++) if (n.children[j].name === parts[i]) next = n.children[j];
      if (next === null) return root;
      n = next;
    }
    return n;
  }

  function setSearch(term, regex) {
    state.matcher = null;
    searchBox.classList.remove('bad');
    if (term) {
      if (regex) {
        try { var re = new RegExp(term); state.matcher = function (s) { return re.test(s); }; }
        catch (err) { searchBox.classList.add('bad'); matchedOut.textContent = 'Invalid regex'; }
      } else {
        state.matcher = function (s) { return s.indexOf(term) !== -1; };
      }
    }
    render();
  }
  function onSearchInput() { setSearch(searchBox.value, regexBox.checked); writeHash(); }
  // replaceState, not location.hash, so typing does not flood the history
  // or re-enter applyHash through hashchange.
  function writeHash() {
    var p = new URLSearchParams();
    if (searchBox.value) p.set('search', searchBox.value);
    if (regexBox.checked) p.set('regex', '1');
    if (state.type !== 0) p.set('type', String(state.type));
    if (state.zoom !== root) p.set('zoom', pathOf(state.zoom));
    history.replaceState(null, '', p.toString() ? '#' + p.toString() : location.pathname + location.search);
  }
  searchBox.addEventListener('input', onSearchInput);
  regexBox.addEventListener('change', onSearchInput);

  for (var ti = 0; ti < data.types.length; ti++) {
    var opt = document.createElement('option');
    opt.value = String(ti);
    opt.textContent = typeName(ti);
    typeSelect.appendChild(opt);
  }
  if (data.types.length < 2) document.getElementById('type-field').hidden = true;
  function setType(t) {
    state.type = t;
    typeSelect.value = String(t);
    if (diff) maxChange = largestChange(t);
    // A zoomed frame with nothing of the new type would draw an empty chart.
    if (!(state.zoom.values[t] > 0)) state.zoom = root;
  }
  typeSelect.addEventListener('change', function () { setType(Number(typeSelect.value)); onSearchInput(); });

  var KIND_ORDER = ['process', 'native', 'go', 'jvm', 'v8js', 'cpython', 'kernel'];
  var legend = document.getElementById('legend');
  (diff ? [] : KIND_ORDER).forEach(function (k) {
    if (data.kinds.indexOf(k) === -1) return;
    var span = document.createElement('span'), sw = document.createElement('span');
    sw.className = 'swatch';
    // A fixed mid-palette shade, since a hashed one may not look typical.
    sw.style.background = k === 'native' ? 'hsl(28,82%,60%)' : colour(k, 'legend');
    span.appendChild(sw);
    span.appendChild(document.createTextNode(KIND_LABELS[k] || k));
    legend.appendChild(span);
  });

  if (diff) {
    [['hsl(0,85%,50%)', 'share grew'], ['hsl(0,0%,96%)', 'unchanged'], ['hsl(220,85%,50%)', 'share shrank']].forEach(function (e) {
      var span = document.createElement('span'), sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = e[0];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(e[1]));
      legend.appendChild(span);
    });
  }

  function applyHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ''));
    var t = p.get('type'), ti = -1;
    if (t !== null) {
      ti = /^\d+$/.test(t) ? Number(t) : data.types.map(function (x) { return x.type; }).indexOf(t);
    }
    state.zoom = nodeAt(p.get('zoom') || '');
    setType(ti >= 0 && ti < data.types.length ? ti : 0);
    searchBox.value = p.get('search') || '';
    regexBox.checked = p.get('regex') === '1';
    setSearch(searchBox.value, regexBox.checked);
  }
  window.addEventListener('hashchange', applyHash);
  window.addEventListener('resize', function () { render(); });
  applyHash();
})();
`;
