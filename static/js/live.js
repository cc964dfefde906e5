// Live order updates: poll the versions of the orders on the page and refresh what changed.
// A page marks each order with data-live-order="<id>"; an element that also has
// data-live-fragment="<url>" is replaced by that URL's HTML when its order changes, and
// otherwise its [data-live-status] element gets the new status.
(function () {
  "use strict";
  var INTERVAL_MS = 1500;
  var root = document.querySelector("[data-live-endpoint]");
  if (!root) { return; }
  var endpoint = root.getAttribute("data-live-endpoint");
  var versions = {};
  var timer = null;
  var inFlight = false;

  function watched() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live-order]"));
  }

  function refreshFragment(element) {
    return fetch(element.getAttribute("data-live-fragment"), {
      credentials: "same-origin", headers: {"X-Requested-With": "fetch"}
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    }).then(function (html) {
      element.innerHTML = html;
    });
  }

  function apply(element, state) {
    var id = element.getAttribute("data-live-order");
    var known = versions[id] || element.getAttribute("data-live-version");
    if (known === state.version) { return Promise.resolve(); }
    var update;
    if (element.hasAttribute("data-live-fragment")) {
      update = refreshFragment(element);
    } else {
      var status = element.querySelector("[data-live-status]");
      if (status) {
        status.textContent = state.status_label;
        status.className = "status status-" + state.status;
      }
      update = Promise.resolve();
    }
    return update.then(function () { versions[id] = state.version; });
  }

  function poll() {
    window.clearTimeout(timer);
    var elements = watched();
    if (inFlight) { return; }
    if (document.hidden || !elements.length) { return schedule(); }
    inFlight = true;
    var query = elements.map(function (element) {
      return "id=" + encodeURIComponent(element.getAttribute("data-live-order"));
    }).join("&");
    fetch(endpoint + "?" + query, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (answer) {
        return Promise.all(elements.map(function (element) {
          var state = answer.orders[element.getAttribute("data-live-order")];
          return state ? apply(element, state) : null;
        }));
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () { inFlight = false; schedule(); });
  }

  // One request at a time: the next poll is scheduled when the previous one has finished.
  function schedule() { timer = window.setTimeout(poll, INTERVAL_MS); }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { poll(); }
  });
  schedule();
}());
