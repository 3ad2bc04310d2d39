// Marks provider URLs as expired once their time has passed. Sets text only, never HTML.
(function () {
  "use strict";
  function tick() {
    var now = Date.now();
    document.querySelectorAll("figure[data-state='valid'] .expiry[data-expires]").forEach(function (span) {
      var expires = Date.parse(span.getAttribute("data-expires"));
      if (isNaN(expires) || expires > now) return;
      var figure = span.closest("figure");
      figure.setAttribute("data-state", "expired");
      var player = figure.querySelector("img, video, audio, a.open, a.download");
      var note = document.createElement("p");
      note.className = "expired";
      note.textContent = "Expired at " + span.getAttribute("data-expires") +
        ": the provider's signed URL no longer works. Persist outputs with MediaJobOutputsOperator " +
        "to keep them viewable.";
      if (player) {
        var outer = player.closest("a.open") || player;
        outer.replaceWith(note);
      }
      span.textContent = "provider URL, expired";
    });
  }
  tick();
  setInterval(tick, 5000);
})();
