// santrace HTML report: the interactive layer. The page is complete without it (findings,
// socket tables, statistics and rules are plain HTML); this adds the swimlane timeline with
// zoom, pan and hover, filtering of the findings, and deep links.
(function () {
  'use strict'
  var data = JSON.parse(document.getElementById('santrace-data').textContent)
  var LABEL_W = 210
  var LANE_H = 18
  var AXIS_H = 22
  var VIEW_H = 460
  var SEV_RANK = {error: 3, warning: 2, info: 1}

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]
    })
  }
  function fmtDur(ns) {
    var a = Math.abs(ns)
    if (a >= 1e9) return (ns / 1e9).toPrecision(3) + ' s'
    if (a >= 1e6) return (ns / 1e6).toPrecision(3) + ' ms'
    if (a >= 1e3) return (ns / 1e3).toPrecision(3) + ' µs'
    return Math.round(ns) + ' ns'
  }
  function fmtTs(ns) {
    return '+' + (ns / 1e9).toFixed(6) + ' s'
  }

  // ---- lanes in display order: by process, then first appearance; one process-wide row on top ----
  var order = data.lanes.map(function (_, i) { return i })
  order.sort(function (a, b) {
    var x = data.lanes[a], y = data.lanes[b]
    return x.pid - y.pid || x.first - y.first || a - b
  })
  var rowOfLane = new Array(data.lanes.length)
  order.forEach(function (lane, row) { rowOfLane[lane] = row + 1 })
  var rows = order.length + 1

  // Bars per lane sorted by start, with a running maximum of ends to find long bars quickly.
  var barsByLane = data.lanes.map(function () { return [] })
  for (var i = 0; i < data.bars.lane.length; i++) barsByLane[data.bars.lane[i]].push(i)
  var prefixEnd = barsByLane.map(function (list) {
    list.sort(function (a, b) { return data.bars.t0[a] - data.bars.t0[b] })
    var out = new Array(list.length), m = -Infinity
    for (var j = 0; j < list.length; j++) { m = Math.max(m, data.bars.t1[list[j]]); out[j] = m }
    return out
  })
  var marksByLane = data.lanes.map(function () { return [] })
  for (i = 0; i < data.marks.lane.length; i++) marksByLane[data.marks.lane[i]].push(i)
  marksByLane.forEach(function (list) { list.sort(function (a, b) { return data.marks.t[a] - data.marks.t[b] }) })

  var span0 = data.meta.span.first, span1 = Math.max(data.meta.span.last, data.meta.span.first + 1000)
  var pad = (span1 - span0) * 0.01
  var view = {t0: span0 - pad, t1: span1 + pad}
  var visibleFindings = {}
  data.findings.forEach(function (f) { visibleFindings[f.id] = true })
  var highlighted = -1

  var box = document.getElementById('timeline-box')
  var scroller = document.getElementById('timeline-scroll')
  var svg = document.getElementById('timeline-svg')
  var spacer = document.getElementById('timeline-spacer')
  var tip = document.getElementById('tooltip')
  if (!box || !svg) return
  box.hidden = false
  var noscript = document.getElementById('timeline-noscript')
  if (noscript) noscript.hidden = true
  VIEW_H = Math.min(VIEW_H, rows * LANE_H + AXIS_H + 4)
  scroller.style.height = VIEW_H + 'px'
  spacer.style.height = Math.max(0, rows * LANE_H + AXIS_H - VIEW_H) + 'px'

  function width() { return Math.max(400, scroller.clientWidth) }
  function xOf(t, w) { return LABEL_W + ((t - view.t0) / (view.t1 - view.t0)) * (w - LABEL_W - 8) }
  function tOf(x, w) { return view.t0 + ((x - LABEL_W) / (w - LABEL_W - 8)) * (view.t1 - view.t0) }

  function firstVisible(lane, v0) {
    var pe = prefixEnd[lane], lo = 0, hi = pe.length
    while (lo < hi) { var mid = (lo + hi) >> 1; if (pe[mid] < v0) lo = mid + 1; else hi = mid }
    return lo
  }

  function niceStep(range, px) {
    var raw = range / Math.max(1, px / 110), p = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / p
    return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * p
  }

  function draw() {
    var w = width()
    var top = scroller.scrollTop
    var firstRow = Math.max(0, Math.floor(top / LANE_H))
    var lastRow = Math.min(rows - 1, Math.ceil((top + VIEW_H - AXIS_H) / LANE_H))
    svg.setAttribute('width', w)
    svg.setAttribute('height', VIEW_H)
    var out = []
    // axis
    var step = niceStep(view.t1 - view.t0, w - LABEL_W)
    var digits = Math.max(0, Math.min(9, -Math.floor(Math.log10(step / 1e9))))
    out.push('<g class="axis">')
    for (var t = Math.ceil((view.t0 - span0) / step) * step + span0; t <= view.t1; t += step) {
      var x = xOf(t, w)
      if (x < LABEL_W) continue
      out.push('<line x1="' + x + '" x2="' + x + '" y1="' + AXIS_H + '" y2="' + VIEW_H + '"/><text x="' + (x + 2) + '" y="14">' + esc('+' + ((t - span0) / 1e9).toFixed(digits) + ' s') + '</text>')
    }
    out.push('</g>')
    var lastPid = null
    for (var row = firstRow; row <= lastRow; row++) {
      var y = AXIS_H + row * LANE_H - top
      out.push('<rect class="lane-bg' + (row % 2 ? ' alt' : '') + '" x="0" y="' + y + '" width="' + w + '" height="' + LANE_H + '"/>')
      if (row === 0) {
        out.push('<text class="proc-label" x="6" y="' + (y + 13) + '">process-wide findings</text>')
        continue
      }
      var lane = order[row - 1], L = data.lanes[lane]
      var label = (L.pid !== lastPid ? 'pid ' + L.pid + ' ' : '') + L.s + '#' + L.gen + (L.role ? ' ' + L.role.toLowerCase() : '')
      lastPid = L.pid
      out.push('<text class="lane-label" x="6" y="' + (y + 13) + '">' + esc(label) + '</text>')
      var list = barsByLane[lane], lastPx = -1
      for (var j = firstVisible(lane, view.t0); j < list.length; j++) {
        var b = list[j], t0 = data.bars.t0[b], t1 = data.bars.t1[b]
        if (t0 > view.t1) break
        if (t1 < view.t0) continue
        var x0 = Math.max(LABEL_W, xOf(t0, w)), x1 = Math.min(w, xOf(t1, w))
        if (x1 - x0 < 1 && Math.floor(x0) === lastPx) continue
        lastPx = Math.floor(x0)
        var fl = data.bars.flag[b]
        out.push('<rect class="bar k-' + data.barKinds[data.bars.kind[b]] + (fl & 1 ? ' failed' : '') + (fl & 2 ? ' pending' : '') + '" data-b="' + b + '" x="' + x0.toFixed(1) + '" y="' + (y + 4) + '" width="' + Math.max(1, x1 - x0).toFixed(1) + '" height="' + (LANE_H - 8) + '" rx="2"/>')
      }
      var ml = marksByLane[lane], lastM = -1
      for (j = 0; j < ml.length; j++) {
        var m = ml[j], tm = data.marks.t[m]
        if (tm < view.t0) continue
        if (tm > view.t1) break
        var xm = Math.floor(xOf(tm, w))
        if (xm === lastM) continue
        lastM = xm
        out.push('<rect class="mark" data-m="' + m + '" x="' + xm + '" y="' + (y + 2) + '" width="1.5" height="' + (LANE_H - 4) + '"/>')
      }
    }
    // finding markers
    data.findings.forEach(function (f) {
      if (!visibleFindings[f.id] || f.ts < view.t0 || f.ts > view.t1) return
      var row = f.lane >= 0 ? rowOfLane[f.lane] : 0
      if (row < firstRow || row > lastRow) return
      var x = xOf(f.ts, w), y = AXIS_H + row * LANE_H - top
      out.push('<path class="fmark ' + f.severity + (f.id === highlighted ? ' hit' : '') + '" data-f="' + f.id + '" d="M' + (x - 6) + ' ' + (y + 1) + ' L' + (x + 6) + ' ' + (y + 1) + ' L' + x + ' ' + (y + LANE_H - 2) + ' Z"/>')
    })
    svg.innerHTML = out.join('')
  }

  var pending = false
  function redraw() {
    if (pending) return
    pending = true
    requestAnimationFrame(function () { pending = false; draw() })
  }

  function zoom(factor, atX) {
    var w = width(), t = tOf(atX, w)
    var nt0 = t - (t - view.t0) * factor, nt1 = t + (view.t1 - t) * factor
    if (nt1 - nt0 < 100) return
    view.t0 = nt0
    view.t1 = nt1
    redraw()
  }

  svg.addEventListener('wheel', function (e) {
    if (!e.ctrlKey && !e.altKey && Math.abs(e.deltaX) <= Math.abs(e.deltaY) && !e.shiftKey) {
      // Plain wheel zooms the time axis; the lanes scroll with the scrollbar or shift+wheel.
      e.preventDefault()
      zoom(e.deltaY > 0 ? 1.25 : 0.8, e.clientX - svg.getBoundingClientRect().left)
    }
  }, {passive: false})
  var drag = null
  svg.addEventListener('mousedown', function (e) {
    if (e.target.getAttribute && e.target.getAttribute('data-f') !== null) return
    drag = {x: e.clientX, t0: view.t0, t1: view.t1}
    svg.classList.add('dragging')
  })
  window.addEventListener('mousemove', function (e) {
    if (!drag) return
    var w = width(), dt = ((e.clientX - drag.x) / (w - LABEL_W - 8)) * (drag.t1 - drag.t0)
    view.t0 = drag.t0 - dt
    view.t1 = drag.t1 - dt
    redraw()
  })
  window.addEventListener('mouseup', function () { drag = null; svg.classList.remove('dragging') })
  scroller.addEventListener('scroll', redraw)
  window.addEventListener('resize', redraw)
  document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5, (width() + LABEL_W) / 2) })
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(2, (width() + LABEL_W) / 2) })
  document.getElementById('zoom-reset').addEventListener('click', function () { view.t0 = span0 - pad; view.t1 = span1 + pad; redraw() })

  // ---- hover details ----
  var byId = {}
  data.findings.forEach(function (f) { byId[f.id] = f })
  svg.addEventListener('mousemove', function (e) {
    var el = e.target, text = null
    if (el.getAttribute) {
      var b = el.getAttribute('data-b'), m = el.getAttribute('data-m'), f = el.getAttribute('data-f')
      if (b !== null) {
        b = +b
        var L = data.lanes[data.bars.lane[b]]
        var fl = data.bars.flag[b], det = data.bars.detail[b]
        text = data.fns[data.bars.fn[b]] + (fl & 1 ? ' failed' + (det >= 0 ? ' (status ' + det + ')' : '') : det >= 0 && data.bars.kind[b] !== undefined && /send|recv|rdma/.test(data.barKinds[data.bars.kind[b]]) ? ', ' + det + ' bytes' : '') + (fl & 2 ? ', still pending at the end of the trace' : '') +
          '\n' + data.barKinds[data.bars.kind[b]] + ' on pid ' + L.pid + ' socket ' + L.s + '#' + L.gen + '\nstart ' + fmtTs(data.bars.t0[b] - span0) + ', duration ' + fmtDur(data.bars.t1[b] - data.bars.t0[b])
      } else if (m !== null) {
        m = +m
        text = data.markKinds[data.marks.kind[m]] + '\nat ' + fmtTs(data.marks.t[m] - span0)
      } else if (f !== null) {
        var x = byId[+f]
        text = x.severity + ' ' + x.rule + ': ' + x.message + '\n' + x.time + ' (click to open)'
      }
    }
    if (text === null) { tip.style.display = 'none'; return }
    tip.textContent = text
    tip.style.display = 'block'
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 580) + 'px'
    tip.style.top = (e.clientY + 14) + 'px'
  })
  svg.addEventListener('mouseleave', function () { tip.style.display = 'none' })
  svg.addEventListener('click', function (e) {
    var f = e.target.getAttribute && e.target.getAttribute('data-f')
    if (f !== null && f !== undefined) location.hash = 'finding-' + f
  })

  // ---- findings filter ----
  var list = document.getElementById('finding-list')
  var items = list ? Array.prototype.slice.call(list.children) : []
  var filters = {severity: document.getElementById('f-severity'), rule: document.getElementById('f-rule'), fault: document.getElementById('f-fault'), pid: document.getElementById('f-pid'), socket: document.getElementById('f-socket'), text: document.getElementById('f-text')}
  var countEl = document.getElementById('f-count')
  document.getElementById('filters').hidden = false
  function fill(sel, values) {
    values.forEach(function (v) { var o = document.createElement('option'); o.value = String(v); o.textContent = String(v); sel.appendChild(o) })
  }
  function uniq(key) {
    var s = {}
    data.findings.forEach(function (f) { if (f[key] !== undefined) s[f[key]] = true })
    return Object.keys(s).sort(function (a, b) { return isNaN(a) ? a.localeCompare(b) : a - b })
  }
  fill(filters.rule, uniq('rule'))
  fill(filters.fault, uniq('fault'))
  fill(filters.pid, uniq('pid'))
  function applyFilters() {
    var sev = filters.severity.value, rule = filters.rule.value, fault = filters.fault.value, pid = filters.pid.value
    var sock = filters.socket.value.trim().toLowerCase(), text = filters.text.value.trim().toLowerCase()
    var shown = 0
    items.forEach(function (li) {
      var f = byId[+li.getAttribute('data-id')]
      var ok = (!sev || SEV_RANK[f.severity] >= SEV_RANK[sev]) && (!rule || f.rule === rule) && (!fault || f.fault === fault) && (!pid || String(f.pid) === pid) &&
        (!sock || (f.socket || '').indexOf(sock) >= 0) && (!text || li.textContent.toLowerCase().indexOf(text) >= 0)
      li.hidden = !ok
      visibleFindings[f.id] = ok
      if (ok) shown++
    })
    countEl.textContent = shown + ' of ' + items.length + ' shown'
    redraw()
  }
  Object.keys(filters).forEach(function (k) { filters[k].addEventListener('input', applyFilters) })
  document.getElementById('f-clear').addEventListener('click', function () {
    Object.keys(filters).forEach(function (k) { filters[k].value = '' })
    applyFilters()
  })

  // ---- per-socket sections not written statically are built from the data on demand ----
  function socketSection(anchor) {
    var lane = -1
    for (var i = 0; i < data.lanes.length; i++) if (data.lanes[i].anchor === anchor) { lane = i; break }
    if (lane < 0) return null
    var L = data.lanes[lane], sec = document.createElement('section')
    sec.className = 'socket-section'
    sec.id = anchor
    var html = '<h3>pid ' + L.pid + ' · socket ' + esc(L.s) + ' generation ' + L.gen + '</h3><p class="note">' + esc((L.role || '') + ' · switch handle ' + (L.handle || '?') + ' · final state ' + L.state + ' · ' + L.events + ' events') + '</p><table><thead><tr><th>time</th><th>tid</th><th></th><th>event</th><th class="num">duration</th></tr></thead><tbody>'
    data.rows[lane].forEach(function (r) {
      html += '<tr><td class="mono">' + esc(fmtTs(r[0] - span0)) + '</td><td class="num">' + (r[1] >= 0 ? r[1] : '') + '</td><td>' + esc(r[2]) + '</td><td class="mono">' + esc(r[3]) + '</td><td class="num">' + (r[4] >= 0 ? esc(fmtDur(r[4])) : '') + '</td></tr>'
    })
    sec.innerHTML = html + '</tbody></table>'
    document.getElementById('dynamic-sockets').appendChild(sec)
    return sec
  }

  // ---- deep links ----
  function openHash() {
    var id = decodeURIComponent(location.hash.slice(1))
    if (!id) return
    var m = /^finding-(\d+)$/.exec(id)
    if (m) {
      var f = byId[+m[1]]
      if (!f) return
      var li = document.getElementById(id)
      if (li && li.hidden) document.getElementById('f-clear').click()
      items.forEach(function (x) { x.classList.remove('current') })
      if (li) { li.classList.add('current'); li.scrollIntoView({block: 'center'}) }
      highlighted = f.id
      var win = Math.max((span1 - span0) / 40, 1e6)
      view.t0 = f.ts - win
      view.t1 = f.ts + win
      var row = f.lane >= 0 ? rowOfLane[f.lane] : 0
      scroller.scrollTop = Math.max(0, row * LANE_H - VIEW_H / 2)
      redraw()
      return
    }
    if (/^socket-/.test(id)) {
      var el = document.getElementById(id) || socketSection(id)
      if (el) el.scrollIntoView({block: 'start'})
    }
  }
  window.addEventListener('hashchange', openHash)
  applyFilters()
  draw()
  openHash()
  document.documentElement.setAttribute('data-ready', '1')
})()
