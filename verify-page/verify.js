// Legion's offline verifier for entry authorisations (DESIGN §6), for border posts.
//
// Everything happens in this page: the trust list and revocation list are loaded from
// files (and kept in this browser's storage), the QR code is read from the camera or an
// image, and the signature is checked with WebCrypto Ed25519. Nothing is sent anywhere.
// The checks, their order and the reason codes are those of `legion credential verify`.
"use strict";

(function () {
  const PREFIX = "LG1:";
  const PURPOSE = "entry authorisation v1";
  const MAX_TOKEN_LEN = 4096;
  const MAX_COSE_LEN = 4096;
  const MAX_TEXT = 200;
  const EDDSA = -8n;

  const REASONS = {
    valid: "Valid entry authorisation.",
    oversized: "Too long to be an entry authorisation.",
    bad_prefix: "Not an entry authorisation (it must start with LG1:).",
    bad_encoding: "Damaged: not Base45 text.",
    bad_compression: "Damaged or truncated: the compressed data does not unpack.",
    not_cose: "Damaged: not a COSE_Sign1 structure.",
    wrong_algorithm: "Wrong signature algorithm (only EdDSA/Ed25519 is accepted).",
    missing_kid: "No key id in the protected header.",
    unknown_kid: "Signed by a key that is not in the trust list.",
    key_not_valid: "The signing key is not valid at this time.",
    bad_signature: "The signature does not verify: the authorisation was altered or forged.",
    bad_claims: "Malformed claims.",
    wrong_issuer: "Issued under another mission's name than its key's.",
    wrong_purpose: "Wrong purpose: not an entry authorisation v1.",
    not_yet_valid: "Not yet valid.",
    expired: "Expired.",
    revoked: "Revoked.",
    trust_list_expired: "The trust list has expired; load a current one.",
    revocation_list_expired: "The revocation list has expired; load a current one.",
  };

  class Refusal extends Error {
    constructor(code, detail) {
      super(REASONS[code] + (detail ? " (" + detail + ")" : ""));
      this.code = code;
    }
  }

  // --- Base45 (RFC 9285) and base64url -------------------------------------------------
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  function base45Decode(text) {
    if (text.length % 3 === 1) return null;
    const out = [];
    for (let i = 0; i < text.length; i += 3) {
      const digits = [];
      for (let j = i; j < Math.min(i + 3, text.length); j++) {
        const d = B45.indexOf(text[j]);
        if (d < 0) return null;
        digits.push(d);
      }
      const n = digits[0] + digits[1] * 45 + (digits.length === 3 ? digits[2] * 2025 : 0);
      if (digits.length === 3) {
        if (n > 0xffff) return null;
        out.push(n >> 8, n & 0xff);
      } else {
        if (n > 0xff) return null;
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }

  function b64urlDecode(s) {
    if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
    const padded = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    try {
      return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    } catch (e) {
      return null;
    }
  }

  function b64urlEncode(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // --- zlib, with a limit ----------------------------------------------------------------
  async function inflate(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const reader = stream.getReader();
    const chunks = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > MAX_COSE_LEN) {
          reader.cancel().catch(() => {});
          throw new Refusal("oversized");
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof Refusal) throw e;
      // Truncated, corrupt, or data after the end of the stream.
      throw new Refusal("bad_compression");
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  // --- CBOR (RFC 8949): the definite-length subset COSE and the claims use --------------
  class Tagged {
    constructor(tag, value) {
      this.tag = tag;
      this.value = value;
    }
  }

  function cborDecode(bytes) {
    let pos = 0;
    const need = (n) => {
      if (pos + n > bytes.length) throw new Error("truncated");
    };
    const readUint = (info) => {
      if (info < 24) return BigInt(info);
      const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
      if (!size) throw new Error("bad length");
      need(size);
      let n = 0n;
      for (let i = 0; i < size; i++) n = (n << 8n) | BigInt(bytes[pos++]);
      return n;
    };
    const count = (n) => {
      if (n > BigInt(bytes.length)) throw new Error("too long");
      return Number(n);
    };
    const item = (depth) => {
      if (depth > 16) throw new Error("too deep");
      need(1);
      const first = bytes[pos++];
      const major = first >> 5;
      const info = first & 0x1f;
      switch (major) {
        case 0:
          return readUint(info);
        case 1:
          return -1n - readUint(info);
        case 2: {
          const n = count(readUint(info));
          need(n);
          const b = bytes.slice(pos, pos + n);
          pos += n;
          return b;
        }
        case 3: {
          const n = count(readUint(info));
          need(n);
          const t = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(pos, pos + n));
          pos += n;
          return t;
        }
        case 4: {
          const n = count(readUint(info));
          const a = [];
          for (let i = 0; i < n; i++) a.push(item(depth + 1));
          return a;
        }
        case 5: {
          const n = count(readUint(info));
          const m = [];
          for (let i = 0; i < n; i++) m.push([item(depth + 1), item(depth + 1)]);
          return { map: m };
        }
        case 6: {
          const tag = readUint(info);
          return new Tagged(tag, item(depth + 1));
        }
        default:
          if (info === 20) return false;
          if (info === 21) return true;
          if (info === 22) return null;
          if (info === 23) return undefined;
          if (info === 25 || info === 26 || info === 27) {
            const size = { 25: 2, 26: 4, 27: 8 }[info];
            need(size);
            pos += size;
            return { float: true };
          }
          throw new Error("unsupported");
      }
    };
    const value = item(0);
    if (pos !== bytes.length) throw new Error("trailing bytes");
    return value;
  }

  function cborHead(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 0x100) return [(major << 5) | 24, n];
    if (n < 0x10000) return [(major << 5) | 25, n >> 8, n & 0xff];
    return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  }

  // Sig_structure of COSE_Sign1 (RFC 9052 §4.4): ["Signature1", protected, h'', payload].
  function sigStructure(protectedBytes, payload) {
    const context = new TextEncoder().encode("Signature1");
    const parts = [
      cborHead(4, 4),
      cborHead(3, context.length),
      context,
      cborHead(2, protectedBytes.length),
      protectedBytes,
      cborHead(2, 0),
      cborHead(2, payload.length),
      payload,
    ];
    const total = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  // A header map: integer or text labels, no label twice.
  function header(value) {
    if (!value || !Array.isArray(value.map)) throw new Refusal("not_cose");
    const seen = new Set();
    const out = new Map();
    for (const [k, v] of value.map) {
      if (typeof k !== "bigint" && typeof k !== "string") throw new Refusal("not_cose");
      const key = typeof k + ":" + String(k);
      if (seen.has(key)) throw new Refusal("not_cose");
      seen.add(key);
      out.set(k, v);
    }
    // alg is an integer or a text; kid is a byte string.
    const alg = out.get(1n);
    if (alg !== undefined && typeof alg !== "bigint" && typeof alg !== "string") throw new Refusal("not_cose");
    const kid = out.get(4n);
    if (kid !== undefined && !(kid instanceof Uint8Array)) throw new Refusal("not_cose");
    return out;
  }

  // --- Ed25519 checks verify_strict makes beyond the equation -----------------------------
  const L = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
  ];

  function scalarIsCanonical(s) {
    for (let i = 31; i >= 0; i--) {
      if (s[i] < L[i]) return true;
      if (s[i] > L[i]) return false;
    }
    return false;
  }

  // The encodings of the eight points of small order (and their non-canonical forms).
  const SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "0100000000000000000000000000000000000000000000000000000000000080",
  ];

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function isSmallOrder(point) {
    return SMALL_ORDER.includes(hex(point));
  }

  async function importKey(x) {
    return crypto.subtle.importKey("raw", x, { name: "Ed25519" }, false, ["verify"]);
  }

  async function verifyStrict(key, x, signature, data) {
    if (signature.length !== 64) return false;
    if (isSmallOrder(signature.subarray(0, 32)) || !scalarIsCanonical(signature.subarray(32))) return false;
    if (isSmallOrder(x)) return false;
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
  }

  async function kidOf(x) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", x));
    return digest.slice(0, 8);
  }

  // --- The signed lists ----------------------------------------------------------------------
  // RFC 8785 for JSON without fractions: members sorted by UTF-16 code units.
  function canonical(v) {
    if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
    if (v !== null && typeof v === "object") {
      const names = Object.keys(v).sort();
      return "{" + names.map((n) => JSON.stringify(n) + ":" + canonical(v[n])).join(",") + "}";
    }
    if (typeof v === "number" && !Number.isInteger(v)) throw new Error("only integers are allowed");
    return JSON.stringify(v);
  }

  async function okpKey(jwk) {
    if (!jwk || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw new Error("only OKP Ed25519 keys are accepted");
    const x = b64urlDecode(jwk.x);
    if (!x || x.length !== 32) throw new Error("x must be 32 bytes");
    if (isSmallOrder(x)) throw new Error("x is a small-order point");
    let key;
    try {
      key = await importKey(x);
    } catch (e) {
      throw new Error("x is not a curve point");
    }
    return { x, key };
  }

  async function verifiedObject(text, type, pinnedRoot) {
    let object;
    try {
      object = JSON.parse(text);
    } catch (e) {
      throw new Error("not JSON");
    }
    if (!object || typeof object !== "object" || Array.isArray(object)) throw new Error("not a JSON object");
    if (object.type !== type) throw new Error("not a " + type);
    if (object.version !== 1) throw new Error("unknown version");
    const signature = b64urlDecode(object.signature);
    if (!signature || signature.length !== 64) throw new Error("no signature");
    const root = await okpKey(object.root);
    if (pinnedRoot && !equalBytes(pinnedRoot, root.x)) {
      throw new Error("signed by another root key than the one this page trusts");
    }
    const unsigned = Object.assign({}, object);
    delete unsigned.signature;
    const bytes = new TextEncoder().encode(canonical(unsigned));
    if (!(await verifyStrict(root.key, root.x, signature, bytes))) {
      throw new Error("the list's signature does not verify: it was altered");
    }
    return { object, root: root.x };
  }

  async function loadTrustList(text, pinnedRoot) {
    const { object, root } = await verifiedObject(text, "legion-trust-list", pinnedRoot);
    if (!Array.isArray(object.keys)) throw new Error("no keys");
    const keys = [];
    for (const jwk of object.keys) {
      if (jwk.alg !== undefined && jwk.alg !== "EdDSA") throw new Error("bad key: alg");
      const { x, key } = await okpKey(jwk);
      const kid = b64urlDecode(jwk.kid);
      if (!kid || !equalBytes(kid, await kidOf(x))) throw new Error("bad key: kid is not the key's own");
      if (typeof jwk.iss !== "string") throw new Error("bad key: iss");
      for (const t of ["nbf", "exp"]) {
        if (jwk[t] !== undefined && !Number.isInteger(jwk[t])) throw new Error("bad key: " + t);
      }
      if (keys.some((k) => equalBytes(k.kid, kid))) throw new Error("bad key: two keys share a kid");
      keys.push({ kid, x, key, issuer: jwk.iss, notBefore: jwk.nbf, notAfter: jwk.exp });
    }
    if (!Number.isInteger(object.issued_at) || !Number.isInteger(object.expires_at)) throw new Error("validity");
    return { root, issuedAt: object.issued_at, expires: object.expires_at, keys };
  }

  async function loadRevocations(text, root) {
    const { object } = await verifiedObject(text, "legion-revocation-list", root);
    if (!Array.isArray(object.revoked)) throw new Error("no revoked list");
    const revoked = new Set();
    for (const id of object.revoked) {
      if (typeof id !== "string" || !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(id)) {
        throw new Error("revoked: not a credential id");
      }
      revoked.add(id.toLowerCase());
    }
    if (!Number.isInteger(object.seq) || object.seq < 0) throw new Error("seq");
    if (!Number.isInteger(object.issued_at) || !Number.isInteger(object.expires_at)) throw new Error("validity");
    return { seq: object.seq, issuedAt: object.issued_at, expires: object.expires_at, revoked };
  }

  // --- The claims ----------------------------------------------------------------------------
  const I64_MIN = -(2n ** 63n);
  const I64_MAX = 2n ** 63n - 1n;

  function fields(value, notMap) {
    if (!value || !Array.isArray(value.map)) throw new Refusal("bad_claims", notMap);
    const out = new Map();
    for (const [k, v] of value.map) {
      if (typeof k !== "bigint" || k < I64_MIN || k > I64_MAX) continue;
      if (out.has(k)) throw new Refusal("bad_claims", "a claim appears twice");
      out.set(k, v);
    }
    return out;
  }

  function textOf(map, key, what) {
    const v = map.get(key);
    if (typeof v !== "string" || new TextEncoder().encode(v).length > MAX_TEXT) throw new Refusal("bad_claims", what);
    return v;
  }

  function intOf(map, key, what) {
    const v = map.get(key);
    if (typeof v !== "bigint" || v < I64_MIN || v > I64_MAX) throw new Refusal("bad_claims", what);
    return v;
  }

  function day(v) {
    if (typeof v !== "string" || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(v)) return null;
    const d = new Date(v + "T00:00:00Z");
    if (isNaN(d) || d.toISOString().slice(0, 10) !== v) return null;
    return v;
  }

  function uuidText(b) {
    const h = hex(b);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function claimsOf(payload) {
    let value;
    try {
      value = cborDecode(payload);
    } catch (e) {
      throw new Refusal("bad_claims", "not a CBOR map");
    }
    const map = fields(value, "the claims are not a CBOR map");
    const issuer = textOf(map, 1n, "iss");
    const expires = intOf(map, 4n, "exp");
    const notBefore = intOf(map, 5n, "nbf");
    const issuedAt = intOf(map, 6n, "iat");
    const cti = map.get(7n);
    if (!(cti instanceof Uint8Array) || cti.length !== 16) throw new Refusal("bad_claims", "cti must be 16 bytes");
    const purpose = textOf(map, -65537n, "purpose");
    const h = fields(map.has(-65538n) ? map.get(-65538n) : null, "holder is not a map");
    const holder = {
      family_name: textOf(h, 1n, "holder family name"),
      given_names: textOf(h, 2n, "holder given names"),
      date_of_birth: textOf(h, 3n, "holder date of birth"),
      nationality: textOf(h, 4n, "holder nationality"),
      passport_number: textOf(h, 5n, "holder passport number"),
    };
    const window = map.get(-65539n);
    if (!Array.isArray(window) || window.length !== 2) throw new Refusal("bad_claims", "entry window missing");
    const from = day(window[0]);
    const until = day(window[1]);
    if (!from || !until || from > until) throw new Refusal("bad_claims", "entry window");
    let group = null;
    if (map.has(-65540n)) {
      const g = map.get(-65540n);
      if (typeof g !== "string" || new TextEncoder().encode(g).length > MAX_TEXT) throw new Refusal("bad_claims", "group");
      group = g;
    }
    if (!(issuedAt <= expires && notBefore < expires)) throw new Refusal("bad_claims", "validity window");
    return {
      issuer,
      id: uuidText(cti),
      issued_at: Number(issuedAt),
      not_before: Number(notBefore),
      expires: Number(expires),
      purpose,
      holder,
      entry_from: from,
      entry_until: until,
      group,
      _nbf: notBefore,
      _exp: expires,
    };
  }

  // --- Verification, in the order of `legion credential verify` -----------------------------
  async function verifyToken(trust, revocations, input, now) {
    if (now >= trust.expires) throw new Refusal("trust_list_expired");
    if (revocations && now >= revocations.expires) throw new Refusal("revocation_list_expired");
    const text = input.trim();
    if (new TextEncoder().encode(text).length > MAX_TOKEN_LEN) throw new Refusal("oversized");
    if (!text.startsWith(PREFIX)) throw new Refusal("bad_prefix");
    const packed = base45Decode(text.slice(PREFIX.length));
    if (!packed) throw new Refusal("bad_encoding");
    const cose = await inflate(packed);
    let message;
    try {
      message = cborDecode(cose);
    } catch (e) {
      throw new Refusal("not_cose");
    }
    if (message instanceof Tagged) {
      if (message.tag !== 18n) throw new Refusal("not_cose");
      message = message.value;
    }
    if (!Array.isArray(message) || message.length !== 4) throw new Refusal("not_cose");
    const [protectedBytes, unprotectedValue, payload, signature] = message;
    if (!(protectedBytes instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new Refusal("not_cose");
    if (!(payload instanceof Uint8Array) && payload !== null) throw new Refusal("not_cose");
    let protectedHeader;
    if (protectedBytes.length === 0) {
      protectedHeader = new Map();
    } else {
      let decoded;
      try {
        decoded = cborDecode(protectedBytes);
      } catch (e) {
        throw new Refusal("not_cose");
      }
      protectedHeader = header(decoded);
    }
    const unprotected = header(unprotectedValue);
    if (protectedHeader.get(1n) !== EDDSA || unprotected.has(1n)) throw new Refusal("wrong_algorithm");
    const kid = protectedHeader.get(4n);
    if (!kid || kid.length === 0) throw new Refusal("missing_kid");
    if (kid.length !== 8) throw new Refusal("unknown_kid");
    const key = trust.keys.find((k) => equalBytes(k.kid, kid));
    if (!key) throw new Refusal("unknown_kid");
    if ((key.notBefore !== undefined && now < key.notBefore) || (key.notAfter !== undefined && now >= key.notAfter)) {
      throw new Refusal("key_not_valid");
    }
    if (payload === null) throw new Refusal("not_cose");
    if (!(await verifyStrict(key.key, key.x, signature, sigStructure(protectedBytes, payload)))) {
      throw new Refusal("bad_signature");
    }
    const claims = claimsOf(payload);
    if (claims.issuer !== key.issuer) throw new Refusal("wrong_issuer");
    if (claims.purpose !== PURPOSE) throw new Refusal("wrong_purpose");
    if (revocations && revocations.revoked.has(claims.id)) throw new Refusal("revoked");
    const t = BigInt(now);
    if (t < claims._nbf) throw new Refusal("not_yet_valid");
    if (t >= claims._exp) throw new Refusal("expired");
    delete claims._nbf;
    delete claims._exp;
    return { claims, kid: b64urlEncode(kid) };
  }

  // --- State kept in this browser ------------------------------------------------------------
  const STORE = {
    get(name) {
      try {
        return localStorage.getItem("legion." + name);
      } catch (e) {
        return null;
      }
    },
    set(name, value) {
      try {
        localStorage.setItem("legion." + name, value);
      } catch (e) {
        /* private mode: the lists last as long as the page */
      }
    },
  };

  const state = { trust: null, trustText: null, revocations: null, revocationsText: null };

  function pinnedRoot() {
    const p = STORE.get("root");
    return p ? b64urlDecode(p) : null;
  }

  async function setTrustList(text) {
    const trust = await loadTrustList(text, pinnedRoot());
    if (!pinnedRoot()) STORE.set("root", b64urlEncode(trust.root));
    state.trust = trust;
    state.trustText = text;
    STORE.set("trust", text);
    return trust;
  }

  async function setRevocations(text) {
    if (!state.trust) throw new Error("load the trust list first");
    const list = await loadRevocations(text, state.trust.root);
    const seen = Number(STORE.get("revocations.seq") || "-1");
    if (list.seq < seen) {
      throw new Error("stale: sequence number " + list.seq + " is older than " + seen + ", already loaded");
    }
    state.revocations = list;
    state.revocationsText = text;
    STORE.set("revocations", text);
    STORE.set("revocations.seq", String(list.seq));
    return list;
  }

  async function verify(token, now) {
    if (!state.trust) return { valid: false, code: "no_trust_list", reason: "Load the trust list first." };
    const at = now === undefined ? Math.floor(Date.now() / 1000) : now;
    try {
      const v = await verifyToken(state.trust, state.revocations, token, at);
      return { valid: true, code: "valid", reason: REASONS.valid, claims: v.claims, kid: v.kid };
    } catch (e) {
      if (e instanceof Refusal) return { valid: false, code: e.code, reason: e.message };
      return { valid: false, code: "error", reason: String(e) };
    }
  }

  function decodeQrFromImageData(imageData) {
    if (typeof jsQR !== "function") return null;
    const found = jsQR(imageData.data, imageData.width, imageData.height, { inversionAttempts: "attemptBoth" });
    return found ? found.data : null;
  }

  window.legionVerify = {
    setTrustList,
    setRevocations,
    verify,
    state,
    canonical,
    decodeQrFromImageData,
    forget() {
      for (const k of ["root", "trust", "revocations", "revocations.seq"]) {
        try {
          localStorage.removeItem("legion." + k);
        } catch (e) {
          /* nothing kept */
        }
      }
      state.trust = state.revocations = null;
    },
    stored: STORE,
  };
})();
