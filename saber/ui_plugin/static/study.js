// One study: its summary, the best trial, a sortable paged table of trials (sorted and paged by
// the server, so a 10,000-trial study sends 100 rows) and plots drawn by the bundled plotly.js.
"use strict";

(() => {
  const {el, topLink, getJSON, number, value, seconds, when, showError} = saber;
  // Plotly reads a subset of HTML in titles, names, hover texts and category labels: text from
  // the store goes in with its markup characters as entities, so it shows as typed.
  const plain = v => String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const category = v => (typeof v === "number" ? v : plain(typeof v === "object" ? JSON.stringify(v) : v));
  const name = document.body.dataset.study;
  const base = `/api/studies/${encodeURIComponent(name)}`;
  const PAGE = 100;
  const state = {offset: 0, sort: "number", order: "asc"};

  async function summary() {
    const s = await getJSON(base);
    const t = s.trials;
    const items = [["Kind", s.kind], ["Workflow", s.workflow], ["DAG", s.dag_id], ["Sampler", s.method],
                   ["Objective", s.objective ? `${s.objective} (${s.direction})` : s.direction],
                   ["Trials", `${t.done} complete, ${t.running} running, ${t.failed} failed, ${t.waiting} queued`],
                   ["Best score", number(s.best_score)], ["Created", when(s.created)],
                   ["Wall time", seconds(s.wall_s)], ["Container time", seconds(s.container_s)]];
    const dl = document.getElementById("summary");
    for (const [k, v] of items) {
      if (v === null || v === undefined || v === "") continue;
      dl.append(el("dt", k), el("dd", v));
    }
  }

  async function trials() {
    const query = `?offset=${state.offset}&limit=${PAGE}&sort=${encodeURIComponent(state.sort)}&order=${state.order}`;
    const page = await getJSON(`${base}/trials${query}`);
    const best = page.best;
    document.getElementById("best").textContent =
      best ? `Best trial: #${best.number}, score ${number(best.score)}` : "";
    const columns = [["number", "#"], ["state", "state"],
                     ...page.params.map(p => [`param:${p}`, p]), ["score", "score"],
                     ...page.steps.map(s => [`step:${s}`, s]),
                     ["start", "start"], ["duration", "duration"], ["container", "container"], [null, "links"]];
    const head = document.querySelector("#trials thead tr");
    head.replaceChildren(...columns.map(([key, label]) => header(key, label)));
    const tbody = document.querySelector("#trials tbody");
    tbody.replaceChildren(...page.trials.map(t => row(t, page, best)));
    const end = Math.min(page.offset + page.trials.length, page.total);
    document.getElementById("range").textContent =
      page.total ? `${page.offset + 1}-${end} of ${page.total}` : "no trials yet";
    document.getElementById("prev").disabled = page.offset === 0;
    document.getElementById("next").disabled = end >= page.total;
  }

  function header(key, label) {
    const th = el("th", label);
    if (!key) return th;
    th.dataset.sort = key;
    if (key === state.sort) th.className = `sorted-${state.order}`;
    th.addEventListener("click", () => {
      state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
      state.sort = key;
      state.offset = 0;
      trials().catch(showError);
    });
    return th;
  }

  function row(t, page, best) {
    const tr = el("tr", null, best && t.number === best.number ? "best" : "");
    const cells = [[t.number, "num"], [t.state, `state-${t.state}`],
                   ...page.params.map(p => [value(t.params[p]), ""]), [number(t.score), "num"],
                   ...page.steps.map(s => [number(t.steps[s]), "num"]),
                   [when(t.start), ""], [seconds(t.duration_s), "num"], [seconds(t.container_s), "num"]];
    for (const [text, cls] of cells) tr.append(el("td", text, cls));
    const links = el("td");
    if (t.links.run) links.append(topLink(t.links.run, "run"));
    if (t.links.log) links.append(" ", topLink(t.links.log, "log"));
    if (t.error) links.title = t.error;
    tr.append(links);
    return tr;
  }

  // plotly.js is 4.8 MB: fetched at once but run without holding up the table, which is what a
  // user looks at first; the plot data is asked for once the table is drawn, so the server
  // answers the page of trials before it reads every trial for the plots.
  const plotly = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = `${saber.root}/static/plotly.min.js`;
    script.onload = resolve;
    script.onerror = () => reject(new Error("plotly.min.js did not load"));
    document.head.append(script);
  });

  async function plots() {
    const [data] = await Promise.all([getJSON(`${base}/plots`), plotly]);
    const box = document.getElementById("plots");
    const fixed = Object.entries(data.fixed).map(([k, v]) => `${k} = ${value(v)}`).join(", ");
    document.getElementById("fixed").textContent =
      fixed ? `Fixed inputs (one value in every complete trial, not plotted): ${fixed}` : "";
    if (!data.scored) {
      box.append(el("p", "A plain sweep: its workflow has no scored step, nothing to plot.", "note"));
      return;
    }
    if (!data.complete) {
      box.append(el("p", "No complete trial yet: nothing to plot.", "note"));
      return;
    }
    for (const o of data.objectives) {
      const history = el("div", null, "plot");
      box.append(history);
      Plotly.newPlot(history, [
        {x: o.history.number, y: o.history.value, mode: "markers", type: "scatter", name: "score"},
        {x: o.history.number, y: o.history.best, mode: "lines", type: "scatter", name: "best so far"},
      ], {title: {text: plain(`Optimization history: ${o.step}`)}, xaxis: {title: {text: "trial"}},
          yaxis: {title: {text: plain(o.axis)}}}, {displaylogo: false, responsive: true});
      for (const [param, points] of Object.entries(o.slices)) {
        const plot = el("div", null, "plot");
        box.append(plot);
        Plotly.newPlot(plot, [{x: points.x.map(category), y: points.y, text: points.number.map(n => `trial ${n}`),
                               mode: "markers", type: "scatter", name: plain(param)}],
                       {title: {text: plain(`${param} (slice)`)}, xaxis: {title: {text: plain(param)}},
                        yaxis: {title: {text: plain(o.axis)}}}, {displaylogo: false, responsive: true});
      }
      importance(box, o);
      parallel(box, o);
    }
  }

  // Most important at the top: plotly draws a horizontal bar chart's first category lowest.
  function importance(box, o) {
    const imp = o.importance;
    if (imp.note) box.append(el("p", imp.note, "note"));
    if (!imp.params.length) return;
    const plot = el("div", null, "plot");
    box.append(plot);
    Plotly.newPlot(plot, [{x: imp.values.slice().reverse(), y: imp.params.map(plain).reverse(), type: "bar",
                           orientation: "h", name: "importance"}],
                   {title: {text: plain(`Parameter importance: ${o.step} (${imp.method})`)},
                    xaxis: {title: {text: "share of importance"}, rangemode: "tozero"},
                    yaxis: {automargin: true}}, {displaylogo: false, responsive: true});
  }

  // One axis per varied parameter and the score's; lines coloured by the score.
  function parallel(box, o) {
    const par = o.parallel;
    if (par.note) box.append(el("p", par.note, "note"));
    if (par.lines < 2 || par.dimensions.length < 2) return;
    const dimensions = par.dimensions.map(d => {
      const axis = {label: plain(d.label), values: d.values};
      if (d.ticktext) Object.assign(axis, {tickvals: d.tickvals, ticktext: d.ticktext.map(plain)});
      return axis;
    });
    const scores = par.dimensions[par.dimensions.length - 1].values;
    const plot = el("div", null, "plot");
    box.append(plot);
    Plotly.newPlot(plot, [{type: "parcoords", dimensions,
                           line: {color: scores, colorscale: "Viridis", showscale: true,
                                  reversescale: o.direction === "minimize"}}],
                   {title: {text: plain(`Parallel coordinates: ${o.step}`)}}, {displaylogo: false, responsive: true});
  }

  document.getElementById("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    trials().catch(showError);
  });
  document.getElementById("next").addEventListener("click", () => {
    state.offset += PAGE;
    trials().catch(showError);
  });
  summary().catch(showError);
  trials().catch(showError).finally(() => plots().catch(showError));
})();
