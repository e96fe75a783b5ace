// unseen's web app: open, point, preview, run, download. Plain JavaScript, no outside assets.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  upload: null,        // what the server said about the file
  frame: 0,            // the frame shown (an index into upload.previews' frames)
  prompts: [],         // {kind, x, y[, w, h], frame}, in the video's own pixels
  brushed: false,      // whether the brush canvas holds paint
  job: null,           // the job being followed
  polling: null,
  classMask: null,     // the last "Show" of a class, per frame
};
const picture = $("picture"), overlay = $("overlay");
const brush = document.createElement("canvas");  // the brushed mask, at preview size, for every frame
let masks = {};                                   // frame -> Image of the server's mask for the prompts

// ---- errors and API -----------------------------------------------------------------------------------

function showError(message) {
  $("error").textContent = message || "";
  $("error").classList.toggle("hidden", !message);
}

async function call(method, url, body, raw) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    if (raw) { options.body = body; } else {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(url, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

// ---- opening a file -----------------------------------------------------------------------------------

function upload(file) {
  showError("");
  $("upload-state").textContent = `uploading ${file.name} …`;
  const request = new XMLHttpRequest();  // XHR: fetch cannot report upload progress
  request.open("POST", `/api/uploads?name=${encodeURIComponent(file.name)}`);
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) {
      $("upload-state").textContent = `uploading ${file.name}: ${Math.round(100 * event.loaded / event.total)} %`;
    }
  };
  request.onload = () => {
    let answer = {};
    try { answer = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
    if (request.status !== 200) {
      $("upload-state").textContent = "";
      showError(answer.error || `upload failed (${request.status})`);
      return;
    }
    $("upload-state").textContent = "";
    opened(answer, null);
  };
  request.onerror = () => showError("the upload failed: is the server still running?");
  request.send(file);
}

function opened(meta, job) {
  state.upload = meta;
  state.prompts = [];
  masks = {};
  state.classMask = null;
  state.brushed = false;
  $("work").classList.remove("hidden");
  $("open").classList.add("compact");
  $("drop").querySelector("strong").textContent = "Open another photo or video";
  const info = meta.kind === "video"
    ? `${meta.name}: ${meta.width}x${meta.height}, ${meta.frames} frames, ${meta.fps ? meta.fps.toFixed(2) : "?"} fps` +
      `${meta.audio ? ", with sound" : ""}`
    : `${meta.name}: ${meta.width}x${meta.height} photo`;
  $("media-info").textContent = info;
  $("scrubber").max = meta.previews.length - 1;
  $("scrubber").value = 0;
  $("scrubber").parentElement.classList.toggle("hidden", meta.previews.length < 2);
  remember(meta.id, job);
  showFrame(0);
  describe();
}

function remember(uploadId, jobId) {
  const hash = `upload=${uploadId}` + (jobId ? `&job=${jobId}` : "");
  history.replaceState(null, "", `#${hash}`);
  localStorage.setItem("unseen.session", hash);
}

// ---- the frame and its overlay ------------------------------------------------------------------------

function showFrame(position) {
  const frame = state.upload.previews[position];
  state.frame = frame;
  const image = new Image();
  image.onload = () => {
    if (picture.width !== image.width || picture.height !== image.height) {
      picture.width = overlay.width = image.width;
      picture.height = overlay.height = image.height;
      if (brush.width !== image.width) { brush.width = image.width; brush.height = image.height; }
    }
    picture.getContext("2d").drawImage(image, 0, 0);
    drawOverlay();
  };
  image.src = `/api/uploads/${state.upload.id}/frames/${frame}.jpg`;
  $("frame-label").textContent = state.upload.kind === "video" ? `frame ${frame}` : "";
}

function scale() { return picture.width / state.upload.width; }  // video pixels -> preview pixels

function drawOverlay(dragBox) {
  const g = overlay.getContext("2d");
  g.clearRect(0, 0, overlay.width, overlay.height);
  const tint = (source, colour) => {  // a white-on-black mask drawn as a see-through colour
    const layer = document.createElement("canvas");
    layer.width = overlay.width; layer.height = overlay.height;
    const l = layer.getContext("2d");
    l.drawImage(source, 0, 0, layer.width, layer.height);
    const pixels = l.getImageData(0, 0, layer.width, layer.height);
    for (let i = 0; i < pixels.data.length; i += 4) {
      const on = pixels.data[i] > 127 || (source === brush && pixels.data[i + 3] > 0);
      pixels.data.set(on ? colour : [0, 0, 0, 0], i);
    }
    l.putImageData(pixels, 0, 0);
    g.drawImage(layer, 0, 0);
  };
  if (masks[state.frame]) tint(masks[state.frame], [255, 40, 60, 120]);
  if (state.classMask && state.classMask.frame === state.frame) tint(state.classMask.image, [255, 160, 0, 120]);
  if (state.brushed) tint(brush, [40, 120, 255, 120]);
  const s = scale();
  g.lineWidth = 2;
  for (const p of state.prompts.filter((p) => p.frame === state.frame)) {
    g.strokeStyle = "#ffeb3b";
    if (p.kind === "box") { g.strokeRect(p.x * s, p.y * s, p.w * s, p.h * s); } else {
      g.beginPath(); g.arc(p.x * s, p.y * s, 6, 0, 2 * Math.PI); g.stroke();
    }
  }
  if (dragBox) { g.strokeStyle = "#ffffff"; g.setLineDash([6, 4]); g.strokeRect(...dragBox); g.setLineDash([]); }
}

async function refreshMask() {
  const frame = state.frame;
  const onFrame = state.prompts.filter((p) => p.frame === frame);
  if (!onFrame.length) { delete masks[frame]; drawOverlay(); describe(); return; }
  showError("");
  try {
    const response = await call("POST", `/api/uploads/${state.upload.id}/mask`, { frame, prompts: onFrame });
    const seconds = response.headers.get("X-Seconds");
    const image = new Image();
    image.onload = () => { masks[frame] = image; drawOverlay(); };
    image.src = URL.createObjectURL(await response.blob());
    $("what").dataset.seconds = seconds;
  } catch (error) {
    state.prompts = state.prompts.filter((p) => !onFrame.includes(p) || p !== onFrame[onFrame.length - 1]);
    showError(error.message);
    drawOverlay();
  }
  describe();
}

function describe() {
  const clicks = state.prompts.filter((p) => p.kind === "point").length;
  const boxes = state.prompts.filter((p) => p.kind === "box").length;
  const parts = [];
  if (clicks) parts.push(`${clicks} click${clicks > 1 ? "s" : ""}`);
  if (boxes) parts.push(`${boxes} box${boxes > 1 ? "es" : ""}`);
  if (state.brushed) parts.push(state.upload.kind === "video" ? "a brushed mask (on every frame)" : "a brushed mask");
  const classes = $("classes").value.trim();
  if (!parts.length && classes) parts.push(`every ${classes}`);
  const followed = state.upload.kind === "video" && (clicks || boxes) ? ", followed through the video" : "";
  $("what").textContent = parts.length ? `What goes: ${parts.join(", ")}${followed}.` : "Click on the object, draw a box, brush it, or name a class.";
}

// ---- pointing -----------------------------------------------------------------------------------------

function tool() { return document.querySelector("input[name=tool]:checked").value; }

function where(event) {
  const rect = overlay.getBoundingClientRect();
  return [(event.clientX - rect.left) * overlay.width / rect.width, (event.clientY - rect.top) * overlay.height / rect.height];
}

let drag = null;
overlay.addEventListener("pointerdown", (event) => {
  overlay.setPointerCapture(event.pointerId);
  const [x, y] = where(event);
  drag = { x, y };
  if (tool() === "brush" || tool() === "erase") paint(x, y);
});
overlay.addEventListener("pointermove", (event) => {
  if (!drag) return;
  const [x, y] = where(event);
  if (tool() === "box") drawOverlay([Math.min(drag.x, x), Math.min(drag.y, y), Math.abs(x - drag.x), Math.abs(y - drag.y)]);
  if (tool() === "brush" || tool() === "erase") paint(x, y, drag);
  drag.x2 = x; drag.y2 = y;
  if (tool() === "brush" || tool() === "erase") { drag.x = x; drag.y = y; }
});
overlay.addEventListener("pointerup", (event) => {
  if (!drag) return;
  const [x, y] = where(event);
  const s = scale(), start = drag;
  drag = null;
  if (tool() === "click") {
    state.prompts.push({ kind: "point", x: Math.round(x / s), y: Math.round(y / s), frame: state.frame });
    refreshMask();
  } else if (tool() === "box") {
    const w = Math.abs(x - start.x), h = Math.abs(y - start.y);
    if (w < 4 || h < 4) { drawOverlay(); return; }
    state.prompts.push({ kind: "box", x: Math.round(Math.min(x, start.x) / s), y: Math.round(Math.min(y, start.y) / s),
                         w: Math.round(w / s), h: Math.round(h / s), frame: state.frame });
    refreshMask();
  } else {
    describe();
  }
});

function paint(x, y, from) {
  const g = brush.getContext("2d");
  g.globalCompositeOperation = tool() === "erase" ? "destination-out" : "source-over";
  g.strokeStyle = g.fillStyle = "#ffffff";
  g.lineCap = "round";
  g.lineWidth = Number($("brush-size").value);
  g.beginPath();
  if (from) { g.moveTo(from.x, from.y); g.lineTo(x, y); g.stroke(); } else {
    g.arc(x, y, g.lineWidth / 2, 0, 2 * Math.PI); g.fill();
  }
  state.brushed = hasPaint();
  drawOverlay();
}

function hasPaint() {
  const data = brush.getContext("2d").getImageData(0, 0, brush.width, brush.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i]) return true;
  return false;
}

$("clear").onclick = () => {
  state.prompts = []; masks = {}; state.classMask = null;
  brush.getContext("2d").clearRect(0, 0, brush.width, brush.height);
  state.brushed = false;
  drawOverlay(); describe();
};

$("show-class").onclick = async () => {
  const classes = $("classes").value.trim();
  if (!classes) return;
  showError("");
  try {
    const response = await call("POST", `/api/uploads/${state.upload.id}/mask`, { frame: state.frame, classes });
    const image = new Image();
    image.onload = () => { state.classMask = { frame: state.frame, image }; drawOverlay(); };
    image.src = URL.createObjectURL(await response.blob());
  } catch (error) { showError(error.message); }
};
$("classes").addEventListener("input", describe);
$("scrubber").addEventListener("input", () => showFrame(Number($("scrubber").value)));

// ---- the job form -------------------------------------------------------------------------------------

async function loadInfo() {
  const info = await (await call("GET", "/api/info")).json();
  const fill = (select, values, chosen) => {
    select.innerHTML = values.map((v) => `<option value="${v}"${v === chosen ? " selected" : ""}>${v}</option>`).join("");
  };
  fill($("method"), info.methods, "auto");
  fill($("render"), info.renders, "overlay");
  fill($("with"), info.backgrounds, "blur");
  $("drop").title = `up to ${info.max_upload_mb} MB and ${info.max_seconds} s of video`;
}

$("job").addEventListener("change", () => {
  for (const job of ["remove", "segment", "background"]) {
    document.querySelectorAll(`.for-${job}`).forEach((el) => el.classList.toggle("hidden", $("job").value !== job));
  }
});

function spec(preview) {
  const job = $("job").value;
  const body = { upload: state.upload.id, job, options: {} };
  if (job !== "background") {
    if (state.brushed && job === "remove") body.mask = brush.toDataURL("image/png");
    else if (state.prompts.length) body.prompts = state.prompts;
    else if ($("classes").value.trim()) body.classes = $("classes").value.trim();
    else if (job === "segment") body.classes = "person";
  }
  if (job === "remove") {
    body.options.method = $("method").value;
    if ($("dilate").value !== "") body.options.dilate = Number($("dilate").value);
  }
  if (job === "segment") body.options.render = $("render").value;
  if (job === "background") body.options.with = $("with").value;
  if (preview) {
    const first = state.prompts.length ? Math.min(...state.prompts.map((p) => p.frame)) : state.frame;
    body.preview = { frame: first, count: Number($("preview-count").value) || 4 };
  }
  return body;
}

async function start(preview) {
  showError("");
  $("download").classList.add("hidden");
  $("result").classList.add("hidden");
  try {
    const job = await (await call("POST", "/api/jobs", spec(preview))).json();
    follow(job.id);
  } catch (error) { showError(error.message); }
}
$("run").onclick = () => start(false);
$("preview").onclick = () => start(true);
$("cancel").onclick = async () => {
  if (!state.job) return;
  try { await call("POST", `/api/jobs/${state.job}/cancel`); } catch (error) { showError(error.message); }
};

function follow(jobId) {
  state.job = jobId;
  remember(state.upload.id, jobId);
  clearInterval(state.polling);
  busy(true);
  state.polling = setInterval(poll, 500);
  poll();
}

function busy(on) {
  $("run").disabled = $("preview").disabled = on;
  $("cancel").disabled = !on;
}

function clock(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
}

async function poll() {
  let job;
  try { job = await (await call("GET", `/api/jobs/${state.job}`)).json(); } catch (error) {
    clearInterval(state.polling); busy(false); showError(error.message); return;
  }
  const bar = $("progress");
  if (job.total) { bar.max = job.total; bar.value = job.done; } else { bar.removeAttribute("value"); }
  let text = job.state;
  if (job.state === "queued") text = job.ahead ? `queued: ${job.ahead} job(s) ahead` : "starting …";
  if (job.state === "running") {
    text = job.total ? `running: ${job.done} of ${job.total} frames` : "running …";
    if (job.eta_s !== undefined) text += `, about ${clock(job.eta_s)} left`;
    if (job.cancelling) text = "cancelling …";
  }
  $("state").textContent = text;
  if (["done", "failed", "cancelled"].includes(job.state)) {
    clearInterval(state.polling);
    busy(false);
    bar.max = 1; bar.value = job.state === "done" ? 1 : 0;
    if (job.state === "failed") showError(job.error);
    if (job.state === "done") finished(job);
  }
}

function finished(job) {
  $("state").textContent = job.previews.length ? `preview of ${job.previews.length} frame(s) ready` : "done";
  if (job.previews.length) {
    $("previews").classList.remove("hidden");
    $("previews").innerHTML = job.previews.map((p) =>
      `<figure><img src="/api/jobs/${job.id}/previews/${p.file}" alt="frame ${p.frame}"><figcaption>frame ${p.frame}</figcaption></figure>`
    ).join("");
    $("previews").scrollIntoView({ block: "nearest" });
    return;
  }
  const url = `/api/jobs/${job.id}/result`;
  const link = $("download");
  link.href = url;
  link.download = job.download;
  link.textContent = `Download ${job.download}`;
  link.classList.remove("hidden");
  $("result").classList.remove("hidden");
  const video = state.upload.kind === "video";
  $("compare-video").classList.toggle("hidden", !video);
  $("compare-photo").classList.toggle("hidden", video || job.download.endsWith(".png") && $("job").value === "segment");
  if (video) {
    $("video-before").src = `/api/uploads/${state.upload.id}/file`;
    $("video-after").src = url;
  } else {
    $("before").src = `/api/uploads/${state.upload.id}/frames/0.jpg`;
    $("after").src = url;
  }
  $("result").scrollIntoView({ block: "start" });
}

$("compare-slider").addEventListener("input", () => {
  $("after-clip").style.clipPath = `inset(0 0 0 ${$("compare-slider").value}%)`;
});
$("play-both").onclick = () => {
  const before = $("video-before"), after = $("video-after");
  before.currentTime = after.currentTime = 0;
  before.play(); after.play();
};
$("video-after").addEventListener("seeked", () => {
  const before = $("video-before"), after = $("video-after");
  if (Math.abs(before.currentTime - after.currentTime) > 0.1) before.currentTime = after.currentTime;
});

// ---- drag and drop, and coming back -------------------------------------------------------------------

const drop = $("drop");
["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((type) => drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]); });
$("file").addEventListener("change", () => { if ($("file").files.length) upload($("file").files[0]); });

async function resume() {
  const saved = new URLSearchParams((location.hash || "#" + (localStorage.getItem("unseen.session") || "")).slice(1));
  const uploadId = saved.get("upload");
  if (!uploadId) return;
  try {
    const meta = await (await call("GET", `/api/uploads/${uploadId}`)).json();
    // The last job of the file, also when the page was closed before it heard the job's id.
    const job = saved.get("job") || meta.jobs[meta.jobs.length - 1];
    opened(meta, job);
    if (job) follow(job);
  } catch (error) {
    localStorage.removeItem("unseen.session");
    history.replaceState(null, "", "#");
  }
}

loadInfo().then(resume).catch((error) => showError(error.message));
