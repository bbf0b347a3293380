// The catalog's covers: each song's link to Spotify gets the cover js/covers.js draws from the song's
// audio features (the data-* attributes the page writes).
(function () {
  "use strict";

  function start() {
    document.querySelectorAll("[data-cover]").forEach(function (link) {
      var song = {
        valence: link.getAttribute("data-valence"),
        energy: link.getAttribute("data-energy"),
        tempo: link.getAttribute("data-tempo"),
        danceability: link.getAttribute("data-danceability"),
      };
      link.appendChild(window.emoCovers.coverElement(document, song, "catalog-cover-" + link.getAttribute("data-song")));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
