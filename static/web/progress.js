// Live training progress: polls the small JSON view while a training is queued or
// running, moves the bar, and reloads the page once it has finished (to show the
// new model in the history).
(function () {
  "use strict";
  var block = document.getElementById("progress");
  if (!block || block.dataset.finished === "true") { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var url = block.dataset.progressUrl;
  var shownId = block.dataset.modelId;

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var model = data.model;
        if (!model) { return; }
        bar.value = model.percent;
        bar.textContent = model.percent + "%";
        text.textContent = model.text;
        block.className = "progress-block status-" + model.status;
        if (model.finished || String(model.id) !== shownId) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
