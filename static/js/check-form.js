// The check form shows the parameter fields of the chosen type only. Without this file every
// type's fields are shown, each group headed by its type, and only the chosen type's are read.
(function () {
  "use strict";

  function show(select) {
    document.querySelectorAll("[data-check-section]").forEach(function (section) {
      section.hidden = section.getAttribute("data-check-section") !== select.value;
    });
  }

  function init() {
    var select = document.querySelector("[data-check-type]");
    if (!select) { return; }
    show(select);
    select.addEventListener("change", function () { show(select); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
