// The label schema builder of the queue editor: a row per field (name, type, label, options,
// likert bounds, required, must agree; move up, move down, remove) kept in sync with the JSON
// textarea, which stays the form's only submitted value and remains editable by hand. Every
// change asks the server for the annotator's form as it would be drawn (htmx, the wrapper's
// "schema-changed" event); the server's problems come back by field index and are shown on
// the matching row. Without this file the textarea works alone. Text typed by people is only
// ever set as values and textContent, never as markup.
(function () {
  "use strict";

  var TYPES = ["choice", "multi_choice", "likert", "correction", "text", "relevance", "pairwise"];
  var TYPE_LABELS = {
    choice: "Choice (one)",
    multi_choice: "Multiple choice",
    likert: "Scale (likert)",
    correction: "Corrected response",
    text: "Text (comment)",
    relevance: "Relevance of each document",
    pairwise: "A/B comparison",
  };
  var WITH_OPTIONS = ["choice", "multi_choice", "relevance"];
  var WITH_TAXONOMY = ["choice", "multi_choice"];

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, attributes[key]);
    });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function Builder(root) {
    this.root = root;
    this.textarea = document.getElementById(root.getAttribute("data-schema-source"));
    this.list = root.querySelector("[data-builder-fields]");
    this.status = root.querySelector("[data-builder-status]");
    this.addType = root.querySelector("[data-builder-add-type]");
    this.addButton = root.querySelector("[data-builder-add]");
    this.schema = null;
    this.serial = 0;
  }

  Builder.prototype.read = function () {
    try {
      var parsed = JSON.parse(this.textarea.value);
      if (parsed && typeof parsed === "object" && Array.isArray(parsed.fields)) {
        this.schema = parsed;
        return true;
      }
    } catch (error) { /* shown below */ }
    return false;
  };

  Builder.prototype.write = function () {
    this.textarea.value = JSON.stringify(this.schema, null, 2);
    this.changed();
  };

  Builder.prototype.changed = function () {
    if (window.htmx) { window.htmx.trigger(this.root, "schema-changed"); }
  };

  Builder.prototype.say = function (text) {
    this.status.textContent = text;
  };

  Builder.prototype.render = function (focus) {
    var self = this;
    this.list.textContent = "";
    this.root.classList.remove("json-broken");
    this.schema.fields.forEach(function (field, index) {
      self.list.appendChild(self.row(field, index));
    });
    this.addButton.disabled = false;
    if (focus) {
      var target = this.list.querySelector(focus);
      if (target) { target.focus(); }
    }
  };

  Builder.prototype.row = function (field, index) {
    var self = this;
    var total = this.schema.fields.length;
    var number = index + 1;
    var id = "sb-" + (++this.serial);
    var card = element("fieldset", { "class": "builder-field", "data-builder-field": String(index) });
    var name = typeof field.name === "string" ? field.name : "";
    card.appendChild(element("legend", {}, "Field " + number + (name ? ": " + name : "")));

    function labelled(labelText, control, extraClass) {
      var wrap = element("div", { "class": "lf-field" + (extraClass ? " " + extraClass : "") });
      control.id = id + "-" + labelText.toLowerCase().replace(/[^a-z]+/g, "-");
      wrap.appendChild(element("label", { "for": control.id }, labelText));
      wrap.appendChild(control);
      return wrap;
    }

    var nameInput = element("input", { type: "text", "data-key": "name", autocomplete: "off", spellcheck: "false" });
    nameInput.value = name;
    card.appendChild(labelled("Name", nameInput));

    var typeSelect = element("select", { "data-key": "type" });
    TYPES.forEach(function (type) {
      var option = element("option", { value: type }, TYPE_LABELS[type]);
      if (field.type === type) { option.selected = true; }
      typeSelect.appendChild(option);
    });
    card.appendChild(labelled("Type", typeSelect));

    var labelInput = element("input", { type: "text", "data-key": "label", autocomplete: "off" });
    labelInput.value = typeof field.label === "string" ? field.label : "";
    card.appendChild(labelled("Label", labelInput));

    var options = field.options;
    var taxonomy = options === "taxonomy" || (options && typeof options === "object" && !Array.isArray(options));
    var listed = Array.isArray(options) ? options : (taxonomy && Array.isArray(options && options.taxonomy) ? options.taxonomy : []);
    var optionsInput = element("input", { type: "text", "data-key": "options", autocomplete: "off" });
    optionsInput.value = listed.join(", ");
    var optionsWrap = labelled(taxonomy ? "Taxonomy labels (empty: all)" : "Options (comma-separated)", optionsInput, "wide");
    optionsWrap.hidden = WITH_OPTIONS.indexOf(field.type) === -1;
    card.appendChild(optionsWrap);

    var taxonomyBox = element("input", { type: "checkbox", "data-key": "taxonomy" });
    taxonomyBox.checked = taxonomy;
    var taxonomyWrap = element("div", { "class": "lf-field lf-check" });
    taxonomyBox.id = id + "-taxonomy";
    taxonomyWrap.appendChild(taxonomyBox);
    taxonomyWrap.appendChild(element("label", { "for": taxonomyBox.id }, " Options from the project's taxonomy"));
    taxonomyWrap.hidden = WITH_TAXONOMY.indexOf(field.type) === -1;
    card.appendChild(taxonomyWrap);

    ["min", "max"].forEach(function (bound) {
      var input = element("input", { type: "number", step: "1", "data-key": bound, inputmode: "numeric" });
      input.value = field[bound] !== undefined ? String(field[bound]) : (bound === "min" ? "1" : "5");
      var wrap = labelled(bound === "min" ? "Lowest" : "Highest", input);
      wrap.hidden = field.type !== "likert";
      card.appendChild(wrap);
    });

    [["required", "Required"], ["agreement", "Annotators must agree"]].forEach(function (pair) {
      var box = element("input", { type: "checkbox", "data-key": pair[0] });
      box.checked = field[pair[0]] === true;
      box.id = id + "-" + pair[0];
      var wrap = element("div", { "class": "lf-field lf-check" });
      wrap.appendChild(box);
      wrap.appendChild(element("label", { "for": box.id }, " " + pair[1]));
      card.appendChild(wrap);
    });

    var moves = element("div", { "class": "moves wide" });
    var label = name || "field " + number;
    var up = element("button", { type: "button", "class": "secondary", "data-move": "-1", "aria-label": "Move " + label + " up" }, "Move up");
    up.disabled = index === 0;
    var down = element("button", { type: "button", "class": "secondary", "data-move": "1", "aria-label": "Move " + label + " down" }, "Move down");
    down.disabled = index === total - 1;
    var remove = element("button", { type: "button", "class": "secondary danger", "data-remove": "", "aria-label": "Remove " + label }, "Remove");
    moves.appendChild(up);
    moves.appendChild(down);
    moves.appendChild(remove);
    card.appendChild(moves);
    card.appendChild(element("p", { "class": "error wide", "data-field-error": "", role: "alert", hidden: "" }));
    return card;
  };

  Builder.prototype.update = function (control) {
    var card = control.closest("[data-builder-field]");
    if (!card) { return; }
    var index = Number(card.getAttribute("data-builder-field"));
    var field = this.schema.fields[index];
    var key = control.getAttribute("data-key");
    if (key === "name") {
      field.name = control.value.trim();
      card.querySelector("legend").textContent = "Field " + (index + 1) + (field.name ? ": " + field.name : "");
    } else if (key === "label") {
      if (control.value.trim()) { field.label = control.value; } else { delete field.label; }
    } else if (key === "type") {
      field.type = control.value;
      this.reshape(field);
      this.write();
      this.render('[data-builder-field="' + index + '"] [data-key="type"]');
      return;
    } else if (key === "options" || key === "taxonomy") {
      var text = card.querySelector('[data-key="options"]').value;
      var fromTaxonomy = card.querySelector('[data-key="taxonomy"]').checked;
      var values = text.split(",").map(function (part) { return part.trim(); }).filter(Boolean);
      if (fromTaxonomy) {
        field.options = values.length ? { taxonomy: values } : "taxonomy";
      } else if (values.length) {
        field.options = values;
      } else {
        field.options = [];
      }
      if (key === "taxonomy") {
        this.write();
        this.render('[data-builder-field="' + index + '"] [data-key="taxonomy"]');
        return;
      }
    } else if (key === "min" || key === "max") {
      var number = Number(control.value);
      field[key] = control.value.trim() !== "" && Number.isInteger(number) ? number : control.value;
    } else if (key === "required" || key === "agreement") {
      if (control.checked) { field[key] = true; } else { delete field[key]; }
    }
    this.write();
  };

  // Keys a type does not take are dropped when the type changes, so the schema stays valid.
  Builder.prototype.reshape = function (field) {
    if (WITH_OPTIONS.indexOf(field.type) === -1) { delete field.options; }
    else if (field.options === undefined && field.type !== "relevance") { field.options = ["yes", "no"]; }
    if (field.options === "taxonomy" && WITH_TAXONOMY.indexOf(field.type) === -1) { delete field.options; }
    if (field.type !== "likert") { delete field.min; delete field.max; }
    if (field.type !== "text" && field.type !== "correction") { delete field.max_length; }
  };

  Builder.prototype.move = function (index, step) {
    var fields = this.schema.fields;
    var to = index + step;
    if (to < 0 || to >= fields.length) { return; }
    var moved = fields.splice(index, 1)[0];
    fields.splice(to, 0, moved);
    this.write();
    var which = step < 0 ? "-1" : "1";
    var edge = (step < 0 && to === 0) || (step > 0 && to === fields.length - 1);
    // Focus follows the field; at an edge, the other move button (this one is disabled).
    this.render('[data-builder-field="' + to + '"] [data-move="' + (edge ? String(-Number(which)) : which) + '"]');
    this.say("Moved " + (moved.name || "the field") + " to position " + (to + 1) + ".");
  };

  Builder.prototype.remove = function (index) {
    var removed = this.schema.fields.splice(index, 1)[0];
    this.write();
    var next = Math.min(index, this.schema.fields.length - 1);
    this.render(next >= 0 ? '[data-builder-field="' + next + '"] [data-key="name"]' : null);
    if (next < 0) { this.addType.focus(); }
    this.say("Removed " + (removed.name || "the field") + ".");
  };

  Builder.prototype.add = function () {
    var type = this.addType.value;
    var taken = {};
    this.schema.fields.forEach(function (field) { taken[field.name] = true; });
    var base = type === "multi_choice" ? "labels" : type;
    var name = base;
    for (var n = 2; taken[name]; n += 1) { name = base + "_" + n; }
    var field = { name: name, type: type };
    this.reshape(field);
    if (type === "likert") { field.min = 1; field.max = 5; }
    this.schema.fields.push(field);
    this.write();
    this.render('[data-builder-field="' + (this.schema.fields.length - 1) + '"] [data-key="name"]');
    this.say("Added " + name + ".");
  };

  Builder.prototype.fromText = function () {
    if (this.read()) {
      if (!this.root.contains(document.activeElement) || this.root.classList.contains("json-broken")) {
        this.render(null);
      }
      this.say("");
    } else {
      this.root.classList.add("json-broken");
      this.list.textContent = "";
      this.addButton.disabled = true;
      this.say("The JSON below does not parse; fix it there (the preview says where) and the builder comes back.");
    }
    this.changed();
  };

  Builder.prototype.showErrors = function () {
    var cards = this.list.querySelectorAll("[data-builder-field]");
    cards.forEach(function (card) {
      card.classList.remove("has-error");
      var slot = card.querySelector("[data-field-error]");
      slot.hidden = true;
      slot.textContent = "";
      card.querySelectorAll("[aria-invalid]").forEach(function (input) { input.removeAttribute("aria-invalid"); });
    });
    var preview = document.getElementById("schema-preview");
    if (!preview) { return; }
    preview.querySelectorAll("[data-error-index]").forEach(function (item) {
      var card = cards[Number(item.getAttribute("data-error-index"))];
      if (!card) { return; }
      var slot = card.querySelector("[data-field-error]");
      slot.textContent = (slot.textContent ? slot.textContent + " " : "") + item.textContent.replace(/^Field \d+ \([^)]*\): /, "");
      slot.hidden = false;
      card.classList.add("has-error");
      var name = card.querySelector('[data-key="name"]');
      if (name) { name.setAttribute("aria-invalid", "true"); }
    });
  };

  function start(root) {
    var builder = new Builder(root);
    if (!builder.textarea) { return; }
    root.hidden = false;
    if (builder.read()) { builder.render(null); } else { builder.fromText(); }
    // The queue editor recounts its sample on "change"; the schema does not change a sample.
    root.addEventListener("change", function (event) {
      event.stopPropagation();
      if (event.target.matches("[data-key]")) { builder.update(event.target); }
    });
    root.addEventListener("input", function (event) {
      if (event.target.matches('[data-key="name"], [data-key="label"], [data-key="options"]')) {
        builder.update(event.target);
      }
    });
    root.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !root.contains(button)) { return; }
      var card = button.closest("[data-builder-field]");
      var index = card ? Number(card.getAttribute("data-builder-field")) : -1;
      if (button.hasAttribute("data-move")) { builder.move(index, Number(button.getAttribute("data-move"))); }
      else if (button.hasAttribute("data-remove")) { builder.remove(index); }
      else if (button.hasAttribute("data-builder-add")) { builder.add(); }
    });
    var timer = null;
    builder.textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { builder.fromText(); }, 300);
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target && event.target.id === "schema-preview") { builder.showErrors(); }
    });
    document.body.addEventListener("htmx:afterSettle", function () { builder.showErrors(); });
  }

  function init() {
    document.querySelectorAll("[data-schema-builder]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
