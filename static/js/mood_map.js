// "Pick my mood": a tap (or click) on the mood map picks that point. It sets the two sliders of the
// point's form, which keyboard users set themselves, and sends the form. The map may be swapped for a
// fresh one by js/recommend.js, so the listener sits on its container.
(function () {
  "use strict";

  function clamp(value) { return Math.min(1, Math.max(0, value)); }

  function pointOf(svg, event) {
    var matrix = svg.getScreenCTM();
    if (!matrix) return null;
    var place = svg.createSVGPoint();
    place.x = event.clientX;
    place.y = event.clientY;
    place = place.matrixTransform(matrix.inverse());
    var left = Number(svg.getAttribute("data-plot-left"));
    var top = Number(svg.getAttribute("data-plot-top"));
    var size = Number(svg.getAttribute("data-plot-size"));
    var valence = (place.x - left) / size;
    var energy = 1 - (place.y - top) / size;
    // A tap on the axes' words, outside the square, picks nothing.
    if (valence < -0.02 || valence > 1.02 || energy < -0.02 || energy > 1.02) return null;
    return { valence: clamp(valence), energy: clamp(energy) };
  }

  function start() {
    document.querySelectorAll("[data-map-tap]").forEach(function (container) {
      var form = document.querySelector("[data-map-point-form]");
      if (!form) return;
      container.classList.add("mood-map-tappable");
      container.addEventListener("click", function (event) {
        var svg = event.target.closest ? event.target.closest("svg") : null;
        if (!svg) return;
        var point = pointOf(svg, event);
        if (!point) return;
        form.querySelector("[data-map-valence]").value = point.valence.toFixed(2);
        form.querySelector("[data-map-energy]").value = point.energy.toFixed(2);
        if (form.requestSubmit) form.requestSubmit();
        else form.submit();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
