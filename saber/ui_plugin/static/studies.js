// The studies list: every study and sweep in the results store, newest first.
"use strict";

(() => {
  const {el, getJSON, number, seconds, when, showError, root} = saber;
  const select = document.getElementById("workflow");
  const tbody = document.querySelector("#studies tbody");

  async function load(workflow) {
    const query = workflow ? `?workflow=${encodeURIComponent(workflow)}` : "";
    const data = await getJSON(`/api/studies${query}`);
    if (select.options.length === 1) {
      for (const w of data.workflows) {
        const option = el("option", w);
        option.value = w;
        select.append(option);
      }
    }
    select.value = workflow;
    document.getElementById("count").textContent = `${data.total} shown`;
    tbody.replaceChildren(...data.studies.map(row));
  }

  function row(s) {
    const tr = el("tr");
    const name = el("a", s.name);
    name.href = `${root}/studies/${encodeURIComponent(s.name)}`;
    const t = s.trials;
    const trials = `${t.done} / ${t.running} / ${t.failed}` + (t.waiting ? ` / ${t.waiting} queued` : "");
    const cells = [name, s.kind, s.workflow, s.dag_id, s.method, s.direction, trials, number(s.best_score),
                   when(s.created), seconds(s.wall_s), seconds(s.container_s)];
    for (const cell of cells) {
      const td = el("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = cell ?? "";
      tr.append(td);
    }
    return tr;
  }

  select.addEventListener("change", () => {
    const url = new URL(window.location.href);
    if (select.value) url.searchParams.set("workflow", select.value); else url.searchParams.delete("workflow");
    window.history.replaceState(null, "", url);
    load(select.value).catch(showError);
  });
  load(document.body.dataset.workflow || "").catch(showError);
})();
