(function () {
  "use strict";
  var input = document.getElementById("filter");
  var rows = document.querySelectorAll("table.index tbody tr");
  if (input) {
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (r) {
        var text = r.textContent.toLowerCase();
        r.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  }
  var toggle = document.getElementById("toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var all = document.querySelectorAll("details.transcript");
      var open = toggle.textContent.indexOf("Collapse") === 0;
      all.forEach(function (d) { d.open = !open; });
      toggle.textContent = open ? "Expand transcripts" : "Collapse transcripts";
    });
  }
})();
