// The recommendations panel: loads the list from /api/recommendations/,
// saves star ratings to /api/ratings/ without a page reload and refreshes the
// list, toggles "why this?", and inserts the Spotify player only when the user
// presses play (no request to Spotify before that).
(function () {
  "use strict";
  if (window.emoRecommendLoaded) return;
  window.emoRecommendLoaded = true;

  var STRATEGY_LABELS = { match: "Match my mood", uplift: "Lift my mood", calm: "Calm me down" };
  var SAVE_DELAY_MS = 700; // arrow keys move through the stars; save the one the user settles on

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

  function errorMessage(body, fallback) {
    if (!body) return fallback;
    if (body.detail) return body.detail;
    var messages = [];
    Object.keys(body).forEach(function (key) {
      [].concat(body[key]).forEach(function (message) { messages.push(String(message)); });
    });
    return messages.join(" ") || fallback;
  }

  function Panel(root) {
    this.root = root;
    this.list = root.querySelector("[data-rec-list]");
    this.status = root.querySelector("[data-rec-status]");
    this.summary = root.querySelector("[data-rec-summary]");
    this.strategy = root.querySelector("[data-rec-strategy]");
    this.pending = {};
    this.openReasons = {}; // "why this?" stays open across refreshes of the list
    var panel = this;
    if (this.strategy) {
      this.strategy.addEventListener("change", function () { panel.load("Strategy changed."); });
    }
    this.load();
  }

  Panel.prototype.query = function () {
    var params = new URLSearchParams({ limit: "10" });
    if (this.root.dataset.detection) params.set("detection", this.root.dataset.detection);
    else params.set("emotion", this.root.dataset.emotion);
    if (this.strategy) params.set("strategy", this.strategy.value);
    return this.root.dataset.apiUrl + "?" + params.toString();
  };

  Panel.prototype.load = function (announcement, focusSongId) {
    var panel = this;
    this.list.setAttribute("aria-busy", "true");
    return fetch(this.query(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) throw new Error(errorMessage(body, "The songs could not be loaded (error " + response.status + ")."));
          return body;
        });
      })
      .then(function (body) {
        panel.render(body, focusSongId);
        var count = body.results.length;
        panel.status.textContent = (announcement ? announcement + " " : "") +
          (count ? count + " songs." : "No songs to suggest yet: the catalogue is empty.");
      })
      .catch(function (error) {
        panel.status.textContent = error.message || "The songs could not be loaded. Check your connection and try again.";
      })
      .finally(function () { panel.list.setAttribute("aria-busy", "false"); });
  };

  Panel.prototype.render = function (body, focusSongId) {
    var panel = this;
    var emotion = body.emotion.charAt(0).toUpperCase() + body.emotion.slice(1);
    this.summary.textContent = emotion + " · " + (STRATEGY_LABELS[body.strategy] || body.strategy) +
      (body.mood ? " → " + body.mood + " songs" : "");
    this.list.textContent = "";
    body.results.forEach(function (result, index) {
      panel.list.appendChild(panel.item(result, index));
    });
    if (focusSongId) {
      var target = this.list.querySelector('[data-song="' + focusSongId + '"] input:checked') ||
        this.list.querySelector('[data-song="' + focusSongId + '"] input');
      if (target) target.focus();
      else this.status.focus();
    }
  };

  Panel.prototype.item = function (result, index) {
    var song = result.song;
    var panel = this;
    var base = "rec-" + (this.root.dataset.detection || this.root.dataset.emotion) + "-" + song.id;
    var year = song.release_date ? song.release_date.slice(0, 4) : "";
    var meta = [song.album, year, song.genre].filter(Boolean).join(" · ");

    var title = el("p", { class: "rec-title" }, [
      el("strong", { text: song.name }),
      el("span", { class: "muted", text: " by " + (song.artist || "unknown artist") }),
    ]);
    if (result.explore) title.appendChild(el("span", { class: "rec-badge", text: "new for you" }));

    var reasons = el("ul", { class: "rec-reasons", id: base + "-why", hidden: "" },
      result.reasons.map(function (reason) { return el("li", { text: reason }); }));
    var why = el("button", { type: "button", class: "link-button", "aria-expanded": "false", "aria-controls": base + "-why", text: "Why this?" });
    function showReasons(open) {
      why.setAttribute("aria-expanded", String(open));
      reasons.hidden = !open;
      panel.openReasons[song.id] = open;
    }
    why.addEventListener("click", function () { showReasons(why.getAttribute("aria-expanded") !== "true"); });
    if (this.openReasons[song.id]) showReasons(true);

    var player = el("div", { class: "rec-player" });
    var play = el("button", { type: "button", class: "button button-small", text: "▶ Play" });
    play.setAttribute("aria-label", "Play " + song.name + " by " + song.artist + " (loads the Spotify player)");
    play.addEventListener("click", function () {
      var frame = el("iframe", {
        src: "https://open.spotify.com/embed/track/" + encodeURIComponent(song.spotify_id),
        title: "Spotify player: " + song.name + " by " + song.artist,
        width: "100%", height: "80", loading: "lazy",
        allow: "autoplay; clipboard-write; encrypted-media; fullscreen; picture-in-picture",
      });
      player.textContent = "";
      player.appendChild(frame);
      play.disabled = true;
      frame.focus();
    });
    var open = el("a", { href: song.spotify_url, target: "_blank", rel: "noopener noreferrer" }, [
      document.createTextNode("Open in Spotify"),
      el("span", { class: "visually-hidden", text: " (opens in a new tab)" }),
    ]);

    return el("li", { class: "rec-item", "data-song": String(song.id) }, [
      el("div", { class: "rec-main" }, [title, meta ? el("p", { class: "rec-meta muted", text: meta }) : null]),
      panel.stars(song, result.rating, base),
      el("div", { class: "rec-actions" }, [play, open, why]),
      reasons,
      player,
    ]);
  };

  Panel.prototype.stars = function (song, current, base) {
    var panel = this;
    var group = el("fieldset", { class: "rec-stars" }, [
      el("legend", { class: "visually-hidden", text: "Rate " + song.name }),
    ]);
    [1, 2, 3, 4, 5].forEach(function (score) {
      var id = base + "-star-" + score;
      var input = el("input", { type: "radio", name: base + "-stars", id: id, value: String(score), class: "visually-hidden" });
      if (current === score) input.checked = true;
      input.addEventListener("change", function () {
        paint(group, score);
        panel.scheduleSave(song, score);
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

  Panel.prototype.scheduleSave = function (song, score) {
    var panel = this;
    clearTimeout(this.pending[song.id]);
    this.pending[song.id] = setTimeout(function () { panel.save(song, score); }, SAVE_DELAY_MS);
  };

  Panel.prototype.save = function (song, score) {
    var panel = this;
    var payload = { song: song.id, score: score };
    if (this.root.dataset.detection) payload.detection = Number(this.root.dataset.detection);
    else payload.emotion = this.root.dataset.emotion;
    this.status.textContent = "Saving your rating…";
    return fetch(this.root.dataset.ratingsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(payload),
    })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) throw new Error(errorMessage(body, "Your rating could not be saved (error " + response.status + ")."));
        });
      })
      .then(function () {
        var stars = score + (score === 1 ? " star" : " stars");
        var note = score <= 2 ? " We won't suggest it again for this mood." : "";
        return panel.load("Saved " + stars + " for " + song.name + "." + note + " The list was updated.", song.id);
      })
      .catch(function (error) { panel.status.textContent = error.message; });
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
