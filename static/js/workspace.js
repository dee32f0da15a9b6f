// The annotator's workspace: keyboard shortcuts, lease countdown, live word diff of corrections.
// Untrusted text is only ever read with textContent and written with textContent/createTextNode.
(function () {
  "use strict";

  var loadedAt = Date.now();
  var countdownTimer = null;

  function workspace() { return document.getElementById("workspace") || document; }
  function form() { return document.querySelector("[data-submit-form]"); }
  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "textarea" || (tag === "input" && /^(text|search|email|number|url)$/.test(target.type)) || target.isContentEditable;
  }

  // ---- live word diff ---------------------------------------------------------------------
  function tokens(text) { return text.split(/(\s+)/).filter(function (t) { return t.length > 0; }); }

  function diff(a, b) {
    var n = a.length, m = b.length;
    if (n * m > 4000000) { return null; }
    var lcs = [];
    for (var i = 0; i <= n; i++) { lcs.push(new Uint32Array(m + 1)); }
    for (i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    var out = [];
    i = 0; j = 0;
    function push(op, text) {
      if (out.length && out[out.length - 1][0] === op) { out[out.length - 1][1] += text; }
      else { out.push([op, text]); }
    }
    while (i < n && j < m) {
      if (a[i] === b[j]) { push("equal", a[i]); i++; j++; }
      else if (lcs[i + 1][j] >= lcs[i][j + 1]) { push("delete", a[i]); i++; }
      else { push("insert", b[j]); j++; }
    }
    while (i < n) { push("delete", a[i++]); }
    while (j < m) { push("insert", b[j++]); }
    return out;
  }

  function renderDiff(textarea) {
    var target = document.querySelector('[data-diff-for="' + textarea.id + '"]');
    var original = document.getElementById("original-response");
    if (!target || !original) { return; }
    var before = original.textContent, after = textarea.value;
    while (target.firstChild) { target.removeChild(target.firstChild); }
    if (before === after) {
      target.appendChild(document.createTextNode("No changes to the original response."));
      target.classList.add("unchanged");
      return;
    }
    target.classList.remove("unchanged");
    var segments = diff(tokens(before), tokens(after));
    if (segments === null) {
      target.appendChild(document.createTextNode("The texts are too long to compare live."));
      return;
    }
    segments.forEach(function (segment) {
      var node = segment[0] === "equal" ? document.createElement("span")
        : document.createElement(segment[0] === "insert" ? "ins" : "del");
      node.textContent = segment[1];
      target.appendChild(node);
    });
  }

  // ---- lease countdown --------------------------------------------------------------------
  function startCountdown() {
    if (countdownTimer) { clearInterval(countdownTimer); }
    var time = document.querySelector("[data-expires]");
    var out = document.querySelector("[data-countdown]");
    if (!time || !out) { return; }
    var expires = Date.parse(time.getAttribute("data-expires"));
    function tick() {
      var left = Math.round((expires - Date.now()) / 1000);
      if (left <= 0) {
        out.textContent = "(expired: submit still works while the slot is free)";
        out.classList.add("expired");
        clearInterval(countdownTimer);
        return;
      }
      var minutes = Math.floor(left / 60), seconds = left % 60;
      out.textContent = "(" + minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " left)";
      out.classList.toggle("warning", left < 120);
    }
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  // ---- keyboard -----------------------------------------------------------------------------
  function activeGroup(target) {
    var field = target && target.closest ? target.closest("fieldset[data-field]") : null;
    if (field && field.querySelector("[data-key]")) { return field; }
    return workspace().querySelector("fieldset[data-field] [data-key]") ?
      workspace().querySelector("fieldset[data-field] [data-key]").closest("fieldset") : null;
  }

  function pick(group, key) {
    var input = group.querySelector('input[data-key="' + key + '"]');
    if (!input) { return; }
    if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
    input.focus();
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // A key pressed right after a swap can beat htmx to the new form; binding it first keeps the
  // submit an htmx swap instead of a full page post.
  function bound(current) {
    if (window.htmx) { window.htmx.process(current); }
  }

  function submit(current) {
    if (!current) { return; }
    bound(current);
    var button = current.querySelector('button[type="submit"]:not([data-skip])');
    if (button && !button.disabled) { button.click(); }
  }

  function skip(current) {
    if (!current) { return; }
    bound(current);
    // A click (not requestSubmit) so htmx posts to the button's own skip URL.
    var button = current.querySelector("button[data-skip]");
    if (button && !button.disabled) { button.click(); }
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog) { return; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }

  document.addEventListener("keydown", function (event) {
    var current = form();
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      submit(current);
      return;
    }
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (!current) { return; }
    if (/^[1-9]$/.test(event.key)) {
      var group = activeGroup(event.target);
      if (group) { event.preventDefault(); pick(group, event.key); }
    } else if (event.key === "s") {
      event.preventDefault();
      skip(current);
    } else if (event.key === "e") {
      var editor = current.querySelector("[data-correction]");
      if (editor) { event.preventDefault(); editor.focus(); }
    }
  });

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest('[data-action="help"]') : null;
    if (trigger) { toggleHelp(); }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-correction]")) { renderDiff(event.target); }
  });

  // The seconds spent on the item travel with the form; the server falls back to the lease time.
  document.addEventListener("submit", function (event) {
    var field = event.target.querySelector ? event.target.querySelector("[data-seconds]") : null;
    if (field) { field.value = ((Date.now() - loadedAt) / 1000).toFixed(1); }
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    var field = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form") : null;
    if (field && field.querySelector("[data-seconds]")) {
      event.detail.parameters.seconds = ((Date.now() - loadedAt) / 1000).toFixed(1);
    }
  });

  function init() {
    loadedAt = Date.now();
    startCountdown();
    document.querySelectorAll("[data-correction]").forEach(renderDiff);
    var first = workspace().querySelector("fieldset[data-field] input, fieldset[data-field] textarea");
    var problem = workspace().querySelector(".has-error input, .has-error textarea");
    if (problem) { problem.focus(); } else if (first && document.activeElement === document.body) { first.focus(); }
  }

  document.addEventListener("htmx:afterSwap", function () {
    document.activeElement && document.activeElement.blur && document.activeElement.blur();
    init();
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
