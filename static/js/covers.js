// A song's cover, drawn from the song itself so that it needs no image from the network and looks the
// same every time: the hue follows its valence (sad blue, through purple and pink, to happy orange),
// the saturation and lightness its energy, the stripes' number its tempo and their slant its
// danceability; a disc sits where its key falls on the circle of fifths, as large as the song is acoustic,
// and its genre picks the pattern (stripes, dots or rings), so that songs of one mood still look apart.
// A song without a feature takes the catalog's middle value for it. It runs in the page (window.emoCovers: js/recommend.js draws
// each row's cover with it) and in Node for the tests (module.exports).
(function (root) {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var MIDDLE = { valence: 0.5, energy: 0.5, danceability: 0.5, tempo: 120, acousticness: 0.3 };
  var PATTERNS = ["stripes", "dots", "rings"];

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
      pattern: PATTERNS[genreNumber(song) % PATTERNS.length],
      disc: keyDisc(song),
    };
  }

  // The same number for the same genre, whatever its case or spacing; 0 (stripes) for a song without one.
  function genreNumber(song) {
    var genre = String((song && song.genre) || "").trim().toLowerCase();
    var number = 0;
    for (var index = 0; index < genre.length; index += 1) number = (number * 131 + genre.charCodeAt(index)) % 9973;
    return number;
  }

  // Keys a fifth apart sit next to each other (C at the top, G one step clockwise); no disc without a key.
  function keyDisc(song) {
    var key = Number(song ? song.key : NaN);
    if (!isFinite(key) || key < 0 || key > 11) return null;
    var step = (Math.round(key) * 7) % 12;
    var angle = (step / 12) * 2 * Math.PI;
    return {
      x: round(24 + 13 * Math.sin(angle)),
      y: round(24 - 13 * Math.cos(angle)),
      r: round(4 + 8 * clamp(feature(song, "acousticness"), 0, 1)),
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
    var pattern = node(document, "g", {
      fill: colours.stripe, "fill-opacity": 0.35, transform: "rotate(" + design.slant + " 24 24)",
      "data-pattern": design.pattern,
    });
    var step = 72 / design.stripes;
    for (var index = 0; index < design.stripes; index += 1) {
      if (design.pattern === "stripes") {
        pattern.appendChild(node(document, "rect", {
          x: round(-12 + index * step), y: -12, width: round(step / 3), height: 72,
        }));
      } else if (design.pattern === "dots") {
        for (var row = 0; row < design.stripes; row += 1) {
          pattern.appendChild(node(document, "circle", {
            cx: round(-12 + (index + 0.5) * step), cy: round(-12 + (row + 0.5) * step), r: round(step / 5),
          }));
        }
      } else {
        pattern.appendChild(node(document, "circle", {
          cx: 24, cy: 24, r: round((index + 1) * (34 / design.stripes)), fill: "none",
          stroke: colours.stripe, "stroke-width": round(Math.max(1, step / 6)),
        }));
      }
    }
    svg.appendChild(pattern);
    if (design.disc) {
      svg.appendChild(node(document, "circle", {
        cx: design.disc.x, cy: design.disc.y, r: design.disc.r, fill: colours.to, stroke: colours.stripe,
        "stroke-width": 1.5, "data-key-disc": "",
      }));
    }
    return svg;
  }

  var covers = { coverDesign: coverDesign, coverColours: coverColours, coverElement: coverElement };
  if (typeof module === "object" && module.exports) module.exports = covers;
  else root.emoCovers = covers;
})(this);
