// The recommendations panel: loads the list from /api/recommendations/,
// saves star ratings to /api/ratings/ without a page reload and never moves the
// rows under the pointer (a 1 or 2 star rating takes out that row alone, with an
// undo; a higher one leaves the list as it is and offers "Refresh with your
// ratings"), redraws the mood map for the list shown, toggles "why this?", exports the list (M3U, CSV, copied links), and plays songs in a
// mini-player that stays at the bottom of the page. The Spotify player loads
// only when the user presses play (no request to Spotify before that); each
// row's cover (js/covers.js) is drawn from the song's own audio features.
(function () {
  "use strict";
  if (window.emoRecommendLoaded) return;
  window.emoRecommendLoaded = true;

  var STRATEGY_LABELS = { match: "Match my mood", uplift: "Lift my mood", calm: "Calm me down" };
  // The words people say, as the pages use them (detection.models.EMOTION_WORDS).
  var EMOTION_WORDS = {
    angry: "angry", disgust: "disgusted", fear: "scared", happy: "happy",
    sad: "sad", surprise: "surprised", neutral: "neutral",
  };
  var SAVE_DELAY_MS = 700; // arrow keys move through the stars; save the one the user settles on
  var NO_GENRE = /^(n\/?a|none|unknown|-)?$/i; // the seed catalog writes a missing genre as "N/A"

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function capitalise(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) : ""; }

  function errorMessage(body, fallback) {
    if (!body) return fallback;
    if (body.detail) return body.detail;
    var messages = [];
    Object.keys(body).forEach(function (key) {
      [].concat(body[key]).forEach(function (message) { messages.push(String(message)); });
    });
    return messages.join(" ") || fallback;
  }

  function send(url, method, payload) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: payload ? JSON.stringify(payload) : undefined,
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) throw new Error(errorMessage(body, "That did not work (error " + response.status + ")."));
        return body;
      });
    });
  }

  function download(name, type, text) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    var link = el("a", { href: url, download: name, hidden: "" });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  // --- The mini-player: one per page, outside the list, so it stays while the list changes.

  // How long the Spotify embed may take to load before the mini-player says it did not.
  var PLAYER_LOAD_TIMEOUT_MS = 8000;

  function MiniPlayer(root) {
    this.root = root;
    this.title = root.querySelector("[data-mini-title]");
    this.frame = root.querySelector("[data-mini-frame]");
    this.open = root.querySelector("[data-mini-open]");
    this.failed = root.querySelector("[data-mini-failed]");
    this.previous = root.querySelector("[data-mini-previous]");
    this.next = root.querySelector("[data-mini-next]");
    this.queue = [];
    this.index = 0;
    var player = this;
    root.querySelector("[data-mini-close]").addEventListener("click", function () { player.close(); });
    this.previous.addEventListener("click", function () { player.show(player.index - 1); });
    this.next.addEventListener("click", function () { player.show(player.index + 1); });
  }

  MiniPlayer.prototype.play = function (songs, index) {
    this.queue = songs.slice();
    this.show(index || 0);
  };

  MiniPlayer.prototype.show = function (index) {
    if (index < 0 || index >= this.queue.length) return;
    this.index = index;
    var song = this.queue[index];
    // The song and its Spotify link show whatever becomes of the embed (offline, blocked, not available
    // in the listener's region): the player never leaves the user with an empty box.
    this.open.href = song.spotify_url;
    this.open.querySelector("[data-mini-open-song]").textContent = ": " + song.name;
    this.loadEmbed(song);
    this.title.textContent = (this.queue.length > 1 ? (index + 1) + " of " + this.queue.length + ": " : "") +
      song.name + " by " + (song.artist || "unknown artist");
    this.previous.hidden = this.queue.length < 2;
    this.next.hidden = this.queue.length < 2;
    this.previous.disabled = index === 0;
    this.next.disabled = index === this.queue.length - 1;
    this.root.hidden = false;
    document.body.classList.add("has-mini-player");
  };

  MiniPlayer.prototype.loadEmbed = function (song) {
    var player = this;
    clearTimeout(this.loadTimer);
    this.failed.hidden = true;
    this.frame.textContent = "";
    if (navigator.onLine === false) {
      this.fail();
      return;
    }
    var frame = el("iframe", {
      src: "https://open.spotify.com/embed/track/" + encodeURIComponent(song.spotify_id),
      title: "Spotify player: " + song.name + " by " + (song.artist || "unknown artist"),
      width: "100%", height: "80",
      allow: "autoplay; clipboard-write; encrypted-media; fullscreen; picture-in-picture",
    });
    frame.addEventListener("load", function () { clearTimeout(player.loadTimer); });
    frame.addEventListener("error", function () { player.fail(frame); });
    var timeout = Number(this.root.getAttribute("data-load-timeout-ms")) || PLAYER_LOAD_TIMEOUT_MS;
    this.loadTimer = setTimeout(function () { player.fail(frame); }, timeout);
    this.frame.appendChild(frame);
  };

  // The embed did not load: take away its empty box and say so, next to the song's Spotify link.
  MiniPlayer.prototype.fail = function (frame) {
    clearTimeout(this.loadTimer);
    if (frame && frame.parentNode !== this.frame) return; // another song's embed has replaced it
    this.frame.textContent = "";
    this.failed.hidden = false;
  };

  MiniPlayer.prototype.close = function () {
    clearTimeout(this.loadTimer);
    this.failed.hidden = true;
    this.frame.textContent = ""; // removing the embed stops the sound
    this.root.hidden = true;
    this.queue = [];
    document.body.classList.remove("has-mini-player");
  };

  var miniPlayer = null;
  function player() {
    var root = document.querySelector("[data-mini-player]");
    if (!root) return null;
    if (!miniPlayer || miniPlayer.root !== root) miniPlayer = new MiniPlayer(root);
    return miniPlayer;
  }

  // --- The panel.

  function Panel(root) {
    this.root = root;
    this.list = root.querySelector("[data-rec-list]");
    this.status = root.querySelector("[data-rec-status]");
    this.summary = root.querySelector("[data-rec-summary]");
    this.strategy = root.querySelector("[data-rec-strategy]");
    this.tools = root.querySelector("[data-rec-tools]");
    this.undoBar = root.querySelector("[data-rec-undo]");
    this.pending = {};
    this.openReasons = {}; // "why this?" stays open across refreshes of the list
    this.body = null;
    var panel = this;
    if (this.strategy) {
      this.strategy.addEventListener("change", function () {
        panel.rememberStrategy();
        panel.load("Strategy changed.");
      });
    }
    // The genre filter is a GET form (it works without this script); here it reloads only the list.
    this.genre = root.querySelector("[data-rec-genre]");
    this.notice = root.querySelector("[data-rec-notice]");
    var genreForm = root.querySelector("[data-rec-genre-form]");
    if (this.genre && genreForm) {
      genreForm.querySelector("[data-rec-genre-submit]").hidden = true;
      genreForm.addEventListener("submit", function (event) { event.preventDefault(); });
      this.genre.addEventListener("change", function () {
        panel.rememberGenre();
        panel.load(panel.genre.value ? "Showing " + panel.genre.value + " songs." : "Showing every genre.");
      });
    }
    this.favourites = root.querySelector("[data-rec-favourites]");
    this.favourites.addEventListener("change", function () {
      panel.load(panel.favourites.checked ? "Your favourites may fill the list." : "Mostly new songs again.");
    });
    root.querySelector("[data-rec-play-all]").addEventListener("click", function () {
      if (panel.body && panel.body.results.length) player().play(panel.songs(), 0);
    });
    root.querySelectorAll("[data-rec-export]").forEach(function (button) {
      button.addEventListener("click", function () { panel.exportAs(button.getAttribute("data-rec-export")); });
    });
    root.querySelector("[data-rec-copy]").addEventListener("click", function () { panel.copyLinks(); });
    root.querySelector("[data-rec-undo-button]").addEventListener("click", function () { panel.undo(); });
    this.refreshLine = root.querySelector("[data-rec-refresh]");
    root.querySelector("[data-rec-refresh-button]").addEventListener("click", function () {
      panel.hideUndo();
      panel.load("Refreshed with your ratings.");
    });
    this.load();
  }

  Panel.prototype.songs = function () {
    return this.body ? this.body.results.map(function (result) { return result.song; }) : [];
  };

  // The choice is for this page only: kept in its address (so a reload keeps it) and in the
  // "pick my mood" form (so another emotion keeps it); the profile holds the usual one.
  Panel.prototype.rememberStrategy = function () {
    var value = this.strategy.value;
    var url = new URL(window.location.href);
    if (value === this.root.dataset.defaultStrategy) url.searchParams.delete("strategy");
    else url.searchParams.set("strategy", value);
    window.history.replaceState(window.history.state, "", url.toString());
    document.querySelectorAll("[data-strategy-input]").forEach(function (input) { input.value = value; });
    var note = this.root.querySelector("[data-rec-strategy-note]");
    if (note) note.hidden = value === this.root.dataset.defaultStrategy;
  };

  // Like the strategy: kept in the page's address and in the "pick my mood" form.
  Panel.prototype.rememberGenre = function () {
    var value = this.genre.value;
    var url = new URL(window.location.href);
    if (value) url.searchParams.set("genre", value);
    else url.searchParams.delete("genre");
    window.history.replaceState(window.history.state, "", url.toString());
    document.querySelectorAll("[data-genre-input]").forEach(function (input) { input.value = value; });
  };

  Panel.prototype.query = function () {
    var params = new URLSearchParams({ limit: "10" });
    if (this.root.dataset.detection) params.set("detection", this.root.dataset.detection);
    else if (this.root.dataset.valence) {
      params.set("valence", this.root.dataset.valence);
      params.set("energy", this.root.dataset.energy);
    } else params.set("emotion", this.root.dataset.emotion);
    if (this.strategy) params.set("strategy", this.strategy.value);
    if (this.favourites && this.favourites.checked) params.set("favourites", "true");
    if (this.genre && this.genre.value) params.set("genre", this.genre.value);
    return this.root.dataset.apiUrl + "?" + params.toString();
  };

  // Only the latest request may draw the list: a slower answer to an earlier choice (the page's first load,
  // a strategy since changed) is cancelled, and ignored if it still arrives.
  Panel.prototype.load = function (announcement, focusSongId) {
    var panel = this;
    var request = (this.latestRequest = (this.latestRequest || 0) + 1);
    var current = function () { return request === panel.latestRequest; };
    if (this.inFlight) this.inFlight.abort();
    this.inFlight = typeof AbortController === "function" ? new AbortController() : null;
    this.list.setAttribute("aria-busy", "true");
    this.refreshLine.hidden = true;
    var options = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (this.inFlight) options.signal = this.inFlight.signal;
    return fetch(this.query(), options)
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) throw new Error(errorMessage(body, "The songs could not be loaded (error " + response.status + ")."));
          return body;
        });
      })
      .then(function (body) {
        if (!current()) return;
        panel.render(body, focusSongId);
        var count = body.results.length;
        // The genres left out, or the one picked, may leave fewer songs than asked for: the answer says so.
        if (panel.notice) {
          panel.notice.textContent = body.notice || "";
          panel.notice.hidden = !body.notice;
        }
        panel.status.textContent = (announcement ? announcement + " " : "") +
          (count ? count + " songs." : body.notice ? "No songs." : "No songs to suggest yet: the catalogue is empty.");
      })
      .catch(function (error) {
        if (!current()) return;
        panel.status.textContent = error.message || "The songs could not be loaded. Check your connection and try again.";
      })
      .finally(function () {
        if (!current()) return;
        panel.inFlight = null;
        panel.list.setAttribute("aria-busy", "false");
      });
  };

  // The result page's sentence about the mood comes from the same answer as the songs, so they agree.
  Panel.prototype.showMood = function (body) {
    var strategyLabel = STRATEGY_LABELS[body.strategy] || body.strategy;
    document.querySelectorAll("[data-mood-line]").forEach(function (line) {
      line.textContent = "";
      if (body.mood) {
        line.appendChild(document.createTextNode("For “"));
        line.appendChild(el("span", { "data-mood-strategy": "", text: strategyLabel }));
        line.appendChild(document.createTextNode("”, your songs are "));
        line.appendChild(el("strong", { "data-mood-name": "", text: body.mood }));
        line.appendChild(document.createTextNode("."));
      } else {
        line.textContent = "No mood is set up for this emotion yet. Pick how you feel below to get songs.";
      }
    });
    document.querySelectorAll("[data-mood-because]").forEach(function (line) {
      line.textContent = body.mood_reason || "";
      line.hidden = !body.mood_reason;
    });
    var browse = this.root.querySelector("[data-rec-browse]");
    if (browse && body.mood) {
      browse.href = browse.pathname + "?mood=" + encodeURIComponent(body.mood);
      browse.textContent = body.mood + " songs";
    }
  };

  Panel.prototype.render = function (body, focusSongId) {
    var panel = this;
    this.body = body;
    var emotion = capitalise(EMOTION_WORDS[body.emotion] || body.emotion);
    this.summary.textContent = emotion + " · " + (STRATEGY_LABELS[body.strategy] || body.strategy) +
      (body.mood ? " → " + body.mood + " songs" : "");
    this.showMood(body);
    this.tools.hidden = !body.results.length;
    this.root.querySelector("[data-rec-play-all]").hidden = !body.results.length;
    this.list.textContent = "";
    body.results.forEach(function (result, index) {
      panel.list.appendChild(panel.item(result, index));
    });
    this.redrawMap(body);
    if (focusSongId) {
      var target = this.list.querySelector('[data-song="' + focusSongId + '"] input:checked') ||
        this.list.querySelector('[data-song="' + focusSongId + '"] input');
      if (target) target.focus();
      else this.status.focus();
    }
  };

  // The mood map beside the list is redrawn on the server for the songs now listed and the strategy now
  // chosen, so that its target, its region and its highlighted songs agree with the list.
  Panel.prototype.redrawMap = function (body) {
    var figure = document.querySelector("[data-mood-map]");
    if (!figure || !figure.getAttribute("data-map-url")) return;
    var url = new URL(figure.getAttribute("data-map-url"), window.location.href);
    var listed = body.results.map(function (result) { return String(result.song.id); });
    var drawn = Array.prototype.map.call(figure.querySelectorAll("[data-map-song]"), function (mark) {
      return mark.getAttribute("data-map-song");
    });
    // The map the server drew with the page already shows this list under this strategy: nothing to redraw.
    if (url.searchParams.get("strategy") === body.strategy && listed.slice().sort().join(",") === drawn.sort().join(",")) return;
    url.searchParams.set("strategy", body.strategy);
    url.searchParams.set("songs", listed.join(","));
    var request = (this.mapRequest = (this.mapRequest || 0) + 1);
    var panel = this;
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var current = document.querySelector("[data-mood-map]");
        if (!html || !current || request !== panel.mapRequest) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-mood-map]");
        if (fresh) current.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () { /* the map drawn with the page stays; the list is what matters */ });
  };

  // One compact row, as a music app shows a song: its cover (which plays it), the title and artist, the
  // stars, and two small icon buttons (Spotify, "why this?") that carry their names for screen readers.
  Panel.prototype.item = function (result, index) {
    var song = result.song;
    var panel = this;
    var base = "rec-" + (this.root.dataset.detection || this.root.dataset.emotion) + "-" + song.id;
    var artist = song.artist || "unknown artist";
    var year = song.release_date ? song.release_date.slice(0, 4) : "";
    var genre = NO_GENRE.test(song.genre || "") ? "" : song.genre;
    var meta = [song.album, year, genre].filter(Boolean).join(" · ");

    var title = el("p", { class: "rec-title" }, [el("strong", { text: song.name })]);
    if (result.explore) title.appendChild(el("span", { class: "rec-badge", text: "new for you" }));

    var reasons = el("ul", { class: "rec-reasons", id: base + "-why", hidden: "" },
      result.reasons.map(function (reason) { return el("li", { text: reason }); }));
    var why = el("button", { type: "button", class: "rec-icon", "aria-expanded": "false", "aria-controls": base + "-why", title: "Why this?" }, [
      el("span", { "aria-hidden": "true", text: "?" }),
      el("span", { class: "visually-hidden", text: "Why this?" }),
    ]);
    function showReasons(open) {
      why.setAttribute("aria-expanded", String(open));
      reasons.hidden = !open;
      panel.openReasons[song.id] = open;
    }
    why.addEventListener("click", function () { showReasons(why.getAttribute("aria-expanded") !== "true"); });
    if (this.openReasons[song.id]) showReasons(true);

    var cover = el("button", { type: "button", class: "rec-cover", "aria-label": "Play " + song.name + " by " + artist + " (loads the Spotify player)" }, [
      window.emoCovers.coverElement(document, song, base + "-cover"),
      el("span", { class: "rec-cover-play", "aria-hidden": "true", text: "▶" }),
    ]);
    // The place is looked up on play: a row taken out by a low rating shifts the ones after it.
    cover.addEventListener("click", function () {
      var songs = panel.songs();
      var place = songs.findIndex(function (listed) { return listed.id === song.id; });
      player().play(songs, place < 0 ? index : place);
    });
    var open = el("a", { class: "rec-icon", href: song.spotify_url, target: "_blank", rel: "noopener noreferrer", title: "Open in Spotify" }, [
      el("span", { "aria-hidden": "true", text: "↗" }),
      el("span", { class: "visually-hidden", text: "Open in Spotify: " + song.name + " (opens in a new tab)" }),
    ]);

    return el("li", { class: "rec-item", "data-song": String(song.id) }, [
      cover,
      el("div", { class: "rec-main" }, [
        title,
        el("p", { class: "rec-artist muted", text: artist }),
        meta ? el("p", { class: "rec-meta muted", text: meta }) : null,
      ]),
      panel.stars(song, result.rating, base),
      el("div", { class: "rec-actions" }, [open, why]),
      reasons,
    ]);
  };

  Panel.prototype.stars = function (song, current, base) {
    var panel = this;
    var group = el("fieldset", { class: "rec-stars" }, [
      el("legend", { class: "visually-hidden", text: "Rate " + song.name }),
      el("span", { class: "rec-rate-label", "aria-hidden": "true", text: current ? "Your rating" : "Rate" }),
    ]);
    [1, 2, 3, 4, 5].forEach(function (score) {
      var id = base + "-star-" + score;
      var input = el("input", { type: "radio", name: base + "-stars", id: id, value: String(score), class: "visually-hidden" });
      if (current === score) input.checked = true;
      input.addEventListener("change", function () {
        paint(group, score);
        panel.scheduleSave(song, score, current || null);
      });
      var label = el("label", { for: id, title: score + (score === 1 ? " star" : " stars") }, [
        el("span", { "aria-hidden": "true", text: "★" }),
        el("span", { class: "visually-hidden", text: score + (score === 1 ? " star" : " stars") }),
      ]);
      group.appendChild(input);
      group.appendChild(label);
    });
    paint(group, current || 0);
    return group;
  };

  function paint(group, score) {
    group.querySelectorAll("label").forEach(function (label, index) {
      label.classList.toggle("on", index < score);
    });
  }

  Panel.prototype.scheduleSave = function (song, score, previous) {
    var panel = this;
    clearTimeout(this.pending[song.id]);
    this.pending[song.id] = setTimeout(function () { panel.save(song, score, previous); }, SAVE_DELAY_MS);
  };

  Panel.prototype.context = function (payload) {
    if (this.root.dataset.detection) payload.detection = Number(this.root.dataset.detection);
    else payload.emotion = this.root.dataset.emotion;
    return payload;
  };

  Panel.prototype.save = function (song, score, previous) {
    var panel = this;
    this.status.textContent = "Saving your rating…";
    return send(this.root.dataset.ratingsUrl, "POST", this.context({ song: song.id, score: score }))
      .then(function (rating) {
        var stars = score + (score === 1 ? " star" : " stars");
        if (score <= 2) {
          var removed = panel.removeRow(song);
          panel.offerUndo(song, rating, previous, removed);
          panel.status.textContent = "Saved " + stars + " for " + song.name + ". We won't suggest it again for this mood.";
          return;
        }
        // The rows stay where they are: a list that reorders under the pointer makes the next tap land on
        // another song. The next list (this line's button, the next visit) reflects the rating.
        panel.refreshLine.hidden = false;
        panel.status.textContent = "Saved " + stars + " for " + song.name + ". Refresh with your ratings to see what changes.";
      })
      .catch(function (error) { panel.status.textContent = error.message; });
  };

  // Takes the song's row out of the list on screen (the others stay where they are) and off the map;
  // returns what undo needs to put it back: the row, its result and its place.
  Panel.prototype.removeRow = function (song) {
    var row = this.list.querySelector('[data-song="' + song.id + '"]');
    var results = this.body ? this.body.results : [];
    var index = -1;
    results.forEach(function (result, position) { if (result.song.id === song.id) index = position; });
    if (!row || index < 0) return null;
    var removed = { row: row, result: results[index], index: index };
    // A keyboard user rating that row keeps their place: focus goes to the row that takes its place,
    // without scrolling (the rows stay under the pointer).
    var hadFocus = row.contains(document.activeElement);
    var neighbour = row.nextElementSibling || row.previousElementSibling;
    results.splice(index, 1);
    row.remove();
    if (hadFocus) {
      var star = neighbour && (neighbour.querySelector("input:checked") || neighbour.querySelector("input"));
      (star || this.status).focus({ preventScroll: true });
    }
    document.querySelectorAll('[data-mood-map] [data-map-song="' + song.id + '"]').forEach(function (mark) {
      mark.setAttribute("display", "none");
    });
    this.tools.hidden = !results.length;
    this.root.querySelector("[data-rec-play-all]").hidden = !results.length;
    return removed;
  };

  Panel.prototype.restoreRow = function (removed, score) {
    var results = this.body ? this.body.results : [];
    var index = Math.min(removed.index, results.length);
    removed.result.rating = score || null;
    results.splice(index, 0, removed.result);
    // A fresh row: its stars show the rating put back.
    var row = this.item(removed.result, index);
    this.list.insertBefore(row, this.list.children[index] || null);
    document.querySelectorAll('[data-mood-map] [data-map-song="' + removed.result.song.id + '"]').forEach(function (mark) {
      mark.removeAttribute("display");
    });
    this.tools.hidden = false;
    this.root.querySelector("[data-rec-play-all]").hidden = false;
    return row;
  };

  Panel.prototype.offerUndo = function (song, rating, previous, removed) {
    this.undoState = { song: song, rating: rating, previous: previous, removed: removed };
    this.undoBar.querySelector("[data-rec-undo-text]").textContent = "“" + song.name + "” was removed from your list.";
    this.undoBar.hidden = false;
  };

  Panel.prototype.hideUndo = function () {
    this.undoState = null;
    this.undoBar.hidden = true;
  };

  // Undo puts back the rating the song had before (or none), so it returns to the list.
  Panel.prototype.undo = function () {
    var state = this.undoState;
    var panel = this;
    if (!state) return;
    // The undo button goes with its bar: a keyboard user's focus moves to the row put back.
    var fromKeyboard = this.undoBar.contains(document.activeElement);
    this.hideUndo();
    var request = state.previous
      ? send(this.root.dataset.ratingsUrl, "POST", this.context({ song: state.song.id, score: state.previous }))
      : send(this.root.dataset.ratingsUrl + state.rating.id + "/", "DELETE");
    request
      .then(function () {
        if (!state.removed) return panel.load("“" + state.song.name + "” is back.", state.song.id);
        var row = panel.restoreRow(state.removed, state.previous);
        panel.status.textContent = "“" + state.song.name + "” is back.";
        var star = row.querySelector("input:checked") || row.querySelector("input");
        if (star && fromKeyboard) star.focus({ preventScroll: true });
      })
      .catch(function (error) { panel.status.textContent = error.message; });
  };

  Panel.prototype.fileName = function (extension) {
    var body = this.body;
    var name = ["emomusic", body.mood || body.emotion, body.strategy].join("-").toLowerCase().replace(/[^a-z0-9-]+/g, "-");
    return name + "." + extension;
  };

  Panel.prototype.exportAs = function (format) {
    var songs = this.songs();
    if (!songs.length) return;
    // js/playlist.js writes the files: catalog text stays data in them (one line per M3U field,
    // formulas escaped in CSV cells).
    if (format === "m3u") {
      var title = "EmoMusic " + (this.body.mood || this.body.emotion) + " songs";
      download(this.fileName("m3u"), "audio/x-mpegurl", window.emoPlaylist.m3uText(title, songs));
    } else {
      var rows = [["position", "name", "artist", "album", "mood", "spotify_url"]];
      songs.forEach(function (song, index) {
        rows.push([index + 1, song.name, song.artist, song.album, song.mood, song.spotify_url]);
      });
      download(this.fileName("csv"), "text/csv", window.emoPlaylist.csvText(rows));
    }
    this.status.textContent = "Saved the list of " + songs.length + " songs as " + format.toUpperCase() + ".";
  };

  Panel.prototype.copyLinks = function () {
    var panel = this;
    var links = this.songs().map(function (song) { return song.spotify_url; });
    if (!links.length) return;
    var text = links.join("\n");
    var done = function () { panel.status.textContent = "Copied " + links.length + " Spotify links."; };
    var fallback = function () {
      var area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var copied = document.execCommand && document.execCommand("copy");
      area.remove();
      if (copied) done();
      else panel.status.textContent = "Your browser would not copy; use “Save as playlist” instead.";
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  };

  function init(scope) {
    (scope || document).querySelectorAll("[data-recommendations]:not([data-ready])").forEach(function (root) {
      root.setAttribute("data-ready", "");
      root.querySelector("[data-rec-status]").setAttribute("tabindex", "-1");
      new Panel(root);
    });
  }

  function start() {
    init(document);
    // The detection page swaps its result in when the analysis finishes; set up panels that arrive later.
    new MutationObserver(function () { init(document); }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
