(function () {
  "use strict";
  // One copy of the page per language (`--lang en,zh`): each filter and toggle
  // works on its own copy.
  function scopeOf(el) {
    return el.closest(".l10n") || document;
  }
  document.querySelectorAll("input[type=search][id$=filter]").forEach(function (input) {
    var rows = scopeOf(input).querySelectorAll("table.index tbody tr");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (r) {
        var text = r.textContent.toLowerCase();
        r.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  });
  document.querySelectorAll("button[id$=toggle]").forEach(function (toggle) {
    var open = true;
    toggle.addEventListener("click", function () {
      open = !open;
      scopeOf(toggle).querySelectorAll("details.transcript").forEach(function (d) {
        d.open = open;
      });
      toggle.textContent = toggle.getAttribute(open ? "data-collapse" : "data-expand");
    });
  });
})();
