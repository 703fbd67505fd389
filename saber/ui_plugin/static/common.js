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
    return a;
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
