// Checkpoint timers on the session monitor count down between page loads. The server's time at
// render is the reference (the tablet's own clock may be wrong), advanced by the time elapsed here.
(function () {
  "use strict";
  var loadedAt = Date.now();
  function tick() {
    var timers = document.querySelectorAll(".timer[data-due][data-now]");
    timers.forEach(function (el) {
      var serverNow = Date.parse(el.getAttribute("data-now")) + (Date.now() - loadedAt);
      var minutes = Math.round((Date.parse(el.getAttribute("data-due")) - serverNow) / 60000);
      el.textContent = minutes >= 0 ? "in " + minutes + " min" : (-minutes) + " min overdue";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 15000); });
})();
