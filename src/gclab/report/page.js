// gclab heap report: renders the embedded report model (see gclab/report/model.py).
// Vanilla JavaScript, no network. Every text from the heap goes through textContent.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("gclab-data").textContent);
  const S = D.summary;

  // -- helpers -----------------------------------------------------------------------------
  function el(tag, attrs, kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "text") node.textContent = v;
      else if (k === "cls") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const kid of kids || []) {
      if (kid === null || kid === undefined) continue;
      node.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
    }
    return node;
  }
  const int = (n) => (n === null || n === undefined) ? "–" : Number(n).toLocaleString("en-US");
  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = Math.abs(n), u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return (n < 0 ? "-" : "") + (u ? v.toFixed(1) : String(v)) + " " + units[u];
  }
  const pct = (x) => (x === null || x === undefined) ? "–" : (100 * x).toFixed(1) + " %";
  const ms = (x) => (x === null || x === undefined) ? "–" : (x < 10 ? x.toFixed(2) : x.toFixed(1)) + " ms";
  const signed = (n, f) => (n > 0 ? "+" : "") + f(n);
  const section = (id) => document.getElementById(id);
  function card(value, key, cls) {
    return el("div", {cls: "card" + (cls ? " " + cls : "")},
      [el("div", {cls: "v", text: value}), el("div", {cls: "k", text: key})]);
  }
  function table(headers, rows, attrs) {
    const head = el("tr", {}, headers.map((h) => el("th", {cls: h.num ? "num" : "", text: h.t})));
    return el("table", attrs || {}, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }
  function objectCell(o) {   // o: {type, label, address}
    return el("span", {}, [
      el("span", {cls: "type", text: o.type}),
      o.label !== null && o.label !== undefined ? el("span", {cls: "label", text: " " + JSON.stringify(o.label)}) : null,
      o.address ? el("span", {cls: "addr", text: " @" + o.address}) : null]);
  }
  function note(text) { return el("p", {cls: "note", text: text}); }

  // -- header and summary ------------------------------------------------------------------
  document.title = "gclab heap report" + (S.process ? " — " + S.process : "");
  section("title").textContent = "Heap report" + (S.process ? " — " + S.process : "");
  section("subtitle").textContent = [S.python ? "Python " + S.python : null,
    S.pid !== null ? "pid " + S.pid : null, S.time ? "captured " + S.time : null,
    S.snapshots > 1 ? S.snapshots + " snapshots" : null].filter(Boolean).join(" · ");

  (function summary() {
    const box = section("summary-body");
    box.appendChild(el("div", {cls: "cards"}, [
      card(int(S.objects), "objects"), card(bytes(S.bytes), "shallow bytes"),
      card(int(S.references), "references"), card(int(S.roots), "roots"),
      card(int(S.reachable), "reachable from roots"),
      card(int(S.garbage), "garbage (gc.collect() frees)", S.garbage ? "warn" : ""),
      card(String(D.suspects.length), "leak suspects", D.suspects.length ? "bad" : "")]));
    const facts = [
      ["process", S.process], ["pid", S.pid], ["python", [S.python, S.implementation].filter(Boolean).join(" ")],
      ["platform", S.platform], ["captured", S.time],
      ["capture took", S.capture_seconds !== null && S.capture_seconds !== undefined ? S.capture_seconds.toFixed(3) + " s" : null],
      ["gc thresholds", S.gc_threshold ? S.gc_threshold.join(", ") : null],
      ["gc counts", S.gc_count ? S.gc_count.join(", ") : null],
      ["gc enabled", S.gc_enabled === null || S.gc_enabled === undefined ? null : String(S.gc_enabled)],
      ["roots by kind", Object.entries(S.roots_by_kind).map(([k, v]) => k + " " + int(v)).join(", ")],
      ["reachable bytes", bytes(S.reachable_bytes)], ["garbage bytes", bytes(S.garbage_bytes)]];
    box.appendChild(el("table", {cls: "facts"}, [el("tbody", {}, facts.filter((f) => f[1] !== null && f[1] !== undefined && f[1] !== "")
      .map((f) => el("tr", {}, [el("td", {text: f[0]}), el("td", {text: String(f[1])})])))]));
    if (S.warnings.length) {
      const more = S.more_warnings ? " (and " + int(S.more_warnings) + " more)" : "";
      box.appendChild(el("details", {}, [el("summary", {text: S.warnings.length + " capture warnings" + more}),
        el("ul", {}, S.warnings.map((w) => el("li", {cls: "label", text: w})))]));
    }
  })();

  // -- leak suspects -----------------------------------------------------------------------
  function pathList(path) {
    if (!path) return note("no retainer path from a named root");
    const items = [el("li", {cls: "rootstep"}, [el("span", {cls: "badge root", text: path.root_kind || "root"}),
      el("span", {text: " " + (path.root || "(unnamed root)")})])];
    path.steps.forEach((step, i) => {
      if (path.elided && i === Math.ceil(path.steps.length / 2)) {
        items.push(el("li", {cls: "muted", text: "… " + int(path.elided) + " more steps …"}));
      }
      items.push(el("li", {cls: i === path.steps.length - 1 ? "target" : ""},
        [step.edge ? el("span", {cls: "edge", text: step.edge}) : null, objectCell(step)]));
    });
    return el("ol", {cls: "path"}, items);
  }
  (function suspects() {
    const box = section("suspects-body");
    if (!D.suspects.length) {
      box.appendChild(note("No object retains 10 % or more of the heap: no leak suspect by Eclipse MAT's rule."));
      return;
    }
    const rows = D.suspects.map((s, i) => el("tr", {}, [
      el("td", {cls: "num", text: String(i + 1)}), el("td", {}, [objectCell(s),
        s.kind === "type" ? el("span", {cls: "badge bad", text: int(s.count) + " instances together"}) : null]),
      el("td", {cls: "num", text: bytes(s.retained)}), el("td", {cls: "num", text: pct(s.share)}),
      el("td", {}, [s.accumulation ? objectCell(s.accumulation) : el("span", {cls: "muted", text: "–"})]),
      el("td", {}, s.top_types.slice(0, 3).map((t) => el("div", {cls: "type", text: String(t[0])})))]));
    box.appendChild(table([{t: "#", num: 1}, {t: "suspect"}, {t: "retained", num: 1}, {t: "share", num: 1},
      {t: "accumulation point"}, {t: "retains mostly"}], rows, {id: "suspects-table"}));
    D.suspects.forEach((s, i) => {
      box.appendChild(el("div", {cls: "suspect"}, [
        el("h3", {}, ["Suspect " + (i + 1) + ": ", s.kind === "type" ? int(s.count) + " instances of " : "", objectCell(s)]),
        el("div", {text: "retains " + bytes(s.retained) + " (" + pct(s.share) + " of the heap)" +
          (s.accumulation ? "; memory accumulates in " + s.accumulation.type +
            " @" + s.accumulation.address + ", which retains " + bytes(s.accumulation.retained) : "")}),
        s.top_types.length ? el("div", {cls: "chips"}, [el("span", {cls: "muted", text: "retains mostly:"})]
          .concat(s.top_types.map((t) => el("span", {text: t[0] + " · " + int(t[1]) + " objects · " + bytes(t[2])})))) : null,
        el("div", {cls: "muted", text: "shortest path from a root (weak references skipped):"}),
        pathList(s.path)]));
    });
  })();

  // -- dominator tree ----------------------------------------------------------------------
  (function tree() {
    const T = D.tree, nodes = T.nodes, kids = T.children;
    const total = nodes[String(T.root)][2] || 1;
    const body = el("tbody");
    const open = new Map();   // node id -> the rows inserted under it
    function nodeRow(id, depth) {
      const r = nodes[String(id)];
      const isRoot = id === T.root;
      const expandable = r[5] > 0;
      const tog = el("span", {cls: "tog", text: expandable ? "▸" : ""});
      const obj = isRoot ? el("span", {}, [el("span", {cls: "type", text: "(virtual root)"}),
        el("span", {cls: "muted", text: " " + r[3]})]) : objectCell({type: D.types[r[0]], label: r[3], address: r[4]});
      const cells = [el("td", {cls: "obj", style: "padding-left:" + (10 + 18 * depth) + "px",
        title: expandable ? r[5] + " dominated children" : "dominates nothing"}, [tog, obj,
        r[6] ? el("span", {cls: "badge root", text: r[6]}) : null,
        expandable ? el("span", {cls: "badge", text: int(r[5])}) : null]),
        el("td", {cls: "num", text: bytes(r[1])}),
        el("td", {cls: "num bar"}, [el("span", {cls: "fill", style: "width:" + Math.min(100, 100 * r[2] / total).toFixed(1) + "%"}),
          el("span", {cls: "txt", text: bytes(r[2])})]),
        el("td", {cls: "num", text: pct(r[2] / total)})];
      const row = el("tr", {"data-node": String(id), "data-depth": String(depth)}, cells);
      if (expandable) cells[0].addEventListener("click", () => toggle(id, row, depth, tog));
      return row;
    }
    function infoRow(text, depth) {
      return el("tr", {cls: "more"}, [el("td", {colspan: "4", style: "padding-left:" + (28 + 18 * depth) + "px", text: text})]);
    }
    function close(id) {
      for (const row of open.get(id) || []) {
        const child = row.getAttribute("data-node");
        if (child !== null && open.has(Number(child))) close(Number(child));
        row.remove();
      }
      open.delete(id);
    }
    function toggle(id, row, depth, tog) {
      if (open.has(id)) { close(id); tog.textContent = "▸"; row.classList.remove("open"); return; }
      const entry = kids[String(id)];
      let rows;
      if (!entry) {
        rows = [infoRow(int(nodes[String(id)][5]) + " children not in this report (it keeps the children of the " +
          int(D.limits.expanded) + " objects that retain the most)", depth + 1)];
      } else {
        rows = entry[0].map((c) => nodeRow(c, depth + 1));
        if (entry[1]) rows.push(infoRow("… " + int(entry[1]) + " more, retaining " + bytes(entry[2]) +
          " together (only the " + int(D.limits.children) + " that retain the most are listed)", depth + 1));
      }
      let after = row;
      for (const r of rows) { after.after(r); after = r; }
      open.set(id, rows);
      tog.textContent = "▾";
      row.classList.add("open");
    }
    const box = section("tree-body");
    box.appendChild(el("div", {cls: "scroll"}, [el("table", {id: "tree-table"}, [el("thead", {}, [el("tr", {}, [
      el("th", {text: "object (click to expand; badge: dominated children)"}), el("th", {cls: "num", text: "shallow"}),
      el("th", {cls: "num", text: "retained"}), el("th", {cls: "num", text: "of reachable"})])]), body])]));
    const rootRow = nodeRow(T.root, 0);
    body.appendChild(rootRow);
    if (nodes[String(T.root)][5] > 0) toggle(T.root, rootRow, 0, rootRow.querySelector(".tog"));
  })();

  // -- histogram ---------------------------------------------------------------------------
  function sortableTable(id, columns, rows, sortKey) {
    // columns: [{t, num, key(row) -> sort value, cell(row) -> td content}]
    const tbody = el("tbody");
    let key = sortKey, asc = false;
    const ths = columns.map((c, k) => el("th", {cls: "sortable" + (c.num ? " num" : ""), "data-key": String(k),
      text: c.t, onclick: () => { if (key === k) asc = !asc; else { key = k; asc = !c.num; } draw(); }}));
    let filter = "";
    function draw() {
      ths.forEach((th, k) => { th.classList.toggle("sorted", k === key); th.classList.toggle("asc", k === key && asc); });
      const col = columns[key];
      const shown = rows.filter((r) => !filter || String(r[0]).toLowerCase().includes(filter));
      shown.sort((a, b) => { const x = col.key(a), y = col.key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
      tbody.replaceChildren(...shown.map((r) => el("tr", {}, columns.map((c) =>
        el("td", {cls: c.num ? "num" : ""}, [c.cell(r)])))));
    }
    draw();
    const input = el("input", {cls: "filter", type: "search", placeholder: "filter by type…",
      oninput: (e) => { filter = e.target.value.toLowerCase(); draw(); }});
    return el("div", {}, [input, el("div", {cls: "scroll"}, [el("table", {id: id}, [el("thead", {}, [el("tr", {}, ths)]), tbody])])]);
  }
  (function histogram() {
    const H = D.histogram, box = section("histogram-body");
    const total = S.bytes || 1;
    box.appendChild(sortableTable("histogram-table", [
      {t: "type", key: (r) => r[0], cell: (r) => el("span", {cls: "type", text: r[0]})},
      {t: "count", num: 1, key: (r) => r[1], cell: (r) => int(r[1])},
      {t: "shallow", num: 1, key: (r) => r[2], cell: (r) => bytes(r[2])},
      {t: "retained", num: 1, key: (r) => r[3], cell: (r) => bytes(r[3])},
      {t: "shallow %", num: 1, key: (r) => r[2], cell: (r) => pct(r[2] / total)}], H.rows, 3));
    if (H.other) box.appendChild(note("and " + int(H.other[0]) + " more types: " + int(H.other[1]) + " objects, " +
      bytes(H.other[2]) + " shallow"));
  })();

  // -- garbage dry run ---------------------------------------------------------------------
  (function garbage() {
    const G = D.garbage, box = section("garbage-body");
    box.appendChild(el("div", {cls: "cards"}, [card(int(G.objects), "objects freed", G.objects ? "warn" : ""),
      card(bytes(G.bytes), "bytes freed"), card(int(G.components), "components"), card(int(G.cycles), "cycles"),
      card(int(G.sources), "source components"), card(int(G.finalizers), "with finalizers (may resurrect)"),
      card(int(G.frozen), "frozen (never collected)")].concat(G.uncollectable ? [card(int(G.uncollectable), "uncollectable", "bad")] : [])
      .concat(G.freed_with ? [card(int(G.freed_with), "untracked freed with it")] : [])));
    if (G.warnings && G.warnings.length) box.appendChild(el("ul", {}, G.warnings.map((w) => el("li", {cls: "muted", text: w}))));
    if (!G.objects) { box.appendChild(note("Nothing: every object is reachable from a root.")); return; }
    if (G.types.length) box.appendChild(el("div", {cls: "chips"}, [el("span", {cls: "muted", text: "garbage by type:"})]
      .concat(G.types.map((t) => el("span", {text: t[0] + " · " + int(t[1]) + " · " + bytes(t[2])})))));
    box.appendChild(el("p", {cls: "muted", text: "Source components: the cycles that no other garbage references; they keep the rest of the garbage alive."}));
    box.appendChild(el("div", {cls: "scroll short"}, [table([{t: "component"}, {t: "objects", num: 1}, {t: "bytes", num: 1}, {t: "types"}, {t: "sample"}],
      G.source_rows.map((c) => el("tr", {}, [el("td", {text: "#" + c.index}), el("td", {cls: "num", text: int(c.objects)}),
        el("td", {cls: "num", text: bytes(c.bytes)}), el("td", {text: c.types.map((t) => t[0] + " ×" + t[1]).join(", ")}),
        el("td", {}, c.sample.slice(0, 2).map((o) => el("div", {}, [objectCell(o)])))])), {id: "garbage-table"})]));
    if (G.sources > G.source_rows.length) box.appendChild(note("the " + int(G.source_rows.length) + " largest of " + int(G.sources) + " source components"));
  })();

  // -- diff and growth ---------------------------------------------------------------------
  (function diff() {
    const box = section("diff-body");
    if (!D.diff) { box.appendChild(note("Give two snapshots (gclab report BEFORE AFTER -o report.html) to compare them.")); return; }
    const F = D.diff;
    box.appendChild(el("div", {cls: "cards"}, [card(signed(F.after.objects - F.before.objects, int), "objects"),
      card(signed(F.after.bytes - F.before.bytes, bytes), "bytes"), card(int(F.new), "new objects", "warn"),
      card(bytes(F.new_bytes), "new bytes"), card(int(F.freed), "freed objects"), card(bytes(F.freed_bytes), "freed bytes"),
      card(int(F.common), "in both")]));
    if (F.warnings && F.warnings.length) box.appendChild(el("ul", {}, F.warnings.map((w) => el("li", {cls: "muted", text: w}))));
    const cls = (d) => d > 0 ? "up" : d < 0 ? "down" : "";
    box.appendChild(sortableTable("diff-table", [
      {t: "type", key: (r) => r[0], cell: (r) => el("span", {cls: "type", text: r[0]})},
      {t: "count before", num: 1, key: (r) => r[1], cell: (r) => int(r[1])},
      {t: "count after", num: 1, key: (r) => r[2], cell: (r) => int(r[2])},
      {t: "Δ count", num: 1, key: (r) => r[2] - r[1], cell: (r) => el("span", {cls: cls(r[2] - r[1]), text: signed(r[2] - r[1], int)})},
      {t: "Δ bytes", num: 1, key: (r) => r[4] - r[3], cell: (r) => el("span", {cls: cls(r[4] - r[3]), text: signed(r[4] - r[3], bytes)})}],
      F.by_type, 4));
    if (D.growth && D.growth.length) {
      box.appendChild(el("h3", {text: "Growing in every step"}));
      box.appendChild(table([{t: "kind"}, {t: "what"}, {t: "counts"}, {t: "sizes"}], D.growth.map((g) => el("tr", {}, [
        el("td", {text: g.kind}), el("td", {cls: "type", text: String(g.key)}), el("td", {text: g.counts.map(int).join(" → ")}),
        el("td", {text: g.sizes.map(bytes).join(" → ")})])), {id: "growth-table"}));
    }
  })();

  // -- GC pause timeline -------------------------------------------------------------------
  (function timeline() {
    const box = section("timeline-body");
    const L = D.timeline;
    if (!L) { box.appendChild(note("Give a GC monitor's JSON (gclab report … --monitor gc.json) to see the collector's pauses.")); return; }
    box.appendChild(el("div", {cls: "cards"}, [card(int(L.total), "collections"), card(pct(L.gc_share), "of wall time in GC"),
      card(L.gc_seconds.toFixed(3) + " s", "in GC"), card(L.wall_seconds.toFixed(1) + " s", "wall time")]));
    const NS = "http://www.w3.org/2000/svg";
    const svg = (tag, attrs, text) => { const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); if (text !== undefined) n.textContent = text; return n; };
    const W = 1160, H = 260, left = 56, right = 12, top = 10, bottom = 30;
    const maxT = Math.max(1e-9, L.wall_seconds, ...L.events.map((e) => e[0]));
    const maxP = Math.max(1e-6, ...L.events.map((e) => e[2]));
    const x = (t) => left + (W - left - right) * t / maxT, y = (p) => H - bottom - (H - top - bottom) * p / maxP;
    const plot = svg("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", id: "timeline-svg",
      "aria-label": "GC pauses over time"});
    for (let k = 0; k <= 4; k++) {
      const p = maxP * k / 4, t = maxT * k / 4;
      plot.appendChild(svg("line", {x1: left, x2: W - right, y1: y(p), y2: y(p), stroke: "#eaecf0"}));
      plot.appendChild(svg("text", {x: left - 6, y: y(p) + 4, "text-anchor": "end"}, ms(p)));
      plot.appendChild(svg("text", {x: x(t), y: H - 10, "text-anchor": "middle"}, t.toFixed(t < 10 ? 2 : 0) + " s"));
    }
    const colors = ["var(--g0)", "var(--g1)", "var(--g2)", "var(--g3)"];
    for (const e of L.events) {
      const c = svg("line", {x1: x(e[0]), x2: x(e[0]), y1: y(0), y2: y(e[2]), stroke: colors[e[1]] || "#667085",
        "stroke-width": 2, "stroke-linecap": "round"});
      c.appendChild(svg("title", {}, "gen " + e[1] + ": " + ms(e[2]) + " at " + e[0].toFixed(3) + " s, collected " +
        int(e[3]) + ", uncollectable " + int(e[4])));
      plot.appendChild(c);
    }
    box.appendChild(plot);
    const gens = Object.keys(L.stats);
    box.appendChild(el("div", {cls: "legend"}, gens.map((g) => el("span", {}, [el("i", {style: "background:" + (colors[g] || "#667085")}),
      "generation " + g]))));
    if (L.shown < L.total) box.appendChild(note(int(L.shown) + " of " + int(L.total) + " collections drawn (the longest pauses always); the statistics use all."));
    box.appendChild(table([{t: "generation"}, {t: "collections", num: 1}, {t: "p50", num: 1}, {t: "p95", num: 1},
      {t: "p99", num: 1}, {t: "max", num: 1}, {t: "total", num: 1}], gens.map((g) => { const s = L.stats[g];
      return el("tr", {}, [el("td", {text: g}), el("td", {cls: "num", text: int(s.count)}), el("td", {cls: "num", text: ms(s.p50)}),
        el("td", {cls: "num", text: ms(s.p95)}), el("td", {cls: "num", text: ms(s.p99)}), el("td", {cls: "num", text: ms(s.max)}),
        el("td", {cls: "num", text: ms(s.total_ms)})]); }), {id: "timeline-table"}));
  })();
  document.body.setAttribute("data-ready", "1");
})();
