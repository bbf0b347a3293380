// "Use my camera": a live preview with getUserMedia, then a burst of frames
// taken over about a second, each a JPEG made in the browser, handed to the
// upload script (the worker reads the face in each and averages them).
// Nothing leaves the browser until the user presses Analyse.
(function () {
  "use strict";
  var section = document.getElementById("camera");
  if (!section) return;
  var startButton = document.getElementById("camera-start");
  var live = document.getElementById("camera-live");
  var video = document.getElementById("camera-video");
  var captureButton = document.getElementById("camera-capture");
  var stopButton = document.getElementById("camera-stop");
  // Every stream ever opened, not only the latest: a second Start (or a
  // permission prompt answered after Stop) must not leave a camera running.
  var streams = [];
  var stream = null;
  var wanted = false; // false once the user stops the camera or leaves the page
  section.hidden = false;

  function say(message, isError) {
    if (window.EmoUpload) window.EmoUpload.say(message, isError);
  }

  function unavailableReason() {
    if (!window.isSecureContext) {
      return "The camera only works on a secure page (https or localhost). Upload a photo instead.";
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return "This browser can't use a camera here. Upload a photo instead.";
    }
    return null;
  }

  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Camera access was refused. Allow the camera for this site in your browser's settings, or upload a photo instead.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "No camera was found. Connect one, or upload a photo instead.";
      case "NotReadableError":
      case "AbortError":
        return "The camera is busy (another app may be using it). Close that app and try again, or upload a photo.";
      default:
        return "The camera could not be started. Upload a photo instead.";
    }
  }

  function stopTracks(mediaStream) {
    mediaStream.getTracks().forEach(function (track) { track.stop(); });
  }

  function stop() {
    wanted = false;
    streams.forEach(stopTracks);
    streams = [];
    stream = null;
    video.srcObject = null;
    live.hidden = true;
    startButton.hidden = false;
    startButton.disabled = false;
  }

  startButton.addEventListener("click", function () {
    var reason = unavailableReason();
    if (reason) {
      say(reason, true);
      return;
    }
    if (wanted) return; // already on, or asking
    wanted = true;
    startButton.disabled = true;
    say("Asking for your camera…", false);
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      .then(function (mediaStream) {
        streams.push(mediaStream);
        if (!wanted) {
          // Stopped (or the page left) while the browser was asking.
          stop();
          return;
        }
        stream = mediaStream;
        video.srcObject = mediaStream;
        live.hidden = false;
        startButton.hidden = true;
        say("Camera on. Look at the camera and press \"Take the photo\".", false);
        captureButton.focus();
      })
      .catch(function (error) {
        stop();
        say(explain(error), true);
      });
  });

  var BURST_FRAMES = 5;
  var BURST_GAP_MS = 250;  // five frames over a second

  function grab() {
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.92); });
  }

  captureButton.addEventListener("click", function () {
    if (!stream || !video.videoWidth) {
      say("The camera is not ready yet; wait a moment and try again.", true);
      return;
    }
    captureButton.disabled = true;
    say("Hold still… taking " + BURST_FRAMES + " frames.", false);
    var frames = [];
    function next() {
      grab().then(function (blob) {
        if (blob) frames.push(blob);
        if (frames.length < BURST_FRAMES && stream) {
          setTimeout(next, BURST_GAP_MS);
          return;
        }
        captureButton.disabled = false;
        if (!frames.length) {
          say("The photo could not be captured. Try again, or upload a photo.", true);
          return;
        }
        stop();
        window.EmoUpload.useFrames(frames);
      });
    }
    next();
  });

  stopButton.addEventListener("click", function () {
    stop();
    say("Camera off.", false);
  });
  window.addEventListener("pagehide", stop);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && stream) {
      stop();
      say("Camera off while the page was hidden. Press \"Use my camera\" to start it again.", false);
    }
  });
})();
