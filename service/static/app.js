// The moderators' page: score a comment with POST v1/score and show the result.
// Comment text is only ever put in the page with textContent / text nodes, never innerHTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("score-form");
  const comment = $("comment");
  const button = $("score-button");
  const busy = $("busy");
  const errorBox = $("error");
  const result = $("result");
  const keyBox = $("key-box");
  const keyInput = $("api-key");

  let info = null; // GET v1/model: categories and thresholds

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children || []) {
      node.append(child);
    }
    return node;
  }

  function categoryClass(category) {
    const i = info ? info.categories.indexOf(category) : -1;
    return "cat-" + (i >= 0 ? i % 6 : "other");
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  async function api(path, options) {
    const headers = Object.assign({ Accept: "application/json" }, (options && options.headers) || {});
    if (keyInput.value) {
      headers["X-API-Key"] = keyInput.value;
    }
    let response;
    try {
      response = await fetch(path, Object.assign({}, options, { headers }));
    } catch (err) {
      throw new Error("The service cannot be reached: " + err.message);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      if (response.status === 401) {
        keyBox.hidden = false;
        keyBox.open = true;
      }
      const e = body && body.error;
      const message = e ? e.message : "HTTP " + response.status;
      const error = new Error(message + (e && e.code ? " (" + e.code + ")" : ""));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function loadInfo() {
    try {
      info = await api("v1/model");
      $("model-version").textContent = info.version;
      if (info.limits && info.limits.max_chars) {
        comment.maxLength = info.limits.max_chars;
      }
    } catch (err) {
      $("model-version").textContent = "unavailable";
      showError(err.message);
    }
  }

  function renderScores(scores) {
    const list = $("scores");
    list.replaceChildren();
    for (const [category, p] of Object.entries(scores)) {
      const t = (info && info.thresholds[category]) || {};
      const fill = el("span", { className: "fill " + categoryClass(category) });
      fill.style.width = (p * 100).toFixed(1) + "%";
      const bar = el("span", { className: "bar" }, [fill]);
      bar.setAttribute("aria-hidden", "true");
      for (const kind of ["review", "reject"]) {
        if (typeof t[kind] === "number") {
          const mark = el("span", { className: "mark mark-" + kind, title: kind + " ≥ " + t[kind].toFixed(2) });
          mark.style.left = (t[kind] * 100).toFixed(1) + "%";
          bar.append(mark);
        }
      }
      let level = "";
      if (typeof t.reject === "number" && p >= t.reject) level = " — reject";
      else if (typeof t.review === "number" && p >= t.review) level = " — review";
      const value = el("span", { className: "value", textContent: p.toFixed(2) + level });
      list.append(el("li", {}, [el("span", { className: "name", textContent: category }), bar, value]));
    }
  }

  // Offsets are Python string indices (code points); Array.from splits a JS string the same way.
  function renderHighlighted(text, spans) {
    const chars = Array.from(text);
    const target = $("highlighted");
    target.replaceChildren();
    const cuts = new Set([0, chars.length]);
    for (const s of spans) {
      cuts.add(Math.max(0, Math.min(s.start, chars.length)));
      cuts.add(Math.max(0, Math.min(s.end, chars.length)));
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i];
      const b = points[i + 1];
      const piece = chars.slice(a, b).join("");
      const covering = spans.filter((s) => s.start <= a && s.end >= b);
      if (covering.length === 0) {
        target.append(document.createTextNode(piece));
        continue;
      }
      covering.sort((x, y) => y.weight - x.weight);
      const label = covering.map((s) => s.category + " " + s.weight.toFixed(2) + (s.source === "lexicon" ? " (word list)" : "")).join(", ");
      target.append(el("mark", { className: categoryClass(covering[0].category), title: label, textContent: piece }));
    }
  }

  function renderSpans(spans) {
    const list = $("spans");
    list.replaceChildren();
    if (spans.length === 0) {
      list.append(el("li", { textContent: "No evidence spans." }));
      return;
    }
    for (const s of spans) {
      list.append(el("li", {}, [
        el("q", { textContent: s.text }),
        " ",
        el("span", { className: "tag " + categoryClass(s.category), textContent: s.category }),
        " " + s.weight.toFixed(2) + (s.source === "lexicon" ? " · policy word list" : "") + " · characters " + s.start + "–" + s.end,
      ]));
    }
  }

  function render(text, data) {
    const decision = $("decision");
    decision.textContent = data.decision;
    decision.className = "decision decision-" + data.decision;
    renderScores(data.scores);
    const reasons = $("reasons");
    reasons.replaceChildren();
    const lines = data.reasons.length ? data.reasons : ["No category reached its review threshold."];
    for (const line of lines) {
      reasons.append(el("li", { textContent: line }));
    }
    renderHighlighted(text, data.spans);
    renderSpans(data.spans);
    result.hidden = false;
  }

  async function score() {
    const text = comment.value;
    clearError();
    if (!text.trim()) {
      showError("Paste a comment first: there is nothing to score.");
      comment.focus();
      return;
    }
    button.disabled = true;
    busy.textContent = "Scoring…";
    try {
      if (!info) {
        await loadInfo();
      }
      const data = await api("v1/score", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
      render(text, data);
    } catch (err) {
      result.hidden = true;
      showError(err.message);
      if (err.status === 401) {
        keyInput.focus();
      }
    } finally {
      button.disabled = false;
      busy.textContent = "";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    score();
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      score();
    }
  });

  loadInfo();
})();
