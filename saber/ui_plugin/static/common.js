// Shared by saber's pages. Every text from the results store goes into the DOM through
// textContent or an attribute set by the DOM API, never parsed as markup: a parameter value
// or a study name with markup shows as text.
"use strict";

const saber = (() => {
  const body = document.body;
  const root = body.dataset.root || "";
  const airflow = body.dataset.airflow || "";

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // A link out of the iframe Airflow shows this page in: to Airflow's own pages.
  function topLink(href, text) {
    const a = el("a", text);
    a.href = href;
    a.target = "_top";
    a.addEventListener("click", followInTop);
    return a;
  }

  // Airflow's iframe is sandboxed without allow-top-navigation, so the browser blocks a
  // target=_top link there. It is same-origin (allow-same-origin), so the link is followed by
  // Airflow's own document instead: a navigation that document starts is its own, not the frame's.
  function followInTop(event) {
    if (window.top === window || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    let doc;
    try { doc = window.top.document; } catch (e) { return; }  // another origin's frame: leave it to the browser
    event.preventDefault();
    const link = doc.createElement("a");
    link.href = event.currentTarget.href;
    doc.body.append(link);
    link.click();
    link.remove();
  }

  async function getJSON(path) {
    const response = await fetch(root + path, {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
    }
    return response.json();
  }

  function number(value) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "number") return String(value);
    return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, "");
  }

  function value(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "object") return JSON.stringify(v);
    return number(v);
  }

  function seconds(s) {
    if (s === null || s === undefined) return "";
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60), h = Math.floor(m / 60);
    return h ? `${h} h ${m % 60} min` : `${m} min ${Math.round(s % 60)} s`;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString();
  }

  function showError(error) {
    document.getElementById("message").textContent = String(error.message || error);
  }

  return {root, airflow, el, topLink, getJSON, number, value, seconds, when, showError};
})();
