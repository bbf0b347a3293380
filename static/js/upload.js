// The upload page: choose or drop a photo, preview it, send it to the API,
// then go to its result page (which follows the analysis).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var input = form.querySelector("input[type=file]");
  var dropZone = document.getElementById("drop-zone");
  var preview = document.getElementById("preview");
  var previewImage = document.getElementById("preview-image");
  var previewCaption = document.getElementById("preview-caption");
  var statusLine = document.getElementById("upload-status");
  var button = document.getElementById("analyse-button");
  var MAX_BYTES = 10 * 1024 * 1024;
  var chosen = null;  // a File or a Blob from the camera
  var burst = [];  // the camera's further frames, sent after `chosen` as more `image` parts
  var previewUrl = null;

  function say(message, isError) {
    statusLine.textContent = message;
    statusLine.classList.toggle("is-error", Boolean(isError));
  }

  function csrfToken() {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function choose(file, caption, more) {
    chosen = file;
    burst = more || [];
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    previewImage.src = previewUrl;
    previewCaption.textContent = caption;
    preview.hidden = false;
    if (file.size > MAX_BYTES) {
      say("This file is larger than the 10 MB limit. Please choose a smaller photo.", true);
    } else {
      say("Ready. Press Analyse when you are happy with the photo.", false);
    }
  }

  input.addEventListener("change", function () {
    if (input.files && input.files[0]) choose(input.files[0], input.files[0].name);
  });

  ["dragenter", "dragover"].forEach(function (name) {
    dropZone.addEventListener(name, function (event) {
      event.preventDefault();
      dropZone.classList.add("drag-over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropZone.addEventListener(name, function (event) {
      event.preventDefault();
      dropZone.classList.remove("drag-over");
    });
  });
  dropZone.addEventListener("drop", function (event) {
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    try {
      input.files = files;  // so the plain form post would send it too
    } catch (ignored) { /* older browsers: the fetch below still sends it */ }
    choose(files[0], files[0].name);
  });

  function firstMessage(body) {
    if (!body || typeof body !== "object") return null;
    if (typeof body.detail === "string") return body.detail;
    var keys = Object.keys(body);
    for (var i = 0; i < keys.length; i++) {
      var value = body[keys[i]];
      if (Array.isArray(value) && value.length) return String(value[0]);
      if (typeof value === "string") return value;
    }
    return null;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!chosen) {
      say("Choose a photo or take one with your camera first.", true);
      input.focus();
      return;
    }
    var data = new FormData();
    var name = chosen.name || "camera.jpg";
    data.append("image", chosen, name);
    burst.forEach(function (frame, index) {
      data.append("image", frame, "camera-" + (index + 2) + ".jpg");
    });
    button.disabled = true;
    say("Uploading your photo…", false);
    fetch(form.dataset.apiUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
    })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.status === 202 && body && body.id) {
            say("Uploaded. Opening your result…", false);
            window.location.assign("/detections/" + body.id + "/");
            return;
          }
          var message = firstMessage(body) || "The upload failed (error " + response.status + "). Please try again.";
          say(message, true);
          button.disabled = false;
        });
      })
      .catch(function () {
        say("We couldn't reach EmoMusic. Check your connection and try again.", true);
        button.disabled = false;
      });
  });

  // The camera script hands its burst of frames over through this: the first is the photo shown.
  window.EmoUpload = {
    useFrames: function (blobs) {
      var files = blobs.map(function (blob, index) {
        var name = index ? "camera-" + (index + 1) + ".jpg" : "camera.jpg";
        try {
          return new File([blob], name, { type: "image/jpeg" });
        } catch (ignored) {
          blob.name = name;
          return blob;
        }
      });
      var caption = files.length > 1 ? "Photo from your camera (" + files.length + " frames)" : "Photo from your camera";
      choose(files[0], caption, files.slice(1));
      button.focus();
    },
    say: say,
  };
})();
