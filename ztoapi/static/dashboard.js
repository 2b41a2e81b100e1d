/* ZtoApi dashboard: polls /dashboard/api/* and draws the figures, tables and SVG charts.
   Every value from the server goes into the page as text (textContent), never as HTML:
   the client column is whatever User-Agent a caller sent. */
(function () {
  "use strict";

  var REFRESH_MS = 5000;
  var SVG = "http://www.w3.org/2000/svg";
  var urls = document.body.dataset;
  var tableRows = new URLSearchParams(window.location.search).get("rows");   // /dashboard?rows=200
  var requestsUrl = urls.requestsUrl + (tableRows ? "?limit=" + encodeURIComponent(tableRows) : "");
  var state = { summary: null, requests: null, credentials: null, paused: false, timer: null };

  // ---- formatting -------------------------------------------------------------------------

  function count(n) {
    if (n === null || n === undefined) return "—";
    return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function compact(n) {
    if (n === null || n === undefined) return "—";
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M";
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + "k";
    return count(n);
  }

  function ms(value) {
    if (value === null || value === undefined) return "—";
    if (value < 1000) return Math.round(value) + " ms";
    return (value / 1000).toFixed(value < 10000 ? 2 : 1) + " s";
  }

  function percent(part, whole) {
    if (!whole) return "—";
    var value = 100 * part / whole;
    return (value === 100 || value === 0 ? value.toFixed(0) : value.toFixed(1)) + "%";
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function clock(epochSeconds, withSeconds) {
    var d = new Date(epochSeconds * 1000);
    var text = pad(d.getHours()) + ":" + pad(d.getMinutes());
    return withSeconds ? text + ":" + pad(d.getSeconds()) : text;
  }

  // ---- DOM helpers ------------------------------------------------------------------------

  function byId(id) { return document.getElementById(id); }

  function setText(id, text) { byId(id).textContent = text; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, parent) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function cell(row, text, className) {
    var td = el("td", className, text);
    row.appendChild(td);
    return td;
  }

  function pill(text, kind) { return el("span", "pill pill-" + kind, text); }

  /* Text that may be long (names, agents, error codes): cut to the cell with an ellipsis, whole
     in the tooltip. */
  function clipped(className, text) {
    var node = el("span", "clip" + (className ? " " + className : ""), text);
    node.title = text;
    return node;
  }

  function textCell(row, content) { cell(row, null, "text").appendChild(content); }

  /* Each cell gets its column's heading as data-label: narrow screens show rows as cards. */
  function labelCells(body) {
    var headings = Array.prototype.map.call(body.parentNode.tHead.rows[0].cells,
                                            function (th) { return th.textContent; });
    Array.prototype.forEach.call(body.rows, function (row) {
      Array.prototype.forEach.call(row.cells, function (td, index) {
        if (td.colSpan === 1) td.dataset.label = headings[index];
      });
    });
  }

  // ---- tooltip ----------------------------------------------------------------------------

  var tooltip = byId("tooltip");

  function showTooltip(event, title, lines) {
    clear(tooltip);
    tooltip.appendChild(el("b", null, title));
    lines.forEach(function (line) {
      var row = el("div");
      var swatch = el("span", "swatch");
      swatch.style.background = line.color;
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(line.label + ": " + line.value));
      tooltip.appendChild(row);
    });
    tooltip.hidden = false;
    var x = event.clientX + 14;
    var y = event.clientY + 14;
    var box = tooltip.getBoundingClientRect();
    if (x + box.width > window.innerWidth - 8) x = event.clientX - box.width - 14;
    if (y + box.height > window.innerHeight - 8) y = event.clientY - box.height - 14;
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }

  function hideTooltip() { tooltip.hidden = true; }

  function cssColor(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // ---- charts -----------------------------------------------------------------------------

  var MARGIN = { top: 10, right: 6, bottom: 24, left: 46 };

  /* The top of the y axis: four equal steps of 1, 2, 2.5 or 5 times a power of ten (whole
     steps for counts), so the gridline labels never repeat. */
  function niceMax(value, whole) {
    var raw = value > 0 ? value / 4 : 1;
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * magnitude; })
      .filter(function (candidate) { return candidate >= raw; })[0];
    if (whole) step = Math.max(Math.ceil(step), 1);
    return step * 4;
  }

  /* An SVG sized to its container, with y gridlines and clock labels every 10 minutes. */
  function frame(container, points, yMax, yFormat) {
    clear(container);
    var width = Math.max(container.clientWidth, 240);
    var height = container.clientHeight || 220;
    var root = svg("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height },
                   container);
    var plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right,
                 h: height - MARGIN.top - MARGIN.bottom };
    var axis = svg("g", { "class": "axis" }, root);
    for (var i = 0; i <= 4; i++) {
      var y = plot.y + plot.h - plot.h * i / 4;
      svg("line", { "class": i ? "gridline" : "baseline", x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y },
          axis);
      var label = svg("text", { x: plot.x - 8, y: y + 4, "text-anchor": "end" }, axis);
      label.textContent = yFormat(yMax * i / 4);
    }
    var band = plot.w / points.length;
    points.forEach(function (point, index) {
      var minute = new Date(point.time * 1000).getMinutes();
      if (minute % 10 === 0) {
        var text = svg("text", { x: plot.x + band * (index + 0.5), y: plot.y + plot.h + 17,
                                 "text-anchor": "middle" }, axis);
        text.textContent = clock(point.time);
      }
    });
    return { root: root, plot: plot, band: band };
  }

  function hoverBands(chart, points, describe) {
    var layer = svg("g", {}, chart.root);
    points.forEach(function (point, index) {
      var rect = svg("rect", { "class": "hover-band", x: chart.plot.x + chart.band * index, y: chart.plot.y,
                               width: chart.band, height: chart.plot.h }, layer);
      rect.addEventListener("mousemove", function (event) {
        showTooltip(event, clock(point.time), describe(point));
      });
      rect.addEventListener("mouseleave", hideTooltip);
    });
  }

  function emptyNote(chart, text) {
    var note = svg("text", { "class": "empty-note", x: chart.plot.x + chart.plot.w / 2,
                             y: chart.plot.y + chart.plot.h / 2, "text-anchor": "middle" }, chart.root);
    note.textContent = text;
  }

  /* Stacked bars, one per minute; `series` from bottom to top: {key, label, cls, color}. */
  function stackedBars(container, points, series, yFormat, empty) {
    var totals = points.map(function (p) {
      return series.reduce(function (sum, s) { return sum + p[s.key]; }, 0);
    });
    var yMax = niceMax(Math.max.apply(null, totals), true);
    var chart = frame(container, points, yMax, yFormat);
    var gap = chart.band > 6 ? Math.min(chart.band * 0.28, 6) : 0.5;
    var bars = svg("g", {}, chart.root);
    points.forEach(function (point, index) {
      var base = chart.plot.y + chart.plot.h;
      series.forEach(function (s, layer) {
        var value = point[s.key];
        if (!value) return;
        var height = Math.max(chart.plot.h * value / yMax, 1.5);
        var topMost = series.slice(layer + 1).every(function (t) { return !point[t.key]; });
        svg(topMost ? "path" : "rect", topMost
          ? { "class": s.cls, d: roundedTop(chart.plot.x + chart.band * index + gap / 2, base - height,
                                            chart.band - gap, height, Math.min(3, (chart.band - gap) / 2)) }
          : { "class": s.cls, x: chart.plot.x + chart.band * index + gap / 2, y: base - height,
              width: chart.band - gap, height: height }, bars);
        base -= height;
      });
    });
    if (!totals.some(Boolean)) emptyNote(chart, empty);
    hoverBands(chart, points, function (point) {
      return series.map(function (s) {
        return { label: s.label, value: yFormat(point[s.key], true), color: s.color };
      });
    });
  }

  function roundedTop(x, y, w, h, r) {
    r = Math.min(r, h);
    return "M" + x + "," + (y + h) + "V" + (y + r) + "Q" + x + "," + y + " " + (x + r) + "," + y +
           "H" + (x + w - r) + "Q" + (x + w) + "," + y + " " + (x + w) + "," + (y + r) + "V" + (y + h) + "Z";
  }

  /* Lines with gaps where a minute had no completions; `series`: {key, label, cls, color}. */
  function lines(container, points, series, empty) {
    var values = [];
    points.forEach(function (p) {
      series.forEach(function (s) { if (p[s.key] !== null) values.push(p[s.key]); });
    });
    var yMax = values.length ? niceMax(Math.max.apply(null, values)) : 1000;
    var chart = frame(container, points, yMax, function (v) { return v ? ms(v) : "0"; });
    series.forEach(function (s) {
      var d = "";
      var dots = [];
      var previous = false;
      points.forEach(function (point, index) {
        var value = point[s.key];
        if (value === null) { previous = false; return; }
        var x = chart.plot.x + chart.band * (index + 0.5);
        var y = chart.plot.y + chart.plot.h - chart.plot.h * value / yMax;
        d += (previous ? "L" : "M") + x.toFixed(1) + "," + y.toFixed(1);
        dots.push([x, y]);
        previous = true;
      });
      if (d) svg("path", { "class": "line line-" + s.cls, d: d }, chart.root);
      dots.forEach(function (xy) {
        svg("circle", { "class": "dot-" + s.cls, cx: xy[0], cy: xy[1], r: 3 }, chart.root);
      });
    });
    if (!values.length) emptyNote(chart, empty);
    hoverBands(chart, points, function (point) {
      return series.map(function (s) { return { label: s.label, value: ms(point[s.key]), color: s.color }; });
    });
  }

  function donut(container, succeeded, failed) {
    clear(container);
    var size = 168;
    var stroke = 18;
    var radius = (size - stroke) / 2;
    var circumference = 2 * Math.PI * radius;
    var total = succeeded + failed;
    var root = svg("svg", { width: size, height: size, viewBox: "0 0 " + size + " " + size }, container);
    var ring = svg("g", { transform: "rotate(-90 " + size / 2 + " " + size / 2 + ")" }, root);
    svg("circle", { "class": "donut-track", cx: size / 2, cy: size / 2, r: radius, "stroke-width": stroke },
        ring);
    var offset = 0;
    [[succeeded, "donut-ok"], [failed, "donut-fail"]].forEach(function (part) {
      if (!part[0]) return;
      var length = circumference * part[0] / total;
      svg("circle", { "class": part[1], cx: size / 2, cy: size / 2, r: radius, "stroke-width": stroke,
                      "stroke-dasharray": length + " " + (circumference - length),
                      "stroke-dashoffset": -offset }, ring);
      offset += length;
    });
    var middle = { x: size / 2, "text-anchor": "middle" };
    var value = svg("text", Object.assign({ "class": "donut-value", y: size / 2 + 4 }, middle), root);
    value.textContent = percent(succeeded, total);
    var label = svg("text", Object.assign({ "class": "donut-label", y: size / 2 + 24 }, middle), root);
    label.textContent = total ? "succeeded" : "no requests yet";
    var legend = el("ul", "donut-legend legend");
    [["key-ok", "Succeeded", succeeded], ["key-fail", "Failed", failed]].forEach(function (item) {
      var li = el("li", item[0], item[1] + " ");
      li.appendChild(el("strong", null, count(item[2])));
      legend.appendChild(li);
    });
    container.appendChild(legend);
  }

  function percentileBars(container, latency, ttft) {
    clear(container);
    var top = Math.max.apply(null, ["p99", "p90", "p50"].map(function (p) {
      return Math.max(latency[p] || 0, ttft[p] || 0);
    })) || 1;
    ["p50", "p90", "p99"].forEach(function (p) {
      var row = el("div", "pct-row");
      row.appendChild(el("span", "pct-name", p));
      var bars = el("div", "pct-bars");
      [["latency", latency[p]], ["ttft", ttft[p]]].forEach(function (item) {
        var bar = el("div", "pct-bar");
        var fill = el("span", "pct-fill " + item[0]);
        fill.style.width = (item[1] ? Math.max(100 * item[1] / top * 0.78, 1) : 0) + "%";
        bar.appendChild(fill);
        bar.appendChild(el("span", null, ms(item[1])));
        bars.appendChild(bar);
      });
      row.appendChild(bars);
      container.appendChild(row);
    });
  }

  // ---- sections ---------------------------------------------------------------------------

  function renderSummary(summary) {
    var totals = summary.totals;
    var hour = summary.last_hour;
    setText("kpi-requests", count(totals.requests));
    setText("kpi-requests-hour", count(hour.requests));
    setText("kpi-success-rate", percent(totals.succeeded, totals.requests));
    setText("kpi-succeeded", count(totals.succeeded));
    setText("kpi-failed", count(totals.failed));
    setText("kpi-rpm", count(summary.last_minute.requests));
    setText("kpi-rpm-hour", String(hour.requests_per_minute));
    ["p50", "p90", "p99"].forEach(function (p) {
      setText("kpi-latency-" + p, ms(hour.latency_ms[p]));
      setText("kpi-ttft-" + p, ms(hour.ttft_ms[p]));
    });
    setText("kpi-tokens-in", compact(totals.tokens_in));
    setText("kpi-tokens-out", compact(totals.tokens_out));
    byId("kpi-tokens-in").title = count(totals.tokens_in) + " tokens in";
    byId("kpi-tokens-out").title = count(totals.tokens_out) + " tokens out";
    setText("kpi-tokens-hour", compact(hour.tokens_in + hour.tokens_out));

    drawCharts(summary);
    renderBreakdown(byId("by-model"), summary.by_model, "No model has been asked for yet");
    renderBreakdown(byId("by-key"), summary.by_key, "No key has been used yet");
  }

  function drawCharts(summary) {
    var points = summary.per_minute;
    stackedBars(byId("chart-requests"), points, [
      { key: "succeeded", label: "Succeeded", cls: "bar-ok", color: cssColor("--ok") },
      { key: "failed", label: "Failed", cls: "bar-fail", color: cssColor("--fail") }
    ], function (v) { return count(v); }, "No requests in the last hour");
    lines(byId("chart-latency"), points, [
      { key: "latency_p50_ms", label: "Duration p50", cls: "latency", color: cssColor("--latency") },
      { key: "ttft_p50_ms", label: "TTFT p50", cls: "ttft", color: cssColor("--ttft") }
    ], "No completions in the last hour");
    stackedBars(byId("chart-tokens"), points, [
      { key: "tokens_in", label: "In", cls: "bar-in", color: cssColor("--tokens-in") },
      { key: "tokens_out", label: "Out", cls: "bar-out", color: cssColor("--tokens-out") }
    ], function (v, exact) { return exact ? count(v) : compact(v); }, "No tokens in the last hour");
    donut(byId("chart-outcomes"), summary.totals.succeeded, summary.totals.failed);
    percentileBars(byId("chart-percentiles"), summary.last_hour.latency_ms, summary.last_hour.ttft_ms);
  }

  function renderBreakdown(body, rows, empty) {
    clear(body);
    if (!rows.length) {
      var row = el("tr");
      var td = cell(row, empty, "empty");
      td.colSpan = 7;
      body.appendChild(row);
      return;
    }
    var most = Math.max.apply(null, rows.map(function (r) { return r.requests; })) || 1;
    rows.forEach(function (item) {
      var row = el("tr");
      var name = cell(row, null, "name");
      var share = el("div", "share");
      var refused = item.name === null;   // requests refused before a valid key was seen
      var label = el("span", "share-name");
      label.appendChild(clipped(refused ? "faint" : null, refused ? "no valid key" : item.name));
      if (item.aliases && item.aliases.length) {   // the names a model was asked for by
        label.appendChild(clipped("aliases", "as " + item.aliases.join(", ")));
      }
      share.appendChild(label);
      var bar = el("span", "share-bar");
      var fill = el("span", "share-fill");
      fill.style.width = (100 * item.requests / most) + "%";
      bar.appendChild(fill);
      share.appendChild(bar);
      name.appendChild(share);
      cell(row, count(item.requests), "num");
      var failed = cell(row, null, "num");
      failed.appendChild(item.failed ? pill(count(item.failed), "fail") : el("span", "faint", "0"));
      cell(row, count(item.tokens_in), "num");
      cell(row, count(item.tokens_out), "num");
      cell(row, ms(item.latency_p50_ms), "num");
      cell(row, ms(item.ttft_p50_ms), "num");
      body.appendChild(row);
    });
    labelCells(body);
  }

  function statusKind(status) {
    if (status >= 500) return "fail";
    if (status >= 400) return "warn";
    return "ok";
  }

  function renderRequests(requests) {
    var body = byId("requests-body");
    clear(body);
    setText("requests-note", requests.length ? "newest " + requests.length : "");
    if (!requests.length) {
      var empty = el("tr");
      cell(empty, "No API requests yet. Send one to /v1/chat/completions.", "empty").colSpan = 10;
      body.appendChild(empty);
      return;
    }
    requests.forEach(function (r) {
      var row = el("tr");
      row.dataset.requestId = r.request_id;
      var time = cell(row, clock(r.time, true), "muted");
      time.title = new Date(r.time * 1000).toLocaleString() + " · " + r.request_id;
      textCell(row, r.key === null ? clipped("faint", "—") : clipped(null, r.key));
      var model = r.model === null ? clipped("faint mono", r.method + " " + r.path) : clipped(null, r.model);
      if (r.upstream && r.upstream !== "web") {   // answered by Z.ai's API
        model.appendChild(el("span", "muted", " · " + r.upstream));
        model.title += " (answered by Z.ai's API)";
      }
      textCell(row, model);
      cell(row, r.stream === null ? "—" : (r.stream ? "stream" : "json"), r.stream ? null : "muted");
      var kind = r.error && r.status < 400 ? "warn" : statusKind(r.status);   // a stream that broke late
      cell(row, null).appendChild(pill(String(r.status), kind));
      cell(row, ms(r.duration_ms), "num");
      cell(row, ms(r.ttft_ms), "num");
      var tokens = r.tokens_in || r.tokens_out ? count(r.tokens_in) + " → " + count(r.tokens_out) : "—";
      cell(row, tokens, "num");
      textCell(row, clipped("client", r.client || "—"));
      textCell(row, clipped("error-code mono", r.error || ""));
      body.appendChild(row);
    });
    labelCells(body);
  }

  function credentialKind(state) {
    if (state === "ok") return "ok";
    return state.indexOf("invalid") === 0 ? "fail" : "warn";
  }

  function renderCredentials(pool, scope) {
    var box = byId("credentials");
    clear(box);
    var counts = pool.counts;
    setText("pool-counts",
            counts.ok + " ok · " + counts.cooling + " cooling · " + counts.invalid + " invalid · " + counts.captcha + " captcha");
    setText("upstream-state", Object.keys(pool.upstream).map(function (name) {
      var state = pool.upstream[name];
      var what = name === "web" ? "chat.z.ai, " + state.dialect + " dialect (" + state.dialect_source + ")"
                                : "Z.ai's API";
      return what + (state.ready ? "" : " · not ready: " + state.reason);
    }).join(" then "));
    if (!pool.workers.length) {
      box.appendChild(el("p", "empty", scope === "all" ? "No worker has reported its pool yet."
                                                       : "The pool is shown to keys that see all traffic."));
      return;
    }
    pool.workers.forEach(function (worker) {
      var group = el("div");
      group.appendChild(el("p", "worker-name mono", "worker " + worker.worker));
      var notes = worker.notes || [];
      if (!worker.credentials.length && !notes.length) {
        group.appendChild(el("p", "empty", "no credential in use"));
      }
      worker.credentials.forEach(function (c) {
        var row = el("div", "credential");
        row.appendChild(el("span", "mono", c.token));
        row.appendChild(el("span", "credential-kind", c.guest ? "guest" : "configured"));
        var stateCell = el("span");
        stateCell.appendChild(pill(c.state, credentialKind(c.state)));
        row.appendChild(stateCell);
        row.appendChild(el("span", "credential-uses", count(c.uses) + " uses"));
        group.appendChild(row);
      });
      notes.forEach(function (n) {   // why no guest is in the pool, the last upstream failure
        var row = el("p", "credential-note");
        row.appendChild(el("span", "credential-kind", n.note));
        var when = n.time ? " · " + (n.note === "guest" ? "last tried " : "at ") + clock(n.time, true) : "";
        row.appendChild(el("span", null, n.state + when));
        group.appendChild(row);
      });
      box.appendChild(group);
    });
  }

  // ---- polling ----------------------------------------------------------------------------

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload();   // the session ended: show the sign-in form
          throw new Error("signed out");
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  function refresh() {
    clearTimeout(state.timer);
    return Promise.all([getJson(urls.summaryUrl), getJson(requestsUrl), getJson(urls.credentialsUrl)])
      .then(function (results) {
        state.summary = results[0];
        state.requests = results[1].requests;
        state.credentials = results[2];
        renderSummary(state.summary);
        renderRequests(state.requests);
        renderCredentials(state.credentials, state.summary.scope);
        byId("live-dot").className = "live-dot " + (state.paused ? "" : "on");
        setText("updated", (state.paused ? "Paused · updated " : "Live · updated ") +
                clock(state.summary.now, true));
        document.body.dataset.loaded = "true";
      })
      .catch(function (error) {
        byId("live-dot").className = "live-dot off";
        setText("updated", error instanceof TypeError ? "Cannot reach the server, retrying…"
                                                      : "Refresh failed (" + error.message + "), retrying…");
      })
      .then(schedule);
  }

  function schedule() {
    clearTimeout(state.timer);
    if (!state.paused) state.timer = setTimeout(refresh, REFRESH_MS);
  }

  byId("toggle-refresh").addEventListener("click", function () {
    state.paused = !state.paused;
    this.textContent = state.paused ? "Resume" : "Pause";
    if (state.paused) {
      clearTimeout(state.timer);
      byId("live-dot").className = "live-dot";
      setText("updated", "Paused");
    } else {
      refresh();
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) clearTimeout(state.timer);
    else if (!state.paused) refresh();
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (state.summary) drawCharts(state.summary); }, 120);
  });

  refresh();
})();
