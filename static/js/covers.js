// A song's cover, drawn from the song itself so that it needs no image from the network and looks the
// same every time: the hue follows its valence (sad blue, through purple and pink, to happy orange),
// the saturation and lightness its energy, the stripes' number its tempo and their slant its
// danceability. A song without a feature takes the catalog's middle value for it. It runs in the page (window.emoCovers: js/recommend.js draws
// each row's cover with it) and in Node for the tests (module.exports).
(function (root) {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var MIDDLE = { valence: 0.5, energy: 0.5, danceability: 0.5, tempo: 120 };

  function feature(song, name) {
    var raw = song ? song[name] : null;
    var value = Number(raw);
    return raw === null || raw === undefined || raw === "" || !isFinite(value) ? MIDDLE[name] : value;
  }

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function round(value) { return Math.round(value * 10) / 10; }

  // The cover's colours and pattern, as numbers: hues in degrees, saturation and lightness in percent.
  function coverDesign(song) {
    var valence = clamp(feature(song, "valence"), 0, 1);
    var energy = clamp(feature(song, "energy"), 0, 1);
    var danceability = clamp(feature(song, "danceability"), 0, 1);
    var tempo = clamp(feature(song, "tempo"), 60, 200);
    var hue = round((250 + 150 * valence) % 360); // 250 (blue) when sad, 325 (pink), 40 (orange) when happy
    var saturation = round(35 + 50 * energy);
    var lightness = round(50 - 18 * energy); // energetic songs are deeper; calm ones paler
    return {
      hue: hue,
      saturation: saturation,
      lightness: lightness,
      accentHue: round((hue + 30 + 40 * danceability) % 360),
      stripes: 2 + Math.round((tempo - 60) / 20), // 2 at 60 bpm, 9 at 200 bpm
      slant: Math.round(45 * danceability), // degrees: straight for still songs, 45 for dance songs
    };
  }

  function hsl(hue, saturation, lightness) {
    return "hsl(" + hue + ", " + saturation + "%, " + lightness + "%)";
  }

  function coverColours(song) {
    var design = coverDesign(song);
    return {
      from: hsl(design.hue, design.saturation, design.lightness),
      to: hsl(design.accentHue, design.saturation, round(clamp(design.lightness + 8, 12, 90))),
      stripe: hsl(design.hue, round(clamp(design.saturation - 10, 0, 100)), round(clamp(design.lightness + 28, 0, 92))),
    };
  }

  function node(document, tag, attributes) {
    var element = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) { element.setAttribute(name, String(attributes[name])); });
    return element;
  }

  // An <svg> (decorative: aria-hidden) of 48 by 48 units; `id` keeps its gradient apart from the others'.
  function coverElement(document, song, id) {
    var design = coverDesign(song);
    var colours = coverColours(song);
    var svg = node(document, "svg", {
      class: "cover", viewBox: "0 0 48 48", width: 48, height: 48, "aria-hidden": "true", focusable: "false",
      "data-hue": design.hue, "data-stripes": design.stripes,
    });
    var gradient = node(document, "linearGradient", { id: id, x1: 0, y1: 0, x2: 1, y2: 1 });
    gradient.appendChild(node(document, "stop", { offset: 0, "stop-color": colours.from }));
    gradient.appendChild(node(document, "stop", { offset: 1, "stop-color": colours.to }));
    var defs = node(document, "defs", {});
    defs.appendChild(gradient);
    svg.appendChild(defs);
    svg.appendChild(node(document, "rect", { width: 48, height: 48, fill: "url(#" + id + ")" }));
    var stripes = node(document, "g", {
      fill: colours.stripe, "fill-opacity": 0.35, transform: "rotate(" + design.slant + " 24 24)",
    });
    var step = 72 / design.stripes;
    for (var index = 0; index < design.stripes; index += 1) {
      stripes.appendChild(node(document, "rect", {
        x: round(-12 + index * step), y: -12, width: round(step / 3), height: 72,
      }));
    }
    svg.appendChild(stripes);
    return svg;
  }

  var covers = { coverDesign: coverDesign, coverColours: coverColours, coverElement: coverElement };
  if (typeof module === "object" && module.exports) module.exports = covers;
  else root.emoCovers = covers;
})(this);
