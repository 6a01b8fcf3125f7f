// Webcam capture: getUserMedia -> <video> -> <canvas> -> JPEG File added to a file
// input. Browsers offer the camera only on https:// or http://localhost.
(function () {
  "use strict";

  function stamp() {
    return new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  }

  document.querySelectorAll("[data-camera]").forEach(function (box) {
    var input = document.getElementById(box.dataset.target);
    var start = box.querySelector("[data-camera-start]");
    var live = box.querySelector("[data-camera-live]");
    var video = box.querySelector("[data-camera-video]");
    var canvas = box.querySelector("[data-camera-canvas]");
    var snap = box.querySelector("[data-camera-snap]");
    var stop = box.querySelector("[data-camera-stop]");
    var error = box.querySelector("[data-camera-error]");
    var stream = null;
    if (!input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return; // no camera API (or not a secure context): keep the section hidden
    }
    box.hidden = false;

    function fail(message) {
      error.textContent = message;
      error.hidden = false;
    }

    function close() {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      stream = null;
      live.hidden = true;
      start.hidden = false;
    }

    start.addEventListener("click", function () {
      error.hidden = true;
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          live.hidden = false;
          start.hidden = true;
        })
        .catch(function (e) {
          fail("The camera could not be opened (" + e.name + "). Allow camera access, " +
               "or choose a photo file instead.");
        });
    });

    stop.addEventListener("click", close);

    snap.addEventListener("click", function () {
      if (!video.videoWidth) { fail("The camera is not ready yet; try again."); return; }
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob(function (blob) {
        var file = new File([blob], "webcam-" + stamp() + ".jpg", { type: "image/jpeg" });
        window.faceUploadAddFiles(input, [file]);
        if (!input.multiple) { close(); }
      }, "image/jpeg", 0.92);
    });
  });
})();
