// The lead's queue editor: show each source row's parameters for its type only, and add source
// rows without a round trip. Without this file the page still works: every parameter is shown
// (each labelled with the types that read it) and "Add a source" posts the form back with one
// more row. Nothing here reads or writes untrusted text.
(function () {
  "use strict";

  function showParams(row) {
    var select = row.querySelector("[data-source-type]");
    if (!select) { return; }
    var type = select.value;
    row.querySelectorAll("[data-types]").forEach(function (param) {
      var types = param.getAttribute("data-types").split(" ");
      param.hidden = !type || types.indexOf(type) === -1;
    });
  }

  function showAll(root) {
    root.querySelectorAll("[data-source-row]").forEach(showParams);
  }

  var RENAMED = ["name", "id", "for", "aria-describedby"];

  function addRow(button) {
    var form = button.form;
    var template = document.getElementById("source-template");
    var rows = form && form.querySelector("[data-source-rows]");
    var total = form && form.querySelector('input[name="sources-TOTAL_FORMS"]');
    if (!template || !rows || !total) { return false; }
    var index = String(parseInt(total.value, 10) || 0);
    var fragment = template.content.cloneNode(true);
    fragment.querySelectorAll("*").forEach(function (element) {
      RENAMED.forEach(function (attribute) {
        var value = element.getAttribute(attribute);
        if (value && value.indexOf("__prefix__") !== -1) {
          element.setAttribute(attribute, value.split("__prefix__").join(index));
        }
      });
    });
    var row = fragment.querySelector("[data-source-row]");
    rows.appendChild(fragment);
    total.value = String(Number(index) + 1);
    if (row) {
      showParams(row);
      var select = row.querySelector("[data-source-type]");
      if (select) { select.focus(); }
    }
    return true;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("[data-source-type]")) {
      var row = target.closest("[data-source-row]");
      if (row) { showParams(row); }
    }
    if (target && target.matches && target.matches('[data-source-row] input[name$="-DELETE"]')) {
      var removed = target.closest("[data-source-row]");
      if (removed) { removed.classList.toggle("removed", target.checked); }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-add-source]");
    if (button && addRow(button)) { event.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", function () { showAll(document); });
  // Content htmx swaps in (the editor as a partial) gets the same treatment.
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.querySelectorAll) { showAll(event.target); }
  });
})();
