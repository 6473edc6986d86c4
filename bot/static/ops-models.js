// /ops/models: live progress of the training or evaluation job (polls the job's JSON every 2 s while it
// runs); reloads the page once the job has ended so that the registry and the evaluation show the result.
(function () {
  'use strict';
  // activation and rollback wait until Rasa has loaded the model (up to a minute): say so, no double clicks
  var swapStatus = document.getElementById('swap-status');
  Array.prototype.forEach.call(document.querySelectorAll('form.swap'), function (form) {
    form.addEventListener('submit', function () {
      var button = form.querySelector('button[type=submit]');
      window.setTimeout(function () { if (button) { button.disabled = true; } }, 0);
      if (swapStatus) {
        swapStatus.hidden = false;
        swapStatus.textContent = 'Rasa lädt das Modell. Das kann bis zu einer Minute dauern …';
      }
    });
  });

  var section = document.getElementById('job');
  if (!section) { return; }
  var url = section.getAttribute('data-job-url');
  var panel = document.getElementById('job-panel');
  var progress = document.getElementById('job-progress');
  var state = document.getElementById('job-state');
  var error = document.getElementById('job-error');
  var logBox = document.getElementById('job-log');
  var trainButton = document.getElementById('train-button');
  var cancelForm = document.getElementById('cancel-form');
  var labels = {running: 'läuft', succeeded: 'fertig', reused: 'unverändert', failed: 'fehlgeschlagen',
                cancelled: 'abgebrochen'};
  var wasRunning = section.getAttribute('data-running') === 'true';
  var lastState = '';

  function show(job) {
    panel.hidden = false;
    var percent = Math.round((job.progress || 0) * 100);
    progress.value = percent;
    progress.textContent = percent + ' %';
    var text = (job.kind === 'train' ? 'Training' : 'Bewertung') + ': ' + (labels[job.status] || job.status) +
      ' – ' + job.stage + (job.message ? '. ' + job.message : '');
    // only announce changes of the stage (not every poll)
    if (text !== lastState) {
      state.textContent = text;
      lastState = text;
    }
    error.hidden = !job.error;
    error.textContent = job.error || '';
    var atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 20;
    logBox.textContent = (job.log || []).join('\n');
    if (atBottom) { logBox.scrollTop = logBox.scrollHeight; }
    var running = job.status === 'running';
    if (trainButton) { trainButton.disabled = running; }
    if (cancelForm) { cancelForm.hidden = !running; }
  }

  function poll() {
    fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}, cache: 'no-store'})
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (body) {
        if (!body || !body.job) { return; }
        show(body.job);
        if (body.job.status === 'running') {
          wasRunning = true;
          window.setTimeout(poll, 2000);
        } else if (wasRunning) {
          // the job has just ended: show the new model and its evaluation
          var target = new URL(window.location.href);
          if (body.job.model_id) { target.searchParams.set('model', body.job.model_id); }
          target.searchParams.delete('info');
          window.location.assign(target.toString());
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  if (wasRunning) { poll(); }
}());
