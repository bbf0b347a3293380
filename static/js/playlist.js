// The playlist files the recommendations panel saves (js/recommend.js): M3U and CSV text from a list of
// songs. Song names, artists and albums come from the catalog, so they are written as data:
// - an M3U file is read line by line, so a line break inside a name would start an entry of its own
//   (a "#EXTINF" and a link of someone else's choosing): every field is kept to one line;
// - a CSV cell starting with = + - @, a tab or a carriage return is a formula to a spreadsheet
//   (OWASP's CSV-injection rule): it gets a leading apostrophe, as the server's exports do
//   (catalog/spreadsheet.py), after any apostrophes it already starts with.
// It runs in the page (window.emoPlaylist) and in Node for the tests (module.exports).
(function (root) {
  "use strict";

  var FORMULA_START = /^'*[=+\-@\t\r]/;
  // The line breaks a player may split on: CR, LF, vertical tab, form feed, NEL, LS and PS.
  var LINE_BREAKS = /[\n\r\u000b\u000c\u0085\u2028\u2029]+/g;

  function text(value) {
    return String(value === null || value === undefined ? "" : value);
  }

  function oneLine(value) {
    return text(value).replace(LINE_BREAKS, " ");
  }

  function spreadsheetSafe(value) {
    var cell = text(value);
    return FORMULA_START.test(cell) ? "'" + cell : cell;
  }

  function csvCell(value) {
    var cell = spreadsheetSafe(value);
    return /[",\n\r]/.test(cell) ? '"' + cell.replace(/"/g, '""') + '"' : cell;
  }

  // rows: arrays of cells, the header first. Lines end in CRLF, as RFC 4180 has them.
  function csvText(rows) {
    return rows.map(function (row) { return row.map(csvCell).join(","); }).join("\r\n") + "\r\n";
  }

  // songs: objects with name, artist, length_ms and spotify_url, as /api/recommendations/ gives them.
  function m3uText(title, songs) {
    var lines = ["#EXTM3U", "#PLAYLIST:" + oneLine(title)];
    songs.forEach(function (song) {
      var seconds = Math.round((Number(song.length_ms) || 0) / 1000);
      lines.push("#EXTINF:" + seconds + "," + oneLine(song.artist || "unknown artist") + " - " + oneLine(song.name));
      lines.push(oneLine(song.spotify_url));
    });
    return lines.join("\n") + "\n";
  }

  var playlist = { csvCell: csvCell, csvText: csvText, m3uText: m3uText, spreadsheetSafe: spreadsheetSafe };
  if (typeof module === "object" && module.exports) module.exports = playlist;
  else root.emoPlaylist = playlist;
})(this);
