// The header's menu: on a narrow screen the links fold behind one button, so the header stays one line.
// Without this script the links are a plain list that wraps.
(function () {
  "use strict";
  const nav = document.querySelector(".nav");
  const toggle = nav && nav.querySelector(".nav-toggle");
  const links = nav && document.getElementById("nav-links");
  if (!toggle || !links) return;

  function setOpen(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("nav-open", open);
  }

  nav.classList.add("nav-foldable");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    setOpen(toggle.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("nav-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (nav.classList.contains("nav-open") && !nav.contains(event.target)) setOpen(false);
  });
})();
