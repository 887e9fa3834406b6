// fangkong 离线查验 — served by the binary itself; it uses no library and, once the page is loaded,
// no server.
//
// It checks a signed health code (`FK1:` + Base45(raw DEFLATE with a preset dictionary(
// COSE_Sign1(CWT)))) in the browser, the same way `fangkong_signed_code::verify_code` does: Base45
// (RFC 9285), inflate (RFC 1951, the dictionary pre-fills the window), CBOR (RFC 8949), the kid
// looked up in the trust list, Ed25519 over the Sig_structure (WebCrypto), then issuer, expiry and
// issue time. The trust list comes from GET /api/trust-list once and is kept in localStorage, so a
// reload without network still checks (and says how old the list is). The clock is the server's at
// page load, carried forward by the device's monotonic time, so a phone with a wrong clock still
// judges expiry right.
(function () {
  'use strict';

  var root = document.getElementById('offline');
  if (!root) return;

  var STORE_KEY = 'fangkong.fk1.trust-list';
  var PREFIX = 'FK1:';
  var PASS_PREFIX = 'FP1:';
  var MAX_INFLATED = 64 * 1024;
  var MAX_CLOCK_SKEW = 5 * 60;
  var ALG_EDDSA = -8;

  // ---------------------------------------------------------------------------------------------
  // Refusals: the same words as CodeRejection::words_zh.

  function Refusal(code, words) {
    this.code = code;
    this.words = words;
  }

  function refuse(code, words) {
    throw new Refusal(code, words);
  }

  var CORRUPT = '二维码内容损坏或不完整，请让对方刷新健康码后重新扫描';

  function beijing(unix) {
    var d = new Date((unix + 8 * 3600) * 1000);
    if (isNaN(d.getTime())) return 'Unix 时间 ' + unix;
    return d.toISOString().slice(0, 19).replace('T', ' ');
  }

  // ---------------------------------------------------------------------------------------------
  // Base45 (RFC 9285)

  var B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

  function base45Decode(text) {
    if (text.length % 3 === 1) throw new Error('base45 length');
    var out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0));
    var o = 0;
    function digit(ch) {
      var v = B45.indexOf(ch);
      if (v < 0) throw new Error('base45 character');
      return v;
    }
    for (var i = 0; i < text.length; i += 3) {
      if (i + 2 < text.length) {
        var n = digit(text[i]) + digit(text[i + 1]) * 45 + digit(text[i + 2]) * 2025;
        if (n > 0xffff) throw new Error('base45 group');
        out[o++] = n >> 8;
        out[o++] = n & 0xff;
      } else {
        var m = digit(text[i]) + digit(text[i + 1]) * 45;
        if (m > 0xff) throw new Error('base45 group');
        out[o++] = m;
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Raw DEFLATE (RFC 1951) with a preset dictionary: the dictionary is the start of the window.

  var LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
    115, 131, 163, 195, 227, 258];
  var LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  var DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
    1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  var DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12,
    12, 13, 13];
  var CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

  // A canonical Huffman code from code lengths: counts per length and symbols in code order.
  function huffman(lengths) {
    var count = new Array(16).fill(0);
    for (var i = 0; i < lengths.length; i++) count[lengths[i]]++;
    count[0] = 0;
    var left = 1;
    for (var len = 1; len < 16; len++) {
      left = left * 2 - count[len];
      if (left < 0) throw new Error('inflate: over-subscribed code');
    }
    var offs = new Array(16).fill(0);
    for (var l = 1; l < 15; l++) offs[l + 1] = offs[l] + count[l];
    var symbol = new Array(lengths.length);
    for (var s = 0; s < lengths.length; s++) {
      if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s;
    }
    return { count: count, symbol: symbol };
  }

  function inflateRaw(input, dict) {
    var pos = 0;
    var bitBuf = 0;
    var bitCnt = 0;
    var out = Array.from(dict);
    var limit = dict.length + MAX_INFLATED;

    function bits(need) {
      while (bitCnt < need) {
        if (pos >= input.length) throw new Error('inflate: truncated');
        bitBuf |= input[pos++] << bitCnt;
        bitCnt += 8;
      }
      var v = bitBuf & ((1 << need) - 1);
      bitBuf >>>= need;
      bitCnt -= need;
      return v;
    }

    function decode(h) {
      var code = 0;
      var first = 0;
      var index = 0;
      for (var len = 1; len < 16; len++) {
        code |= bits(1);
        var count = h.count[len];
        if (code - count < first) return h.symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
      }
      throw new Error('inflate: bad code');
    }

    function codes(lencode, distcode) {
      for (;;) {
        var sym = decode(lencode);
        if (sym < 256) {
          if (out.length >= limit) throw new Error('inflate: too large');
          out.push(sym);
        } else if (sym === 256) {
          return;
        } else {
          sym -= 257;
          if (sym >= 29) throw new Error('inflate: bad length');
          var len = LBASE[sym] + bits(LEXT[sym]);
          var dsym = decode(distcode);
          if (dsym >= 30) throw new Error('inflate: bad distance');
          var dist = DBASE[dsym] + bits(DEXT[dsym]);
          if (dist > out.length) throw new Error('inflate: distance too far');
          if (out.length + len > limit) throw new Error('inflate: too large');
          for (var k = 0; k < len; k++) out.push(out[out.length - dist]);
        }
      }
    }

    var fixedLen = null;
    var fixedDist = null;
    function fixed() {
      if (!fixedLen) {
        var l = [];
        for (var i = 0; i < 288; i++) l.push(i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8);
        fixedLen = huffman(l);
        var d = [];
        for (var j = 0; j < 30; j++) d.push(5);
        fixedDist = huffman(d);
      }
      codes(fixedLen, fixedDist);
    }

    function dynamic() {
      var nlen = bits(5) + 257;
      var ndist = bits(5) + 1;
      var ncode = bits(4) + 4;
      if (nlen > 286 || ndist > 30) throw new Error('inflate: bad counts');
      var lengths = new Array(19).fill(0);
      for (var i = 0; i < ncode; i++) lengths[CLEN_ORDER[i]] = bits(3);
      var lencode = huffman(lengths);
      var all = [];
      while (all.length < nlen + ndist) {
        var sym = decode(lencode);
        if (sym < 16) {
          all.push(sym);
        } else {
          var value = 0;
          var rep;
          if (sym === 16) {
            if (all.length === 0) throw new Error('inflate: repeat with no length');
            value = all[all.length - 1];
            rep = 3 + bits(2);
          } else if (sym === 17) {
            rep = 3 + bits(3);
          } else {
            rep = 11 + bits(7);
          }
          if (all.length + rep > nlen + ndist) throw new Error('inflate: too many lengths');
          while (rep--) all.push(value);
        }
      }
      if (all[256] === 0) throw new Error('inflate: no end-of-block code');
      codes(huffman(all.slice(0, nlen)), huffman(all.slice(nlen)));
    }

    function stored() {
      bitBuf = 0;
      bitCnt = 0;
      if (pos + 4 > input.length) throw new Error('inflate: truncated');
      var len = input[pos] | (input[pos + 1] << 8);
      var nlen = input[pos + 2] | (input[pos + 3] << 8);
      pos += 4;
      if (len !== (~nlen & 0xffff)) throw new Error('inflate: stored length');
      if (pos + len > input.length) throw new Error('inflate: truncated');
      if (out.length + len > limit) throw new Error('inflate: too large');
      for (var i = 0; i < len; i++) out.push(input[pos++]);
    }

    var last;
    do {
      last = bits(1);
      var type = bits(2);
      if (type === 0) stored();
      else if (type === 1) fixed();
      else if (type === 2) dynamic();
      else throw new Error('inflate: bad block type');
    } while (!last);
    // The whole input must be the stream (the last byte may hold padding bits only).
    if (pos !== input.length) throw new Error('inflate: trailing bytes');
    return Uint8Array.from(out.slice(dict.length));
  }

  // ---------------------------------------------------------------------------------------------
  // CBOR (RFC 8949): the items a COSE_Sign1 and a CWT use. Integers are Numbers (BigInt when they
  // do not fit exactly), maps are arrays of [key, value], tags are {tag, value}.

  var utf8 = new TextDecoder('utf-8', { fatal: true });

  function cborDecodeOne(bytes) {
    var pos = 0;
    var depth = 0;

    function need(n) {
      if (pos + n > bytes.length) throw new Error('cbor: truncated');
    }

    function argument(info) {
      if (info < 24) return info;
      if (info === 24) { need(1); return bytes[pos++]; }
      if (info === 25) { need(2); var a = (bytes[pos] << 8) | bytes[pos + 1]; pos += 2; return a; }
      if (info === 26) {
        need(4);
        var b = ((bytes[pos] << 24) >>> 0) + (bytes[pos + 1] << 16) + (bytes[pos + 2] << 8) + bytes[pos + 3];
        pos += 4;
        return b;
      }
      if (info === 27) {
        need(8);
        var big = 0n;
        for (var i = 0; i < 8; i++) big = (big << 8n) | BigInt(bytes[pos++]);
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      throw new Error('cbor: unsupported length');
    }

    function item() {
      need(1);
      if (++depth > 64) throw new Error('cbor: too deep');
      var first = bytes[pos++];
      var major = first >> 5;
      var info = first & 0x1f;
      var v;
      if (major === 7) {
        if (info === 20) v = false;
        else if (info === 21) v = true;
        else if (info === 22) v = null;
        else if (info === 23) v = undefined;
        else if (info === 25 || info === 26 || info === 27) {
          var size = info === 25 ? 2 : info === 26 ? 4 : 8;
          need(size);
          var view = new DataView(bytes.buffer, bytes.byteOffset + pos, size);
          v = { float: size === 2 ? half(view.getUint16(0)) : size === 4 ? view.getFloat32(0) : view.getFloat64(0) };
          pos += size;
        } else throw new Error('cbor: unsupported simple value');
        depth--;
        return v;
      }
      var n = argument(info);
      if (typeof n === 'bigint' && major !== 0 && major !== 1) throw new Error('cbor: too long');
      switch (major) {
        case 0:
          v = n;
          break;
        case 1:
          v = typeof n === 'bigint' ? -1n - n : -1 - n;
          if (typeof v === 'number' && !Number.isSafeInteger(v)) v = BigInt(-1) - BigInt(n);
          break;
        case 2:
          need(n);
          v = bytes.slice(pos, pos + n);
          pos += n;
          break;
        case 3:
          need(n);
          v = utf8.decode(bytes.subarray(pos, pos + n));
          pos += n;
          break;
        case 4:
          v = [];
          for (var i = 0; i < n; i++) v.push(item());
          break;
        case 5:
          v = [];
          for (var j = 0; j < n; j++) { var k = item(); v.push([k, item()]); }
          v.isMap = true;
          break;
        case 6:
          v = { tag: n, value: item() };
          break;
      }
      depth--;
      return v;
    }

    var value = item();
    if (pos !== bytes.length) throw new Error('cbor: trailing bytes');
    return value;
  }

  function half(h) {
    var exp = (h >> 10) & 0x1f;
    var mant = h & 0x3ff;
    var sign = h & 0x8000 ? -1 : 1;
    if (exp === 0) return sign * Math.pow(2, -14) * (mant / 1024);
    if (exp === 31) return mant ? NaN : sign * Infinity;
    return sign * Math.pow(2, exp - 15) * (1 + mant / 1024);
  }

  function isMap(v) {
    return Array.isArray(v) && v.isMap === true;
  }

  function isBytes(v) {
    return v instanceof Uint8Array;
  }

  function isInt(v) {
    return typeof v === 'number' && Number.isInteger(v);
  }

  function mapGet(map, key) {
    for (var i = 0; i < map.length; i++) {
      if (map[i][0] === key) return map[i][1];
    }
    return undefined;
  }

  // Sig_structure = ["Signature1", body_protected, external_aad = h'', payload], encoded.
  function bstrHeader(len) {
    if (len < 24) return [0x40 | len];
    if (len < 0x100) return [0x58, len];
    if (len < 0x10000) return [0x59, len >> 8, len & 0xff];
    return [0x5a, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff];
  }

  function sigStructure(protectedBytes, payload) {
    var parts = [0x84, 0x6a];
    var label = 'Signature1';
    for (var i = 0; i < label.length; i++) parts.push(label.charCodeAt(i));
    parts = parts.concat(bstrHeader(protectedBytes.length), Array.from(protectedBytes), [0x40],
      bstrHeader(payload.length), Array.from(payload));
    return Uint8Array.from(parts);
  }

  // ---------------------------------------------------------------------------------------------
  // Trust list

  var trusted = {}; // kid hex → {issuer, key: CryptoKey}
  var trustCount = 0;

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += ('0' + bytes[i].toString(16)).slice(-2);
    return s;
  }

  function fromBase64(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  // Keeps the keys that are EdDSA, 32 bytes, and whose kid is the first 8 bytes of SHA-256 of the key
  // (what TrustList::new checks on the server).
  async function loadKeys(list) {
    var keys = {};
    var count = 0;
    var entries = (list && list.keys) || [];
    for (var i = 0; i < entries.length; i++) {
      var k = entries[i];
      try {
        if (k.alg !== 'EdDSA' || typeof k.kid !== 'string' || !/^[0-9a-f]{16}$/.test(k.kid)) continue;
        var pub = fromBase64(k.public_key);
        if (pub.length !== 32) continue;
        var digest = new Uint8Array(await crypto.subtle.digest('SHA-256', pub));
        if (hex(digest.slice(0, 8)) !== k.kid) continue;
        var key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
        keys[k.kid] = { issuer: String(k.issuer), key: key };
        count++;
      } catch (e) {
        // A key this browser cannot use is left out; its codes are refused as unknown.
      }
    }
    trusted = keys;
    trustCount = count;
  }

  function ageWords(ms) {
    var minutes = Math.max(0, Math.round(ms / 60000));
    if (minutes < 1) return '不到 1 分钟';
    if (minutes < 60) return minutes + ' 分钟';
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + ' 小时';
    return Math.floor(hours / 24) + ' 天';
  }

  var trustStatus = document.getElementById('trust-status');

  function setTrustStatus(kind, text) {
    trustStatus.className = 'flash ' + kind;
    trustStatus.textContent = text;
  }

  var ready = (async function loadTrust() {
    if (!window.crypto || !crypto.subtle) {
      setTrustStatus('error', '本浏览器不能验签（需要 HTTPS 访问本系统，或使用较新的浏览器）');
      return;
    }
    var fresh = null;
    try {
      var response = await fetch('/api/trust-list', { cache: 'no-store', credentials: 'same-origin' });
      if (response.ok) fresh = await response.json();
    } catch (e) {
      fresh = null;
    }
    if (fresh) {
      try {
        localStorage.setItem(STORE_KEY, JSON.stringify({ at: Date.now(), list: fresh }));
      } catch (e) { /* private mode: keep it in memory only */ }
      await loadKeys(fresh);
      setTrustStatus('ok', '信任列表已更新（' + trustCount + ' 个签发密钥），可离线查验');
      return;
    }
    var stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
    } catch (e) {
      stored = null;
    }
    if (stored && stored.list) {
      await loadKeys(stored.list);
      setTrustStatus('warn', '无法连接服务器，使用本机保存的信任列表（' + trustCount + ' 个签发密钥，'
        + ageWords(Date.now() - stored.at) + '前更新）');
    } else {
      setTrustStatus('error', '无法取得信任列表：请联网打开本页一次后再离线使用');
    }
  })();

  // ---------------------------------------------------------------------------------------------
  // The clock: the server's at page load, carried forward by the device's monotonic clock.

  var serverNow = Number(root.dataset.now);
  var loadedAt = performance.now();

  function nowUnix() {
    if (!isFinite(serverNow) || serverNow <= 0) return Math.floor(Date.now() / 1000);
    return Math.floor(serverNow + (performance.now() - loadedAt) / 1000);
  }

  var dictionary = fromHex(root.dataset.dictionary || '');

  // ---------------------------------------------------------------------------------------------
  // verify_code, step by step

  async function verifyCode(text, now) {
    // A supply pass (FP1:) shares the envelope, the dictionary and the keys; only its claims differ.
    var isPass = text.indexOf(PASS_PREFIX) === 0;
    if (!isPass && text.indexOf(PREFIX) !== 0) {
      refuse('no_prefix', '不是健康码二维码，请让对方打开健康码页面重新出示（通行证二维码以 FP1: 开头）');
    }
    var compressed;
    var body = text.slice(isPass ? PASS_PREFIX.length : PREFIX.length);
    try { compressed = base45Decode(body); } catch (e) { refuse('base45', CORRUPT); }
    var cose;
    try { cose = inflateRaw(compressed, dictionary); } catch (e) { refuse('compression', CORRUPT); }
    var value;
    try { value = cborDecodeOne(cose); } catch (e) { refuse('cbor', CORRUPT); }
    var notCose = '不是有效的健康码：二维码中没有签名数据，请让对方出示本系统的健康码';
    if (value && typeof value === 'object' && value.tag === 61) value = value.value;
    if (!(value && typeof value === 'object' && value.tag === 18)) refuse('not_cose', notCose);
    var items = value.value;
    if (!Array.isArray(items) || isMap(items) || items.length !== 4) refuse('not_cose', notCose);
    var protectedBytes = items[0];
    var payload = items[2];
    var signature = items[3];
    if (!isBytes(protectedBytes) || !isMap(items[1]) || !isBytes(payload) || !isBytes(signature)) {
      refuse('not_cose', notCose);
    }
    var header = [];
    if (protectedBytes.length) {
      try { header = cborDecodeOne(protectedBytes); } catch (e) { refuse('not_cose', notCose); }
      if (!isMap(header)) refuse('not_cose', notCose);
    }
    var alg = mapGet(header, 1);
    var kid = mapGet(header, 4);
    if (alg !== undefined && !isInt(alg)) refuse('not_cose', notCose);
    if (kid !== undefined && !isBytes(kid)) refuse('not_cose', notCose);
    var kidHex = kid ? hex(kid) : '';
    var key = kid && kid.length === 8 ? trusted[kidHex] : undefined;
    if (!key) {
      refuse('unknown_key', '签发机构密钥未知（kid ' + kidHex
        + '），不在信任列表中：可能是伪造的' + (isPass ? '通行证' : '健康码') + '，或本机信任列表未更新');
    }
    var badSignature = '签名不符：二维码被篡改或伪造，不能放行，请核验身份证件并上报';
    if (alg !== ALG_EDDSA || signature.length !== 64) refuse('bad_signature', badSignature);
    var good = false;
    try {
      good = await crypto.subtle.verify({ name: 'Ed25519' }, key.key, signature,
        sigStructure(protectedBytes, payload));
    } catch (e) {
      good = false;
    }
    if (!good) refuse('bad_signature', badSignature);

    if (isPass) {
      var pass = parsePassClaims(payload);
      if (pass.issuer !== key.issuer) {
        refuse('wrong_issuer', '通行证签名不符：二维码被篡改或伪造，不能放行，请核实车辆和司机证件并上报');
      }
      if (now < pass.validFrom) {
        refuse('not_yet_valid', '通行证尚未生效（自 ' + beijing(pass.validFrom) + ' 起有效），不能放行');
      }
      if (now > pass.validUntil) {
        refuse('expired', '通行证已过期（有效期至 ' + beijing(pass.validUntil) + '），不能放行，请到县指挥部重新申领');
      }
      return pass;
    }
    var claims = parseClaims(payload);
    if (claims.issuer !== key.issuer) {
      refuse('wrong_issuer', '签发机构不符：二维码写明由 ' + claims.issuer + ' 签发，但所用密钥属于 '
        + key.issuer + '，可能是伪造的健康码');
    }
    if (claims.expiresAt < now) {
      refuse('expired', '二维码已过期（生成于 ' + beijing(claims.issuedAt) + '，有效期至 '
        + beijing(claims.expiresAt) + '），请让对方刷新健康码');
    }
    if (claims.issuedAt > now + MAX_CLOCK_SKEW) {
      refuse('not_yet_valid', '二维码生成时间（' + beijing(claims.issuedAt) + '）晚于本机时间（'
        + beijing(now) + '）：请检查本机时间是否准确，或让对方刷新健康码');
    }
    return claims;
  }

  // The supply pass's claims (signed_code::pass): [kind, plate, [county…], valid_from, goods, people].
  function parsePassClaims(payload) {
    function bad(what) {
      refuse('bad_claims', '通行证内容不完整（' + what + '），不能放行');
    }
    var map;
    try { map = cborDecodeOne(payload); } catch (e) { bad('载荷不是 CWT'); }
    if (!isMap(map)) bad('载荷不是 CWT');
    var issuer = mapGet(map, 1);
    var number = mapGet(map, 2);
    var validUntil = mapGet(map, 4);
    var priv = mapGet(map, -65538);
    if (typeof issuer !== 'string' || typeof number !== 'string') bad('缺少通行证编号');
    if (!isInt(validUntil)) bad('缺少有效期');
    if (!Array.isArray(priv) || isMap(priv) || priv.length !== 6) bad('车辆和线路字段格式错误');
    var route = priv[2];
    if (!Array.isArray(route) || isMap(route) || !route.length) bad('线路无效');
    if (!isInt(priv[3]) || priv[3] > validUntil) bad('有效期无效');
    return {
      pass: true,
      issuer: issuer,
      number: number,
      kind: priv[0],
      plate: priv[1],
      route: route,
      validFrom: priv[3],
      validUntil: validUntil,
      people: priv[5]
    };
  }

  function parseClaims(payload) {
    function bad(what) {
      refuse('bad_claims', '健康码内容不完整（' + what + '），请让对方刷新健康码');
    }
    var map;
    try { map = cborDecodeOne(payload); } catch (e) { bad('载荷不是 CWT'); }
    if (!isMap(map)) bad('载荷不是 CWT');
    var issuer = mapGet(map, 1);
    if (typeof issuer !== 'string') bad('缺少签发机构');
    var subject = mapGet(map, 2);
    if (typeof subject !== 'string') bad('缺少持码人标识');
    var issuedAt = mapGet(map, 6);
    if (!isInt(issuedAt)) bad('缺少生成时间');
    var expiresAt = mapGet(map, 4);
    if (!isInt(expiresAt)) bad('缺少有效期');
    if (expiresAt < issuedAt) bad('有效期早于生成时间');
    var priv = mapGet(map, -65537);
    if (!Array.isArray(priv) || isMap(priv)) bad('缺少码色');
    if (priv.length !== 3) bad('码色字段格式错误');
    var colour = priv[0];
    if (colour !== 0 && colour !== 1 && colour !== 2) bad('码色无效');
    if (typeof priv[1] !== 'boolean') bad('弹窗标记无效');
    var lastNegative = priv[2];
    if (lastNegative !== null && !isInt(lastNegative)) bad('核酸采样时间无效');
    return {
      issuer: issuer,
      subject: subject,
      issuedAt: issuedAt,
      expiresAt: expiresAt,
      colour: colour,
      popup: priv[1],
      lastNegative: lastNegative
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The page

  var form = document.getElementById('verify-form');
  var scan = document.getElementById('scan');
  var panel = document.getElementById('decision');
  var label = document.getElementById('decision-label');
  var who = document.getElementById('decision-who');
  var reasons = document.getElementById('decision-reasons');
  var COLOURS = [['绿码', 'ok'], ['黄码', 'warn'], ['红码', 'bad']];

  function show(kind, text, line, items) {
    panel.className = 'decision ' + kind + ' flash-now';
    panel.dataset.result = kind;
    label.textContent = text;
    who.textContent = line;
    reasons.innerHTML = '';
    items.forEach(function (t) {
      var li = document.createElement('li');
      li.textContent = t;
      reasons.appendChild(li);
    });
  }

  async function check(text) {
    await ready;
    var now = nowUnix();
    try {
      var c = await verifyCode(text, now);
      if (c.pass) {
        show('ok', c.kind === 'vehicle' ? '通行证签名有效' : '人员通行证签名有效',
          '通行证 ' + c.number + (c.plate ? ' · 车牌 ' + c.plate : ''), [
            '线路（县级区划代码）：' + c.route.join(' → ') + '，请核对本卡口所在县在线路上',
            '有效期 ' + beijing(c.validFrom) + ' 至 ' + beijing(c.validUntil),
            '随车 ' + c.people + ' 人：请逐人查验健康码和48小时核酸，测体温',
            '请核对车牌与通行证一致；是否撤销需联网后在车辆查验页核验'
          ]);
        return;
      }
      var colour = COLOURS[c.colour];
      show(c.popup && c.colour === 0 ? 'warn' : colour[1], colour[0] + (c.popup ? ' 弹窗' : ''),
        '签发机构 ' + c.issuer + ' · 签名有效', [
          '有效期至 ' + beijing(c.expiresAt) + '（生成于 ' + beijing(c.issuedAt) + '）',
          '最近核酸阴性采样：' + (c.lastNegative === null ? '无记录' : beijing(c.lastNegative)),
          c.popup ? '弹窗：请拦下持码人，核验身份证件并询问行程' : '无弹窗'
        ]);
    } catch (e) {
      if (e instanceof Refusal) {
        show('bad', '码无效', '拒绝放行', [e.words]);
      } else {
        show('bad', '码无效', '查验出错', ['本页查验出错：' + String(e && e.message || e)]);
      }
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = scan.value.trim();
    scan.value = '';
    scan.focus();
    if (text) check(text);
  });
})();
