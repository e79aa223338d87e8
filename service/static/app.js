// The moderators' page: score a pasted comment (POST v1/score), work through the review queue
// (GET v1/review/queue), and record each decision as a label (POST v1/labels).
// Comment text is only ever put in the page with textContent / text nodes, never innerHTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;
  const QUEUE_PAGE = 50;

  const keyBox = $("key-box");
  const keyInput = $("api-key");
  const tokenInput = $("moderator-token");
  const nameInput = $("moderator-name");
  const moderatorBox = $("moderator-box");

  let info = null; // GET v1/model: categories and thresholds
  let infoLoading = null;
  let busyDeciding = false;

  // ------------------------------------------------------------------ helpers

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

  function show(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  function say(node, message, kind) {
    node.textContent = message || "";
    node.className = "status" + (kind ? " status-" + kind : "");
  }

  // A stable id for a pasted comment: two 32-bit FNV-1a hashes of its text.
  function pasteId(text) {
    let a = 0x811c9dc5;
    let b = 0x01000193 ^ text.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    const hex = (n) => (n >>> 0).toString(16).padStart(8, "0");
    return "paste-" + hex(a) + hex(b);
  }

  async function api(path, options) {
    options = options || {};
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
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
      const e = body && body.error;
      const error = new Error((e ? e.message : "HTTP " + response.status) + (e && e.code ? " (" + e.code + ")" : ""));
      error.status = response.status;
      error.code = e ? e.code : null;
      error.field = e ? e.field : null;
      error.serverMessage = e ? e.message : null;
      if (response.status === 401 && !options.moderator) {
        keyBox.hidden = false;
        keyBox.open = true;
      }
      throw error;
    }
    return body;
  }

  function loadInfo() {
    if (!infoLoading) {
      infoLoading = api("v1/model").then((data) => {
        info = data;
        $("model-version").textContent = info.version;
        if (info.limits && info.limits.max_chars) {
          $("comment").maxLength = info.limits.max_chars;
        }
        $("shortcut-last").textContent = String(Math.min(info.categories.length, 9));
        scoreVerdict.build();
        queueVerdict.build();
        return info;
      }).catch((err) => {
        infoLoading = null;
        $("model-version").textContent = "unavailable";
        throw err;
      });
    }
    return infoLoading;
  }

  // ------------------------------------------------------------------ rendering a result

  function renderScores(list, scores) {
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
  function renderHighlighted(target, text, spans) {
    const chars = Array.from(text);
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

  function renderSpans(list, spans) {
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

  function renderReasons(list, reasons) {
    list.replaceChildren();
    const lines = reasons.length ? reasons : ["No category reached its review threshold."];
    for (const line of lines) {
      list.append(el("li", { textContent: line }));
    }
  }

  function renderDecision(node, decision) {
    node.textContent = decision;
    node.className = "decision decision-" + decision;
  }

  // ------------------------------------------------------------------ the moderator's decision

  // Category checkboxes and the approve / reject buttons for one comment at a time.
  function Verdict(container, prefix, onDecide) {
    let boxes = [];
    let note = null;
    let buttons = [];
    return {
      build() {
        if (!info || boxes.length) return;
        const fieldset = el("fieldset", { className: "verdict" }, [el("legend", { textContent: "Your decision" })]);
        const list = el("div", { className: "categories" });
        info.categories.forEach((category, i) => {
          const id = prefix + "-cat-" + i;
          const input = el("input", { type: "checkbox", id, value: category });
          if (i < 9) input.setAttribute("aria-keyshortcuts", String(i + 1));
          const key = el("kbd", { textContent: i < 9 ? String(i + 1) : "" });
          key.setAttribute("aria-hidden", "true");
          list.append(el("label", { htmlFor: id, className: "category" }, [input, " ", key, " ", category]));
          boxes.push(input);
        });
        fieldset.append(list);
        note = el("input", { type: "text", id: prefix + "-note", maxLength: 2000, autocomplete: "off" });
        fieldset.append(el("label", { htmlFor: note.id, className: "note-label", textContent: "Note (optional)" }), note);
        const approve = el("button", { type: "button", className: "approve" }, ["Approve ", el("kbd", { textContent: "a" })]);
        const reject = el("button", { type: "button", className: "reject" }, ["Reject ", el("kbd", { textContent: "r" })]);
        approve.setAttribute("aria-keyshortcuts", "a");
        reject.setAttribute("aria-keyshortcuts", "r");
        approve.addEventListener("click", () => onDecide("approve"));
        reject.addEventListener("click", () => onDecide("reject"));
        buttons = [approve, reject];
        fieldset.append(el("div", { className: "actions" }, buttons));
        container.replaceChildren(fieldset);
      },
      // Tick the categories the model flagged (violations and review).
      reset(flagged) {
        for (const box of boxes) box.checked = flagged.includes(box.value);
        if (note) note.value = "";
      },
      toggle(i) {
        if (i < boxes.length) boxes[i].checked = !boxes[i].checked;
      },
      labels(kind) {
        const labels = {};
        for (const box of boxes) labels[box.value] = kind === "reject" && box.checked ? 1 : 0;
        return labels;
      },
      ticked() {
        return boxes.filter((b) => b.checked).map((b) => b.value);
      },
      note() {
        return note && note.value.trim() ? note.value.trim() : null;
      },
      busy(on) {
        for (const b of buttons) b.disabled = on;
      },
    };
  }

  function rememberModerator() {
    store.setItem("moderation.token", tokenInput.value.trim());
    store.setItem("moderation.name", nameInput.value.trim());
    updateModeratorState();
  }

  function updateModeratorState(recorded) {
    const state = $("moderator-state");
    if (recorded) {
      state.textContent = "saving decisions as " + recorded;
    } else if (tokenInput.value.trim()) {
      state.textContent = "token entered" + (nameInput.value.trim() ? " (" + nameInput.value.trim() + ")" : "");
    } else {
      state.textContent = "no token: enter it to approve or reject";
    }
  }

  function askForToken(message) {
    moderatorBox.open = true;
    tokenInput.setAttribute("aria-invalid", "true");
    tokenInput.focus();
    return message;
  }

  // Why a decision could not be saved, in words a moderator can act on.
  function labelError(err) {
    if (err.status === 401) {
      return askForToken("Your moderator token was not accepted. Check it under “Moderator” and try again.");
    }
    if (err.status === 403) {
      moderatorBox.open = true;
      nameInput.setAttribute("aria-invalid", "true");
      return "Not saved: " + err.serverMessage + ". Clear “Your name” or correct it.";
    }
    if (err.status === 503 && err.code === "feedback_disabled") {
      return "Decisions cannot be saved: this service has no moderator tokens configured. " +
        "Whoever runs it must set MODERATION_MODERATOR_TOKENS and restart it.";
    }
    if (err.status === 503) {
      return "The service has no model loaded right now (it is starting or stopping); try again in a moment.";
    }
    if (err.status === 404 || err.status === 405) {
      return "This service cannot store decisions: it has no POST v1/labels endpoint.";
    }
    if (err.status === 422 && err.field === "moderator") {
      moderatorBox.open = true;
      nameInput.focus();
      return "Not saved: your token has no name attached, so enter your name under “Moderator”.";
    }
    return "Not saved: " + err.message;
  }

  // POST v1/labels for `subject` ({id, text, model}); true when stored.
  async function sendDecision(kind, subject, verdict, status, errorBox) {
    if (busyDeciding) return false;
    show(errorBox, "");
    const token = tokenInput.value.trim();
    if (!token) {
      show(errorBox, askForToken("Enter your moderator token under “Moderator” first: decisions are saved under it."));
      return false;
    }
    const ticked = verdict.ticked();
    if (kind === "reject" && ticked.length === 0) {
      show(errorBox, "Tick at least one category to reject (keys 1–" + Math.min(info.categories.length, 9) + "), or approve.");
      return false;
    }
    const body = { comment_id: subject.id, text: subject.text, labels: verdict.labels(kind), model: subject.model, note: verdict.note() };
    if (nameInput.value.trim()) body.moderator = nameInput.value.trim();
    busyDeciding = true;
    verdict.busy(true);
    say(status, "Saving…");
    try {
      const stored = await api("v1/labels", {
        method: "POST",
        moderator: true,
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
        body: JSON.stringify(body),
      });
      tokenInput.removeAttribute("aria-invalid");
      nameInput.removeAttribute("aria-invalid");
      updateModeratorState(stored.moderator);
      const what = kind === "approve" ? "Approved" : "Rejected (" + ticked.join(", ") + ")";
      say(status, what + " " + subject.id + " · saved to " + stored.stored + " as " + stored.moderator + ".", "ok");
      return true;
    } catch (err) {
      say(status, "");
      show(errorBox, labelError(err));
      return false;
    } finally {
      busyDeciding = false;
      verdict.busy(false);
    }
  }

  // ------------------------------------------------------------------ score a pasted comment

  const comment = $("comment");
  const scoreButton = $("score-button");
  const scoreError = $("error");
  const scoreStatus = $("score-status");
  let pasted = null; // {id, text, model} of the comment last scored

  const scoreVerdict = Verdict($("score-verdict"), "score", (kind) => decidePasted(kind));

  async function decidePasted(kind) {
    if (!pasted) {
      show(scoreError, "Score a comment first, then approve or reject it.");
      return;
    }
    await sendDecision(kind, pasted, scoreVerdict, scoreStatus, scoreError);
  }

  async function score() {
    const text = comment.value;
    show(scoreError, "");
    if (!text.trim()) {
      show(scoreError, "Paste a comment first: there is nothing to score.");
      comment.focus();
      return;
    }
    scoreButton.disabled = true;
    $("busy").textContent = "Scoring…";
    try {
      await loadInfo();
      const data = await api("v1/score", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
      pasted = { id: pasteId(text), text, model: data.model };
      renderDecision($("decision"), data.decision);
      renderScores($("scores"), data.scores);
      renderReasons($("reasons"), data.reasons);
      renderHighlighted($("highlighted"), text, data.spans);
      renderSpans($("spans"), data.spans);
      scoreVerdict.reset(data.violations.concat(data.review));
      say(scoreStatus, "");
      $("result").hidden = false;
    } catch (err) {
      pasted = null;
      $("result").hidden = true;
      show(scoreError, err.message);
      if (err.status === 401) {
        keyInput.focus();
      }
    } finally {
      scoreButton.disabled = false;
      $("busy").textContent = "";
    }
  }

  $("score-form").addEventListener("submit", (event) => {
    event.preventDefault();
    score();
  });
  $("score-form").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      score();
    }
  });

  // ------------------------------------------------------------------ the review queue

  const queue = { items: [], index: 0, total: 0, loaded: false, loading: null };
  const decidedIds = new Set(JSON.parse(store.getItem("moderation.decided") || "[]"));
  const queueError = $("queue-error");
  const queueStatus = $("queue-status");
  const queueVerdict = Verdict($("queue-verdict"), "queue", (kind) => decideQueued(kind));
  const LANES = { likely: "likely violation", uncertain: "uncertain", allow: "allowed by the model" };

  function loadQueue(append) {
    if (queue.loading) return queue.loading;
    const offset = append ? queue.items.length : 0;
    queue.loading = (async () => {
      show(queueError, "");
      try {
        await loadInfo();
        const page = await api("v1/review/queue?limit=" + QUEUE_PAGE + "&offset=" + offset);
        const known = new Set(append ? queue.items.map((item) => item.id) : []);
        const fresh = page.items.filter((item) => !decidedIds.has(item.id) && !known.has(item.id));
        if (append) {
          queue.items.push(...fresh);
        } else {
          queue.items = fresh;
          queue.index = 0;
        }
        queue.total = Math.max(page.total - (page.items.length - fresh.length), queue.items.length);
        queue.loaded = true;
      } catch (err) {
        show(queueError, "The queue cannot be loaded: " + err.message);
      } finally {
        queue.loading = null;
      }
      renderQueue();
    })();
    return queue.loading;
  }

  function current() {
    return queue.items[queue.index] || null;
  }

  function renderQueue() {
    const item = current();
    $("queue-count").textContent = queue.loaded ? "(" + queue.total + ")" : "";
    $("queue-prev").disabled = !item || queue.index === 0;
    $("queue-next").disabled = !item || queue.index + 1 >= queue.total;
    if (!item) {
      $("queue-item").hidden = true;
      $("queue-position").textContent = "";
      show($("queue-empty"), queue.loaded ? "Nothing waiting for review: every queued comment has a decision." : "");
      return;
    }
    show($("queue-empty"), "");
    $("queue-position").textContent = "Comment " + (queue.index + 1) + " of " + queue.total + " waiting";
    renderDecision($("queue-decision"), item.decision);
    const lane = $("queue-lane");
    lane.textContent = LANES[item.lane] || item.lane;
    lane.className = "lane lane-" + item.lane;
    const meta = [item.id];
    if (item.article) meta.push("article " + item.article + (item.number ? " #" + item.number : ""));
    if (item.author) meta.push("by " + item.author);
    if (item.parent) meta.push("reply to " + item.parent);
    $("queue-meta").textContent = meta.join(" · ");
    renderHighlighted($("queue-text"), item.text, item.spans);
    renderScores($("queue-scores"), item.scores);
    renderReasons($("queue-reasons"), item.reasons);
    renderSpans($("queue-spans"), item.spans);
    queueVerdict.reset(item.violations.concat(item.review));
    $("queue-item").hidden = false;
  }

  async function move(step) {
    const next = queue.index + step;
    if (next < 0) return;
    if (next >= queue.items.length) {
      if (queue.items.length >= queue.total) {
        say(queueStatus, "This is the last comment in the queue.");
        return;
      }
      await loadQueue(true);
      if (next >= queue.items.length) return;
    }
    queue.index = next;
    show(queueError, "");
    renderQueue();
  }

  async function decideQueued(kind) {
    const item = current();
    if (!item) return;
    const saved = await sendDecision(kind, { id: item.id, text: item.text, model: item.model },
      queueVerdict, queueStatus, queueError);
    if (!saved) return;
    decidedIds.add(item.id);
    store.setItem("moderation.decided", JSON.stringify([...decidedIds]));
    queue.items.splice(queue.items.indexOf(item), 1);
    queue.total = Math.max(queue.total - 1, queue.items.length);
    if (queue.index >= queue.items.length && queue.items.length < queue.total) {
      await loadQueue(true);
    }
    queue.index = Math.max(0, Math.min(queue.index, queue.items.length - 1));
    renderQueue();
  }

  $("queue-prev").addEventListener("click", () => move(-1));
  $("queue-next").addEventListener("click", () => move(1));
  $("queue-reload").addEventListener("click", () => {
    say(queueStatus, "");
    loadQueue(false);
  });

  // ------------------------------------------------------------------ tabs and shortcuts

  const tabs = [$("tab-score"), $("tab-queue")];

  function selectTab(tab, focus) {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    const hash = tab.id === "tab-queue" ? "#queue" : "";
    if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname + location.search);
    if (tab.id === "tab-queue" && !queue.loaded) loadQueue(false);
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        event.preventDefault();
        const i = tabs.indexOf(tab);
        selectTab(tabs[(i + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length], true);
      }
    });
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    return target.tagName === "INPUT" && !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.repeat) return;
    const onQueue = !$("panel-queue").hidden;
    const verdict = onQueue ? queueVerdict : scoreVerdict;
    const key = event.key;
    if (key === "a" || key === "r") {
      event.preventDefault();
      const kind = key === "a" ? "approve" : "reject";
      if (onQueue) decideQueued(kind);
      else decidePasted(kind);
    } else if (/^[1-9]$/.test(key) && info && (onQueue ? current() : pasted)) {
      event.preventDefault();
      verdict.toggle(Number(key) - 1);
    } else if (onQueue && (key === "j" || key === "k")) {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    }
  });

  // ------------------------------------------------------------------ start

  tokenInput.value = store.getItem("moderation.token") || "";
  nameInput.value = store.getItem("moderation.name") || "";
  for (const input of [tokenInput, nameInput]) {
    input.addEventListener("input", () => {
      input.removeAttribute("aria-invalid");
      rememberModerator();
    });
  }
  updateModeratorState();
  if (!tokenInput.value) moderatorBox.open = true;

  loadInfo().then(() => loadQueue(false)).catch((err) => show(scoreError, err.message));
  if (location.hash === "#queue") selectTab(tabs[1], false);
})();
