// Puts back what was typed into a form whose post met an expired session (annotation/form_rescue.py).
// Loaded by base.html only while the session keeps such a form; nothing is submitted on its own.
(function () {
  "use strict";

  function pathOf(target) {
    try {
      return new URL(target, window.location.href).pathname;
    } catch (e) {
      return null;
    }
  }

  // The form posting to `action`: by its action or hx-post, or holding a control that posts
  // there by htmx (a live preview, say).
  function sameAction(form, action) {
    var targets = [form.getAttribute("action") || "", form.getAttribute("hx-post") || ""];
    form.querySelectorAll("[hx-post]").forEach(function (control) {
      targets.push(control.getAttribute("hx-post"));
    });
    return targets.some(function (target) {
      return target && pathOf(target) === action;
    });
  }

  function fill(form, fields) {
    Object.keys(fields).forEach(function (name) {
      var values = fields[name];
      var controls = form.querySelectorAll("[name]");
      controls.forEach(function (control) {
        if (control.name !== name || control.type === "hidden" || control.type === "file") {
          return;
        }
        if (control.type === "checkbox" || control.type === "radio") {
          control.checked = values.indexOf(control.value) !== -1;
        } else if (control.tagName === "SELECT") {
          Array.prototype.forEach.call(control.options, function (option) {
            option.selected = values.indexOf(option.value) !== -1;
          });
        } else if (values.length) {
          control.value = values[0];
        }
        control.dispatchEvent(new Event("input", { bubbles: true }));
        control.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  function note(form) {
    var p = document.createElement("p");
    p.className = "notice";
    p.id = "form-restored";
    p.setAttribute("role", "status");
    p.textContent =
      "Your session had expired before this was sent. What you entered is back: check it and send it again.";
    form.parentNode.insertBefore(p, form);
  }

  function tryFill(kept) {
    var forms = Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      return sameAction(form, kept.action);
    });
    if (!forms.length) {
      return false;
    }
    fill(forms[0], kept.fields);
    note(forms[0]);
    return true;
  }

  function restore() {
    var page = window.location.pathname + window.location.search;
    fetch("/account/rescued-form?page=" + encodeURIComponent(page), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (kept) {
        if (!kept || !kept.fields) {
          return;
        }
        // The form may arrive later, swapped in by htmx (the workspace loads its item so).
        if (!tryFill(kept)) {
          document.body.addEventListener("htmx:afterSettle", function again() {
            if (tryFill(kept)) {
              document.body.removeEventListener("htmx:afterSettle", again);
            }
          });
        }
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restore);
  } else {
    restore();
  }
})();
