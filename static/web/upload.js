// Drag and drop onto a file input, a list of the chosen files, and a busy state while
// the form uploads. Without JavaScript the plain file input still works.
(function () {
  "use strict";

  function fileInput(zone) {
    return zone.querySelector('input[type="file"]');
  }

  // Replace (single) or extend (multiple) an input's files; fires "change".
  function addFiles(input, files) {
    var transfer = new DataTransfer();
    if (input.multiple) {
      Array.prototype.forEach.call(input.files, function (f) { transfer.items.add(f); });
    }
    Array.prototype.forEach.call(files, function (f) {
      if (input.multiple || transfer.items.length === 0) { transfer.items.add(f); }
    });
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  window.faceUploadAddFiles = addFiles;

  function showFiles(zone) {
    var list = zone.querySelector("[data-file-list]");
    var input = fileInput(zone);
    if (!list || !input) { return; }
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (f) {
      var item = document.createElement("li");
      item.textContent = f.name;
      list.appendChild(item);
    });
  }

  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = fileInput(zone);
    if (!input) { return; }
    input.addEventListener("change", function () { showFiles(zone); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = Array.prototype.filter.call(event.dataTransfer.files, function (f) {
        return f.type.indexOf("image/") === 0 || f.type === "";
      });
      if (files.length) { addFiles(input, files); }
    });
  });

  document.querySelectorAll("[data-upload-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var input = form.querySelector('input[type="file"]');
      var count = input ? input.files.length : 0;
      var button = form.querySelector("[data-upload-submit]");
      var status = form.querySelector("[data-upload-status]");
      if (count && button) {
        // Disable after the browser has collected the form data.
        setTimeout(function () { button.disabled = true; }, 0);
      }
      if (count && status) {
        status.textContent = count > 1 ? "Uploading " + count + " photos…" : "Uploading…";
      }
    });
  });
})();
