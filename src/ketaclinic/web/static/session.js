/* The idle time-out, made visible: warn shortly before the server signs this browser out, offer
   "Stay signed in", and go to the sign-in page once the session has really ended. The server is
   the authority (another tab may have kept the session alive), so this script asks it rather
   than trusting its own timer; asking does not count as activity. */
(function () {
  "use strict";
  var body = document.body;
  var timeoutSeconds = Number(body.dataset.idleTimeoutSeconds || 0);
  var dialog = document.getElementById("idle-warning");
  if (!timeoutSeconds || !dialog) {
    return;
  }
  var warnBeforeSeconds = Math.min(120, Math.floor(timeoutSeconds / 2));
  var stay = document.getElementById("idle-stay");
  var timer = null;

  function later(seconds, action) {
    window.clearTimeout(timer);
    timer = window.setTimeout(action, Math.max(1, seconds) * 1000);
  }

  function signInAgain() {
    var next = encodeURIComponent(window.location.pathname);
    window.location.assign("/sign-in?expired=1&next=" + next);
  }

  function check() {
    fetch("/session/status", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (!status.signed_in) {
          signInAgain();
        } else if (status.seconds_left > warnBeforeSeconds) {
          dialog.hidden = true;
          later(status.seconds_left - warnBeforeSeconds, check);
        } else {
          if (dialog.hidden) {
            dialog.hidden = false;
            stay.focus();
          }
          later(status.seconds_left + 1, check);
        }
      })
      .catch(function () { later(30, check); });
  }

  stay.addEventListener("click", function () {
    fetch("/session/keep-alive", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": body.dataset.csrfToken, Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        signInAgain();
        return;
      }
      dialog.hidden = true;
      later(timeoutSeconds - warnBeforeSeconds, check);
    });
  });
  // Requests made by htmx are activity too, except a page's own polling (marked
  // data-idle-passive), which the server does not count either.
  body.addEventListener("htmx:afterRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (source && source.closest && source.closest("[data-idle-passive]")) {
      return;
    }
    later(timeoutSeconds - warnBeforeSeconds, check);
  });
  later(timeoutSeconds - warnBeforeSeconds, check);
})();
