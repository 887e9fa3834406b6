// fangkong 采样台扫码绑定 — served by the binary itself; it calls nothing but this server.
//
// Every scan goes into a queue in localStorage first and is then sent in batches to
// POST /api/sampling/scans. A scan keeps its client-made scan_id, so sending it twice (after a
// dropped answer or a reload) is answered "already_recorded" and binds nobody twice. The server
// decides every binding; the checks here only give an instant cue.
(function () {
  'use strict';

  // Any page: Enter in a field marked data-enter-next moves on instead of submitting the form
  // (a scanner ends every code with Enter; the box form wants the tubes after the box code).
  document.querySelectorAll('[data-enter-next]').forEach(function (field) {
    field.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') {
        event.preventDefault();
        var next = document.querySelector(field.getAttribute('data-enter-next'));
        if (next) next.focus();
      }
    });
  });

  var root = document.getElementById('binding');
  if (!root) return;

  var roundId = Number(root.dataset.round);
  var siteId = Number(root.dataset.site);
  var tableNo = Number(root.dataset.table);
  var poolSize = Number(root.dataset.pool) || null; // people per new screening tube here
  var csrf = root.dataset.csrf;
  var BATCH = 500;
  var RETRY_MS = 3000;
  var SHOWN = 20;

  var scanInput = document.getElementById('scan');
  var banner = document.getElementById('banner');
  var tubeEl = document.getElementById('tube');
  var countEl = document.getElementById('tube-count');
  var queueEl = document.getElementById('queue-status');
  var list = document.getElementById('results');
  var nameEl = document.getElementById('person-name');
  var typeEl = document.getElementById('id-type');
  // 补录: a sampler typing in a paper backlog gives the time the swabs were taken; each scan
  // keeps the time set when it was made (empty = now).
  var occurredEl = document.getElementById('occurred-at');
  var closeButton = document.getElementById('close-tube');
  var hint = document.getElementById('hint');

  function storageKey(name) {
    return 'fk-sampling-' + name + ':' + roundId + ':' + siteId + ':' + tableNo;
  }
  function load(name, fallback) {
    try {
      var text = localStorage.getItem(storageKey(name));
      return text ? JSON.parse(text) : fallback;
    } catch (e) {
      return fallback;
    }
  }
  var storageWarned = false;
  function save(name, value) {
    try {
      localStorage.setItem(storageKey(name), JSON.stringify(value));
    } catch (e) {
      if (!storageWarned) {
        storageWarned = true;
        show('bad', '本机存储已满：未上传的扫码只保存在本页，请勿刷新或关闭页面，尽快恢复网络');
      }
    }
  }

  var queue = load('queue', []); // scans the server has not answered yet, oldest first
  var shown = load('log', []); // the last SHOWN lines, newest first
  var tube = load('tube', null); // {code, members, capacity} of the tube in hand
  var counter = 0;
  var sending = false;
  var problem = ''; // why the last upload failed ('' when it did not)
  var refusal = ''; // the last refusal said aloud (a retry of the same refusal stays quiet)

  // --- checks for the instant cue (the server checks again and decides) -----------------------

  function tubeCheckOk(code) {
    if (!/^\d{12}$/.test(code)) return false;
    var sum = 0;
    for (var i = 0; i < 11; i++) {
      var digit = code.charCodeAt(i) - 48;
      if ((10 - i) % 2 === 0) {
        digit *= 2;
        if (digit > 9) digit -= 9;
      }
      sum += digit;
    }
    return (10 - (sum % 10)) % 10 === code.charCodeAt(11) - 48;
  }

  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECKS = '10X98765432';
  function idCheckOk(id) {
    if (!/^\d{17}[\dX]$/.test(id)) return false;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * WEIGHTS[i];
    return CHECKS.charAt(sum % 11) === id.charAt(17);
  }

  function masked(id) {
    if (id.length >= 15) return id.slice(0, 6) + '********' + id.slice(-4);
    if (id.length > 4) return id.slice(0, 2) + '***' + id.slice(-2);
    return id;
  }

  // --- sound and colour ----------------------------------------------------------------------

  var audio = null;
  function tone(freq, at, seconds) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = 'square';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.12, audio.currentTime + at);
    gain.gain.setValueAtTime(0, audio.currentTime + at + seconds);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(audio.currentTime + at);
    osc.stop(audio.currentTime + at + seconds + 0.02);
  }
  function beep(ok) {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = audio || new Context();
      if (audio.state === 'suspended') audio.resume();
      if (ok) {
        tone(1760, 0, 0.08);
      } else {
        tone(330, 0, 0.14);
        tone(330, 0.2, 0.14);
      }
    } catch (e) {
      /* no sound on this machine: the colours still tell */
    }
  }

  function show(kind, text) {
    banner.className = 'banner ' + kind;
    banner.textContent = text;
    // Restart the flash animation even when the colour stays the same.
    void banner.offsetWidth;
    banner.classList.add('flash-now');
  }

  function renderTube() {
    if (tube) {
      tubeEl.textContent = tube.code;
      countEl.textContent = tube.members + (tube.capacity ? ' / ' + tube.capacity : '');
    } else {
      tubeEl.textContent = '未扫描';
      countEl.textContent = '0';
    }
    save('tube', tube);
  }

  function clock(seconds) {
    var d = new Date(seconds * 1000);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function renderLog() {
    list.textContent = '';
    shown.forEach(function (line) {
      var item = document.createElement('li');
      item.className = line.state;
      item.dataset.scan = line.id;
      var time = document.createElement('span');
      time.className = 'at';
      time.textContent = clock(line.at);
      var what = document.createElement('span');
      what.className = 'what';
      what.textContent = line.what;
      var message = document.createElement('span');
      message.className = 'msg';
      message.textContent = line.message;
      item.appendChild(time);
      item.appendChild(what);
      item.appendChild(message);
      list.appendChild(item);
    });
    save('log', shown);
  }

  function logLine(id, at, what, state, message) {
    shown.unshift({ id: id, at: at, what: what, state: state, message: message });
    if (shown.length > SHOWN) shown.length = SHOWN;
    renderLog();
  }

  function settle(id, state, message) {
    for (var i = 0; i < shown.length; i++) {
      if (shown[i].id === id) {
        shown[i].state = state;
        shown[i].message = message;
      }
    }
  }

  function renderQueue() {
    var n = queue.length;
    if (n === 0) {
      queueEl.className = 'queue ok';
      queueEl.textContent = '已全部上传';
    } else if (problem) {
      queueEl.className = 'queue bad';
      queueEl.textContent = problem + '：' + n + ' 条待上传';
    } else {
      queueEl.className = 'queue busy';
      queueEl.textContent = '上传中：' + n + ' 条待上传';
    }
  }

  // --- the queue -----------------------------------------------------------------------------

  function newScanId() {
    counter += 1;
    return siteId + '-' + tableNo + '-' + Date.now().toString(36) + '-' + counter;
  }

  function purpose() {
    var checked = document.querySelector('input[name=purpose]:checked');
    return checked ? checked.value : 'screen';
  }

  function enqueue(scan, what, cue) {
    queue.push(scan);
    save('queue', queue);
    logLine(scan.scan_id, scan.scanned_at, what, cue ? 'pending warn' : 'pending', cue || '待上传');
    renderQueue();
    flush();
  }

  // Rejections that mean the tube in hand cannot take anybody: the sampler takes a new one.
  var TUBE_PROBLEMS = [
    'malformed_barcode', 'unknown_tube', 'tube_of_other_round', 'tube_at_other_table',
    'tube_full', 'tube_closed', 'tube_purpose_mismatch'
  ];

  function apply(batch, results) {
    var byId = {};
    batch.forEach(function (scan) { byId[scan.scan_id] = scan; });
    var bad = 0;
    var last = null;
    results.forEach(function (result) {
      var scan = byId[result.scan_id];
      settle(result.scan_id, result.ok ? 'ok' : 'bad', result.message);
      if (!result.ok) bad += 1;
      last = result;
      if (!scan || !tube || scan.tube !== tube.code) return;
      if (result.outcome === 'bound') {
        tube.members = result.tube_members;
        tube.capacity = result.capacity;
        if (result.tube_closed) tube = null;
      } else if (!result.ok) {
        if (TUBE_PROBLEMS.indexOf(result.code) >= 0) {
          tube = null;
        } else if (scan.action === 'bind') {
          tube.members = Math.max(0, tube.members - 1);
        }
      }
    });
    renderLog();
    renderTube();
    if (!last) return;
    if (last.code === 'name_missing') {
      // Someone not in the register: open the name field so the sampler can type it and rescan.
      document.querySelector('details.extra').open = true;
    }
    if (results.length === 1) {
      var text = last.message;
      if (last.ok && !tube) text += '。请扫描新试管';
      show(last.ok ? 'ok' : 'bad', text);
    } else if (bad > 0) {
      show('bad', '已上传 ' + results.length + ' 条，其中 ' + bad + ' 条未绑定，原因见下方红色记录');
    } else {
      show('ok', '已上传 ' + results.length + ' 条，全部成功');
    }
    beep(bad === 0);
  }

  function refuse(message) {
    if (message !== refusal) {
      refusal = message;
      show('bad', message);
      beep(false);
    }
  }

  function flush() {
    if (sending || queue.length === 0) return;
    sending = true;
    var batch = queue.slice(0, BATCH);
    var body = JSON.stringify({ round_id: roundId, site_id: siteId, table_no: tableNo, scans: batch });
    fetch('/api/sampling/scans', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        return { status: response.status, ok: response.ok, json: json };
      });
    }).then(function (answer) {
      if (answer.ok && Array.isArray(answer.json)) {
        var sent = {};
        batch.forEach(function (scan) { sent[scan.scan_id] = true; });
        queue = queue.filter(function (scan) { return !sent[scan.scan_id]; });
        save('queue', queue);
        problem = '';
        refusal = '';
        apply(batch, answer.json);
      } else if (answer.status === 401) {
        problem = '登录已过期';
        refuse('登录已过期：请在新窗口重新登录后刷新本页（扫码已保存在本机，不会丢失）');
      } else if (answer.status >= 500) {
        problem = '离线';
      } else {
        // The whole batch was refused (round closed, wrong table, page expired…): keep the scans,
        // say why; they go as soon as the cause is fixed (usually: refresh the page).
        var message = answer.json && answer.json.message ? answer.json.message : '上传被拒绝（' + answer.status + '）';
        problem = '未能上传';
        refuse(message + '；扫码已保存在本机，处理后刷新页面即自动上传');
      }
    }).catch(function () {
      problem = '离线';
    }).then(function () {
      sending = false;
      renderQueue();
      if (!problem && queue.length > 0) flush();
    });
  }

  setInterval(function () {
    if (queue.length > 0) flush();
  }, RETRY_MS);
  window.addEventListener('online', flush);

  // --- scanning ------------------------------------------------------------------------------

  function now() {
    return Math.floor(Date.now() / 1000);
  }

  function occurredAt() {
    return occurredEl ? occurredEl.value : '';
  }

  function closeTube() {
    if (!tube) {
      show('bad', '没有正在使用的试管，请先扫描试管条码');
      beep(false);
      return;
    }
    var code = tube.code;
    enqueue({
      scan_id: newScanId(), tube: code, action: 'close', purpose: purpose(),
      id_type: '', id_number: '', name: '', scanned_at: now(), occurred_at: occurredAt()
    }, '封管 ' + code, '');
    tube = null;
    renderTube();
    show('idle', '已封管 ' + code + '，请扫描新试管');
  }

  function takeTube(code) {
    if (tube && tube.code === code) {
      closeTube();
      return;
    }
    if (!tubeCheckOk(code)) {
      show('bad', '试管条码“' + code + '”校验不通过，可能扫错或条码污损；请重新扫描，不要手输');
      beep(false);
      return;
    }
    var previous = tube;
    tube = { code: code, members: 0, capacity: purpose() === 'recheck' ? 1 : poolSize };
    renderTube();
    show('idle', '当前试管 ' + code + '：请扫描证件' + (previous && previous.members > 0 ? '（上一支 ' + previous.code + ' 尚未封管）' : ''));
  }

  function bindPerson(raw) {
    if (!tube) {
      show('bad', '请先扫描试管条码，再扫证件');
      beep(false);
      return;
    }
    var idType = typeEl.value || 'mainland_id';
    var cue = '';
    // A personal sampling code (FKS1-…) stands for the person; the server checks its tag.
    if (idType === 'mainland_id' && !/^FKS1-/.test(raw) && !idCheckOk(raw)) {
      cue = '证件号码似乎有误（位数或校验位），等待系统确认…';
      show('warn', cue);
    }
    enqueue({
      scan_id: newScanId(), tube: tube.code, action: 'bind', purpose: purpose(),
      id_type: idType, id_number: raw, name: nameEl.value.trim(), scanned_at: now(),
      occurred_at: occurredAt()
    }, masked(raw) + ' → 管…' + tube.code.slice(-4), cue);
    tube.members += 1;
    renderTube();
    nameEl.value = '';
    typeEl.value = 'mainland_id';
  }

  function onScan() {
    var raw = scanInput.value.trim().toUpperCase().replace(/\s+/g, '');
    scanInput.value = '';
    if (!raw) return;
    if (/^\d{12}$/.test(raw)) {
      takeTube(raw);
    } else {
      bindPerson(raw);
    }
    scanInput.focus();
  }

  scanInput.addEventListener('keydown', function (event) {
    if (event.key === 'Enter') {
      event.preventDefault();
      onScan();
    }
  });
  nameEl.addEventListener('keydown', function (event) {
    if (event.key === 'Enter') {
      event.preventDefault();
      scanInput.focus();
    }
  });
  closeButton.addEventListener('click', function () {
    closeTube();
    scanInput.focus();
  });
  document.querySelectorAll('input[name=purpose]').forEach(function (radio) {
    radio.addEventListener('change', function () {
      hint.textContent = radio.value === 'recheck'
        ? '单管复采：每人一支新试管，扫试管、扫证件后封管'
        : '先扫试管，再逐个扫证件；再扫一次同一试管即封管。';
      scanInput.focus();
    });
  });
  document.querySelectorAll('button.resume').forEach(function (button) {
    button.addEventListener('click', function () {
      tube = {
        code: button.dataset.tube,
        members: Number(button.dataset.members),
        capacity: Number(button.dataset.capacity)
      };
      renderTube();
      show('idle', '继续使用试管 ' + tube.code + '：请扫描证件');
      scanInput.focus();
    });
  });

  // The scan box keeps the focus: whatever else was clicked, the next scan lands in it. Only the
  // name field and the ID type (typed on purpose) may hold the focus.
  scanInput.addEventListener('blur', function () {
    setTimeout(function () {
      var active = document.activeElement;
      if (active === nameEl || active === typeEl || active === occurredEl || (active && active.tagName === 'SUMMARY')) return;
      scanInput.focus();
    }, 0);
  });

  renderTube();
  renderLog();
  renderQueue();
  if (tube) show('idle', '当前试管 ' + tube.code + '：请扫描证件');
  scanInput.focus();
  flush();
})();
