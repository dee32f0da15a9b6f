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

  // Spacing alone is no change: the server stores no correction then either.
  function sameWords(a, b) { return a.trim().split(/\s+/).join(" ") === b.trim().split(/\s+/).join(" "); }

  // The annotator's choice of view, kept while they work; null lets a rewrite pick two columns.
  var diffMode = null;

  function node(tag, text, className) {
    var element = document.createElement(tag);
    if (text !== undefined) { element.textContent = text; }
    if (className) { element.className = className; }
    return element;
  }

  function renderDiff(textarea) {
    var target = document.querySelector('[data-diff-for="' + textarea.id + '"]');
    var original = document.getElementById("original-response");
    if (!target || !original) { return; }
    var field = textarea.closest("fieldset") || document;
    var summary = field.querySelector("[data-diff-summary]");
    var toggle = field.querySelector("[data-diff-mode]");
    var before = original.textContent, after = textarea.value;
    while (target.firstChild) { target.removeChild(target.firstChild); }
    target.classList.remove("side-by-side");
    if (sameWords(before, after)) {
      target.appendChild(document.createTextNode("No changes to the original response."));
      target.classList.add("unchanged");
      if (summary) { summary.textContent = "Left as the response, it is not saved as a correction."; }
      if (toggle) { toggle.hidden = true; }
      return;
    }
    target.classList.remove("unchanged");
    var segments = diff(tokens(before), tokens(after));
    if (segments === null) {
      target.appendChild(document.createTextNode("The texts are too long to compare live."));
      return;
    }
    var changed = 0, total = Math.max(before.split(/\s+/).length, after.split(/\s+/).length, 1);
    segments.forEach(function (segment) {
      if (segment[0] !== "equal") { changed += segment[1].trim() ? segment[1].trim().split(/\s+/).length : 0; }
    });
    var rewrite = changed / total > 0.5;
    var sideBySide = diffMode === null ? rewrite : diffMode === "side";
    if (summary) {
      summary.textContent = changed + " word" + (changed === 1 ? "" : "s") + " changed" +
        (rewrite ? ": a rewrite, shown side by side" : "");
    }
    if (toggle) {
      toggle.hidden = false;
      toggle.textContent = sideBySide ? "Inline" : "Side by side";
      toggle.setAttribute("aria-pressed", sideBySide ? "true" : "false");
    }
    function add(parent, keep) {
      segments.forEach(function (segment) {
        if (keep.indexOf(segment[0]) < 0) { return; }
        parent.appendChild(node(segment[0] === "equal" ? "span" : (segment[0] === "insert" ? "ins" : "del"), segment[1]));
      });
    }
    if (sideBySide) {
      target.classList.add("side-by-side");
      var left = node("div", undefined, "diff-col"), right = node("div", undefined, "diff-col");
      left.appendChild(node("h3", "Original"));
      right.appendChild(node("h3", "Corrected"));
      var a = node("div"), b = node("div");
      add(a, ["equal", "delete"]);
      add(b, ["equal", "insert"]);
      left.appendChild(a);
      right.appendChild(b);
      target.appendChild(left);
      target.appendChild(right);
    } else {
      add(target, ["equal", "delete", "insert"]);
    }
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
  // Number keys pick an option of one key group ([data-keys]: a field's options, or one retrieved
  // document's relevance). The group is the one holding focus; with focus on no field, the group
  // marked current (the last one focused or used), and only while it is in view. A key never
  // reaches a group the annotator cannot see marked.
  var scope = null;

  function keyGroups() { return Array.prototype.slice.call(workspace().querySelectorAll("[data-keys]")); }

  function markCurrent(group) {
    if (group === scope && group && group.classList.contains("is-current")) { return; }
    keyGroups().forEach(function (each) {
      each.classList.toggle("is-current", each === group);
    });
    scope = group;
  }

  function groupOf(target) {
    return target && target.closest ? target.closest("[data-keys]") : null;
  }

  // Focus on a control of a field that is not a key group (a text box, a select): keys are its own.
  function inOtherField(target) {
    return !!(target && target.closest && target.closest("fieldset[data-field]") && !groupOf(target));
  }

  function inView(element) {
    if (!element.getClientRects().length) { return false; }
    var box = element.getBoundingClientRect();
    return box.bottom > 0 && box.top < (window.innerHeight || document.documentElement.clientHeight);
  }

  function say(text) {
    var out = document.querySelector("[data-key-status]");
    if (out) { out.textContent = text; }
  }

  function optionLabel(input) {
    var label = input.closest("label");
    if (!label) { return input.value; }
    var copy = label.cloneNode(true);
    copy.querySelectorAll(".key-hint").forEach(function (hint) { hint.remove(); });
    return copy.textContent.trim();
  }

  function pick(group, key) {
    var input = group.querySelector('input[data-key="' + key + '"]');
    var name = group.getAttribute("data-keys");
    if (!input) {
      say(name + " has no option " + key + ".");
      return;
    }
    if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
    input.focus();
    markCurrent(group);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    var state = input.type === "checkbox" && !input.checked ? "removed " : "";
    say(name + ": " + state + optionLabel(input));
  }

  function numberKey(event) {
    var group = groupOf(event.target);
    if (!group) {
      if (inOtherField(event.target)) { return; }
      group = scope && workspace().contains(scope) ? scope : null;
      if (!group) { return; }
    }
    event.preventDefault();
    if (!inView(group)) {
      // Bring the group (focused or marked) into view and change nothing: the next press picks.
      group.scrollIntoView({ block: "center" });
      var focusable = group.querySelector("input:checked") || group.querySelector("input");
      if (focusable && !group.contains(document.activeElement)) { focusable.focus({ preventScroll: true }); }
      markCurrent(group);
      say("Number keys act on " + group.getAttribute("data-keys") + "; press again to choose.");
      return;
    }
    pick(group, event.key);
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
    // Behind an open dialog the form is out of reach: keys must not change it unseen.
    if (document.querySelector("dialog[open]")) { return; }
    if (event.key === "u") {
      var undo = workspace().querySelector("button[data-undo-skip]");
      if (undo && !undo.disabled) { event.preventDefault(); bound(undo.form); undo.click(); }
      return;
    }
    if (event.key === "p") {
      var previous = workspace().querySelector("a[data-previous]");
      if (previous) { event.preventDefault(); previous.click(); }
      return;
    }
    if (!current) { return; }
    if (/^[1-9]$/.test(event.key)) {
      // A held key would toggle a checkbox on and off with every repeat.
      if (event.repeat) { event.preventDefault(); return; }
      numberKey(event);
    } else if (event.key === "s") {
      event.preventDefault();
      skip(current);
    } else if (event.key === "d") {
      var mode = current.querySelector("[data-diff-mode]");
      if (mode && !mode.hidden) { event.preventDefault(); mode.click(); }
    } else if (event.key === "e") {
      var editor = current.querySelector("[data-correction]");
      if (editor) { event.preventDefault(); editor.focus(); }
    }
  });

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest('[data-action="help"]') : null;
    if (trigger) { toggleHelp(); }
    var mode = event.target.closest ? event.target.closest("[data-diff-mode]") : null;
    if (mode) {
      var field = mode.closest("fieldset");
      var editor = field ? field.querySelector("[data-correction]") : null;
      diffMode = mode.getAttribute("aria-pressed") === "true" ? "inline" : "side";
      if (editor) { renderDiff(editor); }
    }
  });

  document.addEventListener("focusin", function (event) {
    var group = groupOf(event.target);
    if (group) { markCurrent(group); }
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
    scope = null;
    markCurrent(groupOf(problem) || groupOf(first) || keyGroups()[0] || null);
    if (problem) { problem.focus(); } else if (first && document.activeElement === document.body) { first.focus(); }
  }

  document.addEventListener("htmx:afterSwap", function () {
    document.activeElement && document.activeElement.blur && document.activeElement.blur();
    init();
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
