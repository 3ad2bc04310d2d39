// The Media view's behaviour: open a tile's card, filter the sheet, fetch video posters when seen,
// the before/after slider, and marking provider URLs expired. Sets text, classes and properties
// only, never HTML.
(function () {
  "use strict";
  var HINT = "Persist outputs with MediaJobOutputsOperator to keep them viewable.";

  function tick() {
    var now = Date.now();
    document.querySelectorAll("figure[data-state='valid'] .expiry[data-expires]").forEach(function (span) {
      var expires = Date.parse(span.getAttribute("data-expires"));
      if (isNaN(expires) || expires > now) return;
      var figure = span.closest("figure");
      figure.setAttribute("data-state", "expired");
      var player = figure.querySelector("img, video, audio, a.open");
      var note = document.createElement("p");
      note.className = "expired";
      note.textContent = "Expired at " + span.getAttribute("data-expires") +
        ": the provider's signed URL no longer works. " + HINT;
      if (player) {
        var outer = player.closest("a.open") || player;
        outer.replaceWith(note);
      }
      span.textContent = "provider URL, expired";
    });
  }

  function openCard(card) {
    document.querySelectorAll(".card.open:not(.single)").forEach(closeCard);
    card.classList.add("open");
    document.body.classList.add("modal-open");
    var close = card.querySelector(".details .close");
    if (close) close.focus();
  }

  function closeCard(card) {
    card.classList.remove("open");
    card.querySelectorAll(".details video, .details audio").forEach(function (m) { m.pause(); });
    document.body.classList.remove("modal-open");
  }

  function filter() {
    var wanted = {};
    document.querySelectorAll("select.filter").forEach(function (s) { wanted[s.getAttribute("data-filter")] = s.value; });
    var shown = 0;
    document.querySelectorAll(".sheet .card").forEach(function (card) {
      var ok = Object.keys(wanted).every(function (k) {
        return !wanted[k] || card.getAttribute("data-" + k) === wanted[k];
      });
      card.hidden = !ok;
      if (ok) shown += 1;
    });
    var label = document.querySelector(".filters .shown");
    if (label) label.textContent = shown + " shown";
  }

  function posters() {
    var videos = document.querySelectorAll("video.tile-img[data-src]");
    function load(v) { v.src = v.getAttribute("data-src"); v.preload = "metadata"; v.removeAttribute("data-src"); }
    if (!("IntersectionObserver" in window)) { videos.forEach(load); return; }
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { load(entry.target); seen.unobserve(entry.target); }
      });
    }, {rootMargin: "200px"});
    videos.forEach(function (v) { seen.observe(v); });
  }

  // Airflow shows this page in a sandboxed iframe: without allow-top-navigation (and, on 3.1,
  // allow-downloads and allow-popups) its links to the task's log, its downloads and "open full
  // size" do nothing. The page is same-origin with the UI, so such a link is followed from the top
  // document instead, the way a user opening it there would.
  function viaTop(event) {
    var a = event.target.closest("a[target='_top'], a[target='_blank'], a[download]");
    if (!a || window.top === window) return false;
    var doc;
    try { doc = window.top.document; } catch (err) { return false; }
    var link = doc.createElement("a");
    link.href = a.href;
    if (a.hasAttribute("download")) link.setAttribute("download", a.getAttribute("download"));
    if (a.target === "_blank") { link.target = "_blank"; link.rel = "noopener noreferrer"; }
    event.preventDefault();
    doc.body.appendChild(link);
    link.click();
    link.remove();
    return true;
  }

  document.addEventListener("click", function (event) {
    if (viaTop(event)) return;
    var tile = event.target.closest(".card .tile");
    if (tile) { openCard(tile.closest(".card")); return; }
    var close = event.target.closest(".details .close");
    if (close) closeCard(close.closest(".card"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") document.querySelectorAll(".card.open:not(.single)").forEach(closeCard);
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("select.filter")) filter();
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches(".compare .split")) {
      var panes = event.target.closest(".compare").querySelector(".panes");
      panes.style.setProperty("--split", event.target.value + "%");
    }
  });
  posters();
  tick();
  setInterval(tick, 5000);
})();
