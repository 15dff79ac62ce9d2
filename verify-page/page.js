// The page around the verifier: loading the lists, reading the QR code, showing the verdict.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const v = window.legionVerify;

  function when(seconds) {
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }

  function showLists() {
    const now = Date.now() / 1000;
    const t = v.state.trust;
    $("trust-status").textContent = t
      ? t.keys.length + " keys, signed " + when(t.issuedAt) + ", valid until " + when(t.expires)
      : "not loaded";
    $("trust-status").className = t && now >= t.expires ? "warn" : "";
    const r = v.state.revocations;
    if (r) {
      const age = Math.floor((now - r.issuedAt) / 3600);
      $("revocations-status").textContent =
        "number " + r.seq + ", " + r.revoked.size + " revoked, signed " + when(r.issuedAt) + " (" + age + " h ago), valid until " + when(r.expires);
      $("revocations-status").className = now >= r.expires || age >= 24 ? "warn" : "";
    } else {
      $("revocations-status").textContent = "not loaded: revoked authorisations will not be recognised";
      $("revocations-status").className = "warn";
    }
    const root = v.stored.get("root");
    $("root-status").textContent = root || "none pinned";
  }

  function problem(where, e) {
    $(where).textContent = "refused: " + (e && e.message ? e.message : String(e));
    $(where).className = "warn";
  }

  async function readFile(input) {
    const file = input.files && input.files[0];
    return file ? file.text() : null;
  }

  $("trust-file").addEventListener("change", async (ev) => {
    const text = await readFile(ev.target);
    if (!text) return;
    try {
      await v.setTrustList(text);
      showLists();
    } catch (e) {
      problem("trust-status", e);
    }
  });

  $("revocations-file").addEventListener("change", async (ev) => {
    const text = await readFile(ev.target);
    if (!text) return;
    try {
      await v.setRevocations(text);
      showLists();
    } catch (e) {
      problem("revocations-status", e);
    }
  });

  $("forget").addEventListener("click", () => {
    v.forget();
    showLists();
  });

  async function check(text) {
    const result = await v.verify(text);
    $("result").classList.remove("hidden");
    const verdict = $("verdict");
    verdict.className = result.valid ? "valid" : "invalid";
    verdict.dataset.code = result.code;
    verdict.textContent = result.valid ? "✔ VALID · ДІЙСНИЙ" : "✘ REFUSED · ВІДМОВА";
    $("reason").textContent = result.reason;
    $("holder").classList.toggle("hidden", !result.valid);
    $("compare").classList.toggle("hidden", !result.valid);
    if (result.valid) {
      const c = result.claims;
      $("h-family").textContent = c.holder.family_name;
      $("h-given").textContent = c.holder.given_names;
      $("h-dob").textContent = c.holder.date_of_birth;
      $("h-nationality").textContent = c.holder.nationality;
      $("h-passport").textContent = c.holder.passport_number;
      $("h-window").textContent = c.entry_from + " – " + c.entry_until;
      $("h-issuer").textContent = c.issuer;
      $("h-id").textContent = c.id;
    }
    return result;
  }

  $("check").addEventListener("click", () => check($("token").value));

  function imageDataOf(source, width, height) {
    const canvas = $("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height);
  }

  $("qr-file").addEventListener("change", async (ev) => {
    const file = ev.target.files && ev.target.files[0];
    if (!file) return;
    const bitmap = await createImageBitmap(file);
    const text = v.decodeQrFromImageData(imageDataOf(bitmap, bitmap.width, bitmap.height));
    if (text === null) {
      $("result").classList.remove("hidden");
      $("verdict").className = "invalid";
      $("verdict").dataset.code = "no_qr";
      $("verdict").textContent = "No QR code found in the image";
      $("reason").textContent = "Take the picture again, closer and sharper.";
      return;
    }
    $("token").value = text;
    await check(text);
  });

  let scanning = null;
  $("camera").addEventListener("click", async () => {
    const video = $("video");
    if (scanning) {
      scanning.getTracks().forEach((t) => t.stop());
      scanning = null;
      video.classList.add("hidden");
      return;
    }
    try {
      scanning = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      $("result").classList.remove("hidden");
      $("verdict").className = "invalid";
      $("verdict").dataset.code = "no_camera";
      $("verdict").textContent = "No camera";
      $("reason").textContent = String(e);
      return;
    }
    video.srcObject = scanning;
    video.classList.remove("hidden");
    await video.play();
    const tick = async () => {
      if (!scanning) return;
      if (video.videoWidth > 0) {
        const text = v.decodeQrFromImageData(imageDataOf(video, video.videoWidth, video.videoHeight));
        if (text !== null) {
          scanning.getTracks().forEach((t) => t.stop());
          scanning = null;
          video.classList.add("hidden");
          $("token").value = text;
          await check(text);
          return;
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });

  // The lists this browser kept from the last time.
  (async () => {
    const trust = v.stored.get("trust");
    const revocations = v.stored.get("revocations");
    try {
      if (trust) await v.setTrustList(trust);
      if (revocations) await v.setRevocations(revocations);
    } catch (e) {
      problem("trust-status", e);
    }
    showLists();
    document.body.dataset.ready = "1";
  })();

  window.legionPage = { check };
})();
