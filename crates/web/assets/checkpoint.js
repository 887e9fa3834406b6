// fangkong 卡口查验 — served by the binary itself; it calls nothing but this server.
//
// The checking page is a plain form that works without this script. With it, Enter in the scanner
// field sends the check as JSON to POST /api/checkpoints/{id}/verify with a fresh passage_key, shows
// the decision in the big panel, clears the field and keeps the focus for the next person. A retry
// (an overloaded server answers 503 with Retry-After, or the network drops) reuses the same key, so
// a check is never logged twice.
(function () {
  'use strict';

  var root = document.getElementById('checkpoint');
  var form = document.getElementById('check-form');
  if (!root || !form) return;

  var checkpointId = root.dataset.id;
  var csrf = root.dataset.csrf;
  var scan = document.getElementById('scan');
  var idNumber = document.getElementById('id-number');
  var temperature = document.getElementById('temperature');
  var plate = document.getElementById('plate');
  var fromRegion = document.getElementById('from-region');
  var panel = document.getElementById('decision');
  var MAX_TRIES = 5;
  var busy = false;

  function freshKey() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var hex = '';
    for (var i = 0; i < bytes.length; i++) {
      hex += ('0' + bytes[i].toString(16)).slice(-2);
    }
    return hex;
  }

  var CLASSES = { pass: 'ok', test_on_spot: 'warn', fever_clinic: 'fever' };

  function show(kind, label, who, reasons) {
    panel.className = 'decision ' + kind + ' flash-now';
    panel.innerHTML = '';
    var head = document.createElement('div');
    head.className = 'decision-label';
    head.id = 'decision-label';
    head.textContent = label;
    panel.appendChild(head);
    var line = document.createElement('div');
    line.className = 'decision-who';
    line.textContent = who || '';
    panel.appendChild(line);
    var list = document.createElement('ul');
    list.className = 'decision-reasons';
    list.id = 'decision-reasons';
    (reasons || []).forEach(function (r) {
      var li = document.createElement('li');
      li.textContent = r;
      list.appendChild(li);
    });
    panel.appendChild(list);
  }

  function showOutcome(o) {
    var label = o.decision === 'rejected' ? '码无效' : o.decision_label;
    var who = [o.colour_label, o.popup ? '弹窗' : '', o.name_masked, o.id_number_masked,
      o.badge_label, o.repeated ? '（重复提交）' : ''].filter(Boolean).join(' ');
    show(CLASSES[o.decision] || 'bad', label, who, o.reasons);
  }

  function addRow(o) {
    var table = document.getElementById('passages');
    if (!table) return;
    var row = table.insertRow(1);
    var at = new Date(o.at * 1000);
    var cells = [
      ('0' + at.getHours()).slice(-2) + ':' + ('0' + at.getMinutes()).slice(-2),
      o.method, o.id_number_masked || '—', o.colour_label || '—', temperature.value, plate.value,
      o.decision === 'rejected' ? '码无效' : o.decision_label, (o.reasons || []).join('；')
    ];
    cells.forEach(function (text) {
      row.insertCell(-1).textContent = text;
    });
  }

  function send(body, tries) {
    return fetch('/api/checkpoints/' + checkpointId + '/verify', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 503 && tries < MAX_TRIES) {
        var wait = (Number(response.headers.get('Retry-After')) || 1) * 1000;
        show('warn', '系统繁忙，正在重试…', '', ['查验请求过多，请稍候']);
        return new Promise(function (resolve) { setTimeout(resolve, wait); })
          .then(function () { return send(body, tries + 1); });
      }
      return response.json().then(function (json) {
        return { ok: response.ok, status: response.status, json: json };
      });
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (busy) return;
    var code = scan.value.trim();
    if (!code) {
      scan.focus();
      return;
    }
    busy = true;
    var body = {
      passage_key: freshKey(),
      code: code,
      id_number: idNumber.value.trim(),
      temperature: temperature.value.trim(),
      plate: plate.value.trim(),
      from_region: fromRegion.value.trim()
    };
    show('idle', '查验中…', '', []);
    send(body, 1).then(function (answer) {
      if (answer.ok) {
        showOutcome(answer.json);
        addRow(answer.json);
        scan.value = '';
        idNumber.value = '';
        temperature.value = '';
      } else {
        show('bad', '未查验', '', [answer.json.message || ('错误 ' + answer.status)]);
        if (answer.status === 401) window.location.href = '/login?reason=expired';
      }
    }).catch(function () {
      show('bad', '网络中断', '', ['未能连接服务器，请检查网络后再按回车重试']);
    }).then(function () {
      busy = false;
      scan.focus();
      scan.select();
    });
  });

  scan.focus();
})();
