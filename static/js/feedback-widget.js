/*
 * feedbackloop feedback widget: end users rate a response, say what was wrong, suggest a better
 * answer or comment; copying the response is recorded as an implicit signal.
 *
 *   <div class="answer" id="answer-123">…the model's response…</div>
 *   <div data-feedbackloop data-request-id="req-123" data-key="flp_…"
 *        data-response="#answer-123"></div>
 *   <script src="https://feedback.example.com/static/js/feedback-widget.js" defer></script>
 *
 * Optional attributes: data-endpoint (defaults to the origin this script came from),
 * data-user-id, data-title. Style it through the fl-* classes (feedback-widget.css is a start).
 * No dependencies, no inline styles or scripts, nothing from the network but its own API.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var scriptOrigin = script && script.src ? new URL(script.src).origin : window.location.origin;
  var configs = {};
  var counter = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function api(endpoint, key, path, body) {
    var options = {
      method: body ? "POST" : "GET",
      mode: "cors",
      credentials: "omit",
      headers: { Authorization: "Bearer " + key },
    };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(endpoint + "/api/v1/widget/" + path, options).then(function (response) {
      return response
        .json()
        .catch(function () { return {}; })
        .then(function (data) {
          if (!response.ok) {
            var error = new Error((data.error && data.error.message) || "HTTP " + response.status);
            error.status = response.status;
            throw error;
          }
          return data;
        });
    });
  }

  function config(endpoint, key) {
    var id = endpoint + "|" + key;
    if (!configs[id]) configs[id] = api(endpoint, key, "config");
    return configs[id];
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    counter += 1;
    return "fl-" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2);
  }

  function mount(root) {
    if (!root || root.getAttribute("data-fl-mounted")) return;
    root.setAttribute("data-fl-mounted", "true");
    var key = root.getAttribute("data-key");
    var requestId = root.getAttribute("data-request-id");
    var endpoint = (root.getAttribute("data-endpoint") || scriptOrigin).replace(/\/+$/, "");
    var userId = root.getAttribute("data-user-id") || "";
    var uid = "fl-" + (++counter);
    if (!key || !requestId) return;

    function send(fields) {
      var body = { request_id: requestId, feedback_id: newId() };
      for (var name in fields) body[name] = fields[name];
      if (userId) body.user_id = userId;
      return api(endpoint, key, "feedback", body);
    }

    var box = el("section", "fl-widget");
    box.setAttribute("aria-label", "Feedback on this answer");
    var question = el("p", "fl-question", root.getAttribute("data-title") || "Was this answer helpful?");
    question.id = uid + "-q";
    var thumbs = el("div", "fl-thumbs");
    thumbs.setAttribute("role", "group");
    thumbs.setAttribute("aria-labelledby", question.id);
    var up = el("button", "fl-thumb fl-up", "\uD83D\uDC4D Yes");
    var down = el("button", "fl-thumb fl-down", "\uD83D\uDC4E No");
    [[up, "Yes, helpful"], [down, "No, not helpful"]].forEach(function (pair) {
      pair[0].type = "button";
      pair[0].setAttribute("aria-label", pair[1]);
      pair[0].setAttribute("aria-pressed", "false");
      thumbs.appendChild(pair[0]);
    });
    var status = el("p", "fl-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    var form = el("form", "fl-details");
    form.hidden = true;
    form.noValidate = true;
    var reasons = el("fieldset", "fl-reasons");
    reasons.appendChild(el("legend", "fl-legend", "What went wrong?"));
    var correctionLabel = el("label", "fl-label", "A better answer (optional)");
    var correction = el("textarea", "fl-correction");
    correction.id = uid + "-correction";
    correctionLabel.htmlFor = correction.id;
    var commentLabel = el("label", "fl-label", "Anything else? (optional)");
    var comment = el("textarea", "fl-comment");
    comment.id = uid + "-comment";
    commentLabel.htmlFor = comment.id;
    var submit = el("button", "fl-submit", "Send feedback");
    submit.type = "submit";
    form.appendChild(reasons);
    form.appendChild(correctionLabel);
    form.appendChild(correction);
    form.appendChild(commentLabel);
    form.appendChild(comment);
    form.appendChild(submit);

    box.appendChild(question);
    box.appendChild(thumbs);
    box.appendChild(form);
    box.appendChild(status);
    root.appendChild(box);

    function say(text, isError) {
      status.textContent = text;
      status.className = "fl-status" + (isError ? " fl-error" : "");
    }

    function failed(error) {
      say(error && error.status === 429 ? "Too many messages; try again in a minute." :
        "Sorry, your feedback could not be sent (" + (error && error.message) + ").", true);
    }

    config(endpoint, key).then(function (settings) {
      (settings.reasons || []).forEach(function (reason) {
        var label = el("label", "fl-reason");
        var box = el("input");
        box.type = "checkbox";
        box.name = "reason";
        box.value = reason.name;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + reason.label));
        reasons.appendChild(label);
      });
      if (settings.max_text) {
        correction.maxLength = settings.max_text;
        comment.maxLength = settings.max_text;
      }
    }, function () { reasons.hidden = true; });

    function rate(value) {
      up.setAttribute("aria-pressed", value === 1 ? "true" : "false");
      down.setAttribute("aria-pressed", value === 0 ? "true" : "false");
      send({ kind: "rating", value: value, scale: "thumbs" }).then(function () {
        if (value === 1) {
          form.hidden = true;
          say("Thanks for your feedback.");
        } else {
          form.hidden = false;
          say("Thanks. Tell us more if you can.");
          var first = form.querySelector("input, textarea");
          if (first) first.focus();
        }
      }, failed);
    }
    up.addEventListener("click", function () { rate(1); });
    down.addEventListener("click", function () { rate(0); });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var sends = [];
      var picked = Array.prototype.map.call(
        form.querySelectorAll("input[name=reason]:checked"), function (input) { return input.value; });
      if (picked.length) sends.push(send({ kind: "label", labels: picked }));
      if (correction.value.trim()) sends.push(send({ kind: "correction", text: correction.value }));
      if (comment.value.trim()) sends.push(send({ kind: "comment", text: comment.value }));
      if (!sends.length) {
        say("Pick a reason or write something first.", true);
        return;
      }
      submit.disabled = true;
      Promise.all(sends).then(function () {
        form.hidden = true;
        say("Thanks, your feedback was sent.");
      }, function (error) {
        submit.disabled = false;
        failed(error);
      });
    });

    var selector = root.getAttribute("data-response");
    var response = selector ? document.querySelector(selector) : root.previousElementSibling;
    if (response) {
      var copied = false;
      response.addEventListener("copy", function () {
        if (copied) return;
        copied = true;
        send({ kind: "implicit", event: "copy" }).catch(function () { copied = false; });
      });
    }
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-feedbackloop]"), mount);
  }

  window.FeedbackLoop = { mount: mount, mountAll: mountAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
