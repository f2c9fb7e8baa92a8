// Live Site Provisioning: while a workflow runs, poll the customer's provisioning JSON and
// update each cell in place (the step, its reason, and the 'Check name servers now' button).
(function () {
  "use strict";
  var section = document.querySelector("[data-provisioning-url]");
  if (!section) { return; }
  var url = section.getAttribute("data-provisioning-url");
  var INTERVAL_MS = 2000;
  var MAX_POLLS = 900; // 30 minutes; reload the page to follow longer
  var polls = 0;

  function update(rows) {
    var running = false;
    rows.forEach(function (row) {
      if (!row.final) { running = true; }
      document.querySelectorAll('[data-site-step="' + row.website_id + '"]').forEach(function (cell) {
        cell.querySelector(".step").textContent = row.step;
        cell.querySelector(".reason").textContent = row.reason;
        var form = cell.querySelector(".check-now");
        if (form) { form.hidden = !row.waiting_for_name_servers; }
      });
    });
    return running;
  }

  function poll() {
    polls += 1;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (rows) {
        if (update(rows) && polls < MAX_POLLS) { setTimeout(poll, INTERVAL_MS); }
      })
      .catch(function () { if (polls < MAX_POLLS) { setTimeout(poll, INTERVAL_MS * 3); } });
  }

  var anyRunning = Array.prototype.some.call(document.querySelectorAll("[data-site-step] .step"), function (el) {
    return ["Completed", "Failed", "Cancelled"].indexOf(el.textContent.trim()) < 0;
  });
  if (anyRunning) { setTimeout(poll, INTERVAL_MS); }
})();
