/* global document, window, fetch, sessionStorage, setTimeout, clearTimeout, Option, uPlot */
// The dashboard's script, served as a file so that the Content-Security-Policy needs no inline script.
// Everything from the service (names, attributes, messages) goes into the DOM as text, never as HTML.
"use strict"
;(() => {
  const $ = (id) => document.getElementById(id)
  const tokenKey = "mcp-apm-token"
  const pollMillis = 2000
  const keptPoints = 600
  const severities = ["INFO", "WARNING", "ERROR", "CRITICAL"]
  const severityColor = { INFO: "#2e6bd8", WARNING: "#f79009", ERROR: "#d92d20", CRITICAL: "#7a0916" }
  const severityRank = { INFO: 0, WARNING: 1, ERROR: 2, CRITICAL: 3 }

  // A name holding U+202E could reverse the text of its row: such controls are shown escaped.
  const bidiControls = /[\u202A-\u202E\u2066-\u2069]/g
  const shown = (text) =>
    String(text).replace(bidiControls, (c) => "\\u" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0"))

  const state = {
    asking: false,
    refused: false,
    snapshot: undefined,
    history: new Map(),
    resources: [],
    since: 0,
    interval: 2,
    sensitivity: 2,
    selected: undefined,
    chosenByUser: false,
    focusTime: undefined,
    sort: { key: "p95Duration", descending: true },
    multiples: []
  }

  // ---- token ----
  const authorization = () => {
    const token = sessionStorage.getItem(tokenKey)
    return token === null ? {} : { authorization: "Bearer " + token }
  }
  const ask = (message, error) => {
    state.asking = true
    $("login-message").textContent = message
    $("login-error").textContent = error
    $("login").hidden = false
    $("token").focus()
  }
  $("login").addEventListener("submit", (event) => {
    event.preventDefault()
    sessionStorage.setItem(tokenKey, $("token").value)
    $("token").value = ""
    $("login").hidden = true
    state.asking = false
    refresh()
  })

  class Unauthorized extends Error {}
  const get = async (path) => {
    const response = await fetch(path, { cache: "no-store", headers: authorization() })
    if (response.status === 401) throw new Unauthorized()
    if (!response.ok) throw new Error("HTTP " + response.status + ": " + (await response.text()).trim())
    return response.json()
  }

  // ---- formatting ----
  const ms = (seconds) => seconds === null || seconds === undefined ? "–" : (seconds * 1000).toFixed(1) + " ms"
  const percent = (fraction) => (fraction * 100).toFixed(1) + "%"
  const clock = (millis) => new Date(millis).toLocaleTimeString()
  const cell = (text, className) => {
    const td = document.createElement("td")
    td.textContent = text
    if (className) td.className = className
    return td
  }
  const row = (cells, className) => {
    const tr = document.createElement("tr")
    if (className) tr.className = className
    for (const c of cells) tr.appendChild(typeof c === "string" ? cell(c) : c)
    return tr
  }

  // ---- charts ----
  const widthOf = (el) => Math.max(200, el.clientWidth - 2)
  const latencySeries = (label, color) => ({
    label,
    stroke: color,
    width: 1.5,
    value: (_u, v) => v === null ? "–" : v.toFixed(1) + " ms"
  })
  const bandSeries = (label) => ({
    label,
    stroke: "rgba(18,140,90,.7)",
    dash: [4, 4],
    width: 1,
    value: (_u, v) => v === null ? "–" : v.toFixed(1) + " ms"
  })
  const markerSeries = (severity) => ({
    label: "anomaly " + severity,
    stroke: severityColor[severity],
    fill: severityColor[severity],
    paths: () => null,
    points: { show: true, size: 10, stroke: severityColor[severity], fill: severityColor[severity] },
    value: (_u, v) => v === null ? "–" : v.toFixed(1) + " ms"
  })
  const focusLine = (u) => {
    if (state.focusTime === undefined) return
    const x = u.valToPos(state.focusTime / 1000, "x", true)
    if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) return
    const ctx = u.ctx
    ctx.save()
    ctx.strokeStyle = "#7a0916"
    ctx.lineWidth = 2
    ctx.beginPath()
    ctx.moveTo(x, u.bbox.top)
    ctx.lineTo(x, u.bbox.top + u.bbox.height)
    ctx.stroke()
    ctx.restore()
  }

  const latencyElement = $("latency-chart")
  const latencyChart = new uPlot(
    {
      width: widthOf(latencyElement),
      height: 280,
      scales: { x: { time: true } },
      series: [
        {},
        latencySeries("p50", "#2e6bd8"),
        latencySeries("p95", "#d9480f"),
        bandSeries("baseline low"),
        bandSeries("baseline high"),
        ...severities.map(markerSeries)
      ],
      bands: [{ series: [4, 3], fill: "rgba(18,183,106,.15)" }],
      axes: [{}, { label: "ms", size: 60 }],
      hooks: { draw: [focusLine] }
    },
    [[], [], [], [], [], [], [], [], []],
    latencyElement
  )
  let markersAt = new Map()
  latencyChart.over.addEventListener("click", () => {
    const idx = latencyChart.cursor.idx
    const found = idx === null || idx === undefined ? undefined : markersAt.get(idx)
    if (found !== undefined) showAnomaly(found[found.length - 1])
  })

  const smallChart = (element, series, scales = {}) =>
    new uPlot(
      {
        width: widthOf(element),
        height: 150,
        scales: { x: { time: true }, ...scales },
        series: [{}, ...series],
        axes: [{}, { size: 60 }, ...(scales.pct ? [{ scale: "pct", side: 1, size: 50, grid: { show: false } }] : [])],
        legend: { live: true }
      },
      [[], ...series.map(() => [])],
      element
    )

  const line = (label, stroke, scale) => ({ label, stroke, width: 1.5, ...(scale ? { scale } : {}) })
  const resourceCharts = {
    cpu: smallChart($("chart-cpu"), [line("process %", "#2e6bd8"), line("machine %", "#667085")]),
    memory: smallChart($("chart-memory"), [
      line("rss", "#7f56d9"),
      line("heap used", "#2e6bd8"),
      line("% of limit", "#667085", "pct")
    ], { pct: {} }),
    loop: smallChart($("chart-loop"), [line("delay p99 ms", "#d9480f"), line("utilisation %", "#12b76a", "pct")], {
      pct: {}
    }),
    gc: smallChart($("chart-gc"), [line("pause ms", "#d9480f")]),
    io: smallChart($("chart-io"), [
      line("disk read", "#2e6bd8"),
      line("disk write", "#7f56d9"),
      line("net received", "#12b76a"),
      line("net sent", "#f79009")
    ])
  }

  const countPoints = (column) => column.reduce((n, v) => v === null || v === undefined ? n : n + 1, 0)
  const setChart = (chart, data) => {
    chart.setData(data)
    // what a test (or a curious user) can read without looking at pixels
    chart.root.parentElement.dataset.points = String(countPoints(data[1] ?? []))
  }

  window.addEventListener("resize", () => {
    latencyChart.setSize({ width: widthOf(latencyElement), height: 280 })
    for (const chart of [...Object.values(resourceCharts), ...state.multiples.map((m) => m.chart)]) {
      chart.setSize({ width: widthOf(chart.root.parentElement), height: 150 })
    }
  })

  // ---- data ----
  // the API sends columns (one array per field); the page keeps points (one object per interval)
  const pointsOf = (columns) =>
    (columns.time ?? []).map((_, i) => Object.fromEntries(Object.keys(columns).map((k) => [k, columns[k][i]])))
  const merge = (history) => {
    state.interval = history.interval
    state.sensitivity = history.sensitivity
    for (const op of history.operations) {
      let kept = state.history.get(op.operationName)
      if (kept === undefined) {
        kept = { type: op.operationType, points: [] }
        state.history.set(op.operationName, kept)
      }
      const points = pointsOf(op.points)
      kept.points.push(...points)
      if (kept.points.length > keptPoints) kept.points.splice(0, kept.points.length - keptPoints)
      for (const p of points) state.since = Math.max(state.since, p.time)
    }
    const resources = pointsOf(history.resources)
    state.resources.push(...resources)
    if (state.resources.length > keptPoints) state.resources.splice(0, state.resources.length - keptPoints)
    for (const r of resources) state.since = Math.max(state.since, r.time)
  }

  const band = (p, sign) =>
    p.baselineMean === null ? null : Math.max(0, (p.baselineMean + sign * state.sensitivity * p.baselineStddev) * 1000)
  const toMs = (v) => v === null ? null : v * 1000

  const anomaliesOf = (name) => (state.snapshot?.anomalies ?? []).filter((a) => a.operationName === name)

  const drawLatency = () => {
    const name = state.selected
    const kept = name === undefined ? undefined : state.history.get(name)
    $("selected-name").textContent = name === undefined ? "(no operation yet)" : shown(name)
    $("selected-type").textContent = kept === undefined ? "" : kept.type
    $("sensitivity").textContent = String(state.sensitivity)
    const points = kept?.points ?? []
    const x = points.map((p) => p.time / 1000)
    const markers = severities.map(() => points.map(() => null))
    markersAt = new Map()
    for (const a of name === undefined ? [] : anomaliesOf(name)) {
      // where the episode began: the moment the fault arrived
      let idx = points.findIndex((p) => p.time >= a.firstSeen)
      if (idx === -1) idx = points.length - 1
      if (idx < 0) continue
      const column = markers[severityRank[a.severity]]
      column[idx] = Math.max(column[idx] ?? 0, a.duration * 1000)
      markersAt.set(idx, [...(markersAt.get(idx) ?? []), a])
    }
    setChart(latencyChart, [
      x,
      points.map((p) => toMs(p.p50)),
      points.map((p) => toMs(p.p95)),
      points.map((p) => band(p, -1)),
      points.map((p) => band(p, 1)),
      ...markers
    ])
    const element = latencyElement
    element.dataset.bandPoints = String(countPoints(points.map((p) => band(p, 1))))
    element.dataset.anomalyMarkers = String(markers.reduce((n, column) => n + countPoints(column), 0))
    element.dataset.operation = name ?? ""
  }

  const drawMultiples = (ops) => {
    const names = ops.filter((s) => s.operationName !== state.selected).slice(0, 3).map((s) => s.operationName)
    if (names.join("\u0000") !== state.multiples.map((m) => m.name).join("\u0000")) {
      for (const m of state.multiples) m.chart.destroy()
      const container = $("multiples")
      container.replaceChildren()
      state.multiples = names.map((name) => {
        const box = document.createElement("div")
        const title = document.createElement("h3")
        title.textContent = shown(name)
        const chartBox = document.createElement("div")
        chartBox.className = "chart small"
        box.append(title, chartBox)
        box.addEventListener("click", () => select(name, true))
        container.appendChild(box)
        const chart = smallChart(chartBox, [
          line("p95 ms", "#d9480f"),
          line("band low", "rgba(18,140,90,.7)"),
          line("band high", "rgba(18,140,90,.7)")
        ])
        return { name, chart }
      })
    }
    for (const m of state.multiples) {
      const points = state.history.get(m.name)?.points ?? []
      setChart(m.chart, [
        points.map((p) => p.time / 1000),
        points.map((p) => toMs(p.p95)),
        points.map((p) => band(p, -1)),
        points.map((p) => band(p, 1))
      ])
    }
  }

  const spark = (name) => {
    const canvas = document.createElement("canvas")
    canvas.className = "spark"
    canvas.width = 120
    canvas.height = 24
    const values = (state.history.get(name)?.points ?? []).slice(-60).map((p) => p.p95).filter((v) => v !== null)
    const ctx = canvas.getContext("2d")
    if (ctx && values.length > 1) {
      const max = Math.max(...values), min = Math.min(...values)
      ctx.strokeStyle = "#d9480f"
      ctx.beginPath()
      values.forEach((v, i) => {
        const x = (i / (values.length - 1)) * 118 + 1
        const y = 22 - ((v - min) / (max - min || 1)) * 20
        if (i === 0) ctx.moveTo(x, y)
        else ctx.lineTo(x, y)
      })
      ctx.stroke()
    }
    const td = document.createElement("td")
    td.appendChild(canvas)
    return td
  }

  const rateOf = (name) => {
    const points = state.history.get(name)?.points ?? []
    const last = points[points.length - 1]
    return last === undefined ? 0 : last.count / state.interval
  }

  const anomalousNames = () => {
    const now = state.since
    const names = new Set()
    for (const a of state.snapshot?.anomalies ?? []) {
      if (severityRank[a.severity] >= 1 && now - a.lastSeen < 60_000) names.add(a.operationName)
    }
    return names
  }

  const drawOperations = () => {
    const snapshot = state.snapshot
    const baselines = new Map(snapshot.baselines.map((b) => [b.operationName, b]))
    const typeFilter = $("filter-type").value
    const nameFilter = $("filter-name").value.toLowerCase()
    const types = [...new Set(snapshot.summaries.map((s) => s.operationType))].sort()
    const typeSelect = $("filter-type")
    if (types.join() !== [...typeSelect.options].slice(1).map((o) => o.value).join()) {
      typeSelect.replaceChildren(new Option("all", ""), ...types.map((t) => new Option(t, t)))
      typeSelect.value = types.includes(typeFilter) ? typeFilter : ""
    }
    const rows = snapshot.summaries.map((s) => ({
      ...s,
      rate: rateOf(s.operationName),
      baselineP95: baselines.get(s.operationName)?.p95 ?? null
    }))
    const { key, descending } = state.sort
    rows.sort((a, b) => {
      const x = a[key] ?? -1, y = b[key] ?? -1
      const order = typeof x === "string" ? x.localeCompare(y) : x - y
      return descending ? -order : order
    })
    const anomalous = anomalousNames()
    const visible = rows.filter((s) =>
      (typeFilter === "" || s.operationType === typeFilter) && s.operationName.toLowerCase().includes(nameFilter)
    )
    $("operations").replaceChildren(...visible.map((s) => {
      const classes = [
        s.successRate < 0.95 ? "bad" : "",
        anomalous.has(s.operationName) ? "anomalous" : "",
        s.operationName === state.selected ? "selected" : ""
      ]
      const tr = row([
        shown(s.operationName),
        s.operationType,
        s.rate.toFixed(1) + "/s",
        percent(s.successRate),
        ms(s.p50Duration),
        ms(s.p95Duration),
        ms(s.p99Duration),
        ms(s.baselineP95),
        spark(s.operationName)
      ], classes.filter(Boolean).join(" "))
      tr.addEventListener("click", () => select(s.operationName, true))
      return tr
    }))
    for (const th of document.querySelectorAll("th[data-sort]")) th.classList.toggle("sorted", th.dataset.sort === key)
    return rows
  }

  const showAnomaly = (a) => {
    const detail = $("anomaly-detail")
    detail.hidden = false
    detail.textContent = a.severity + " " + a.kind + " in " + shown(a.operationName) + ": " + ms(a.duration) +
      " against a baseline of " +
      ms(a.baselineMean) + " ± " + ms(a.baselineStddev) + " (z " + a.zScore.toFixed(1) + ", " + a.count +
      " samples), " +
      clock(a.firstSeen) + " to " + clock(a.lastSeen)
  }

  const drawAnomalies = () => {
    $("anomalies").replaceChildren(...state.snapshot.anomalies.map((a) => {
      const tr = row([
        clock(a.lastSeen),
        a.severity,
        a.kind,
        shown(a.operationName),
        ms(a.duration),
        ms(a.baselineMean),
        a.zScore.toFixed(1)
      ], a.severity.toLowerCase())
      tr.addEventListener("click", () => {
        state.focusTime = a.lastSeen
        select(a.operationName, true)
        showAnomaly(a)
      })
      return tr
    }))
    $("insights").replaceChildren(
      ...state.snapshot.insights.map((i) =>
        row([i.severity, shown(i.message), shown(i.recommendation)], i.severity.toLowerCase())
      )
    )
  }

  const drawResources = () => {
    const r = state.resources
    const x = r.map((p) => p.time / 1000)
    const mib = (v) => v === null ? null : v / 1048576
    const kib = (v) => v === null ? null : v / 1024
    setChart(resourceCharts.cpu, [x, r.map((p) => p.cpuProcess), r.map((p) => p.cpuMachine)])
    setChart(resourceCharts.memory, [
      x,
      r.map((p) => mib(p.rss)),
      r.map((p) => mib(p.heapUsed)),
      r.map((p) => p.memoryFraction * 100)
    ])
    setChart(resourceCharts.loop, [
      x,
      r.map((p) => toMs(p.eventLoopDelayP99)),
      r.map((p) => p.eventLoopUtilization === null ? null : p.eventLoopUtilization * 100)
    ])
    setChart(resourceCharts.gc, [x, r.map((p) => toMs(p.gcPauseSeconds))])
    setChart(resourceCharts.io, [
      x,
      ...[
        "diskReadBytesPerSecond",
        "diskWriteBytesPerSecond",
        "networkReceivedBytesPerSecond",
        "networkSentBytesPerSecond"
      ].map((k) => r.map((p) => kib(p[k])))
    ])
    const now = state.snapshot.resources
    $("resource-now").textContent = now === null
      ? "no resource monitor"
      : "now: CPU " + now.cpu.total.toFixed(1) + "% of a core, memory " + (now.memory.rss / 1048576).toFixed(0) +
        " MiB rss (" +
        percent(now.memory.usedFraction ?? now.memory.rssFraction) + " of the " + now.memory.limitSource +
        " limit), heap " +
        (now.memory.heapUsed / 1048576).toFixed(0) + " MiB"
  }

  const select = (name, byUser) => {
    if (byUser) state.chosenByUser = true
    state.selected = name
    if (state.snapshot !== undefined) draw()
  }

  const draw = () => {
    const snapshot = state.snapshot
    if (!state.chosenByUser) {
      // until the user picks one: the operation of the newest anomaly above INFO, else the slowest
      const newest = snapshot.anomalies.find((a) => severityRank[a.severity] >= 1)
      const slowest = [...snapshot.summaries].sort((a, b) => b.p95Duration - a.p95Duration)[0]
      state.selected = newest?.operationName ?? slowest?.operationName
    }
    const rows = drawOperations()
    drawLatency()
    drawMultiples([...rows].sort((a, b) => b.p95Duration - a.p95Duration))
    drawAnomalies()
    drawResources()
  }

  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort
      state.sort = { key, descending: state.sort.key === key ? !state.sort.descending : true }
      if (state.snapshot !== undefined) draw()
    })
  }
  $("filter-name").addEventListener("input", () => state.snapshot !== undefined && draw())
  $("filter-type").addEventListener("change", () => state.snapshot !== undefined && draw())

  // ---- live ----
  const status = (text, className) => {
    $("status").textContent = text
    $("status").className = "status " + className
  }
  let timer
  async function refresh() {
    clearTimeout(timer)
    if (state.asking) return
    try {
      const [snapshot, history] = await Promise.all([get("/api/apm"), get("/api/apm/history?since=" + state.since)])
      state.refused = false
      state.snapshot = snapshot
      merge(history)
      draw()
      status("live · updated " + new Date().toLocaleTimeString(), "live")
    } catch (e) {
      if (e instanceof Unauthorized) {
        const refused = sessionStorage.getItem(tokenKey) !== null
        sessionStorage.removeItem(tokenKey)
        status(refused ? "the token was refused" : "this dashboard needs a token", "down")
        ask(
          "APM_HTTP_TOKEN:",
          refused
            ? "Wrong token: the service refused it (401). Enter the value of APM_HTTP_TOKEN."
            : "This dashboard is guarded by APM_HTTP_TOKEN."
        )
        return
      }
      status("cannot reach the service (" + e.message + "); retrying every " + pollMillis / 1000 + " s", "down")
    }
    timer = setTimeout(refresh, pollMillis)
  }
  refresh()
})()
