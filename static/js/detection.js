// The result page: while the photo is queued or being analysed, ask the API
// for its status and, once it is finished, swap in the rendered result.
(function () {
  "use strict";
  var container = document.getElementById("detection-result");
  if (!container) return;
  var PENDING = ["queued", "processing"];
  var status = container.dataset.status;
  if (PENDING.indexOf(status) === -1) return;

  var delay = 1000;
  var MAX_DELAY = 5000;

  function showResult(finished) {
    // The address may carry the songs panel's strategy for this page (?strategy=calm); the fragment follows it.
    return fetch(container.dataset.resultUrl + window.location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        container.innerHTML = html;
        var heading = container.querySelector("h2");
        if (finished && heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        }
      });
  }

  function poll() {
    fetch(container.dataset.apiUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (detection) {
        if (detection.status === status) return schedule();
        var finished = PENDING.indexOf(detection.status) === -1;
        // The page takes the new status only once its result is shown: if fetching the result fails, the
        // next poll sees the change again and tries again, instead of waiting for a change already seen.
        return showResult(finished).then(function () {
          status = detection.status;
          container.dataset.status = status;
          if (!finished) schedule();
        });
      })
      .catch(function () {
        // A dropped connection or a restarting server: keep trying, more slowly.
        delay = Math.min(delay * 2, MAX_DELAY);
        schedule();
      });
  }

  function schedule() {
    window.setTimeout(poll, delay);
    delay = Math.min(delay * 1.5, MAX_DELAY);
  }

  schedule();
})();
