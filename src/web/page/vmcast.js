// vmcast's page: one console of a VM over WebRTC, with keyboard and mouse going back to it.
// Signalling is JSON on a WebSocket (the server offers, the page answers); input is JSON on the
// "input" data channel, keys as KeyboardEvent.code (physical keys: the guest's layout decides
// what they type).
'use strict';

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
// The VM's name: a stable address, valid while the VM is stopped too.
const vmName = params.get('vm') || '';
let consoleIndex = params.get('console') || '';

const stage = document.getElementById('stage');
const video = document.getElementById('screen');
const statusText = document.getElementById('status');
const notice = document.getElementById('notice');
const picker = document.getElementById('console-picker');
const pickerLabel = document.getElementById('picker-label');

// What the page knows, also read by vmcast's browser tests.
const state = {
  phase: 'connecting', access: '', absolute: false, multitouch: false, displaySize: '',
  vm: '', codec: '',
  framesDecoded: 0, fps: 0, kbps: 0, latencyMs: 0, errors: [], ended: '',
  vmClipboard: null, clipboardSent: 0, microphone: 'unavailable',
};
// channel(): the input data channel, for tests that send what the page itself never would;
// peer(): the RTCPeerConnection, for tests that check what was negotiated.
window.vmcast = { state, captureFrame, channel: () => channel, peer: () => peer };

let socket = null;
let peer = null;
let channel = null;
let reconnectDelay = 500;
let reconnectTimer = null;
let statsTimer = null;
// Why vmcast's picture stopped (PipeWire restarting), or '': shown until it goes on.
let pictureNotice = '';
const heldKeys = new Set();
const heldButtons = new Set();
const clipboard = createClipboard({ sendInput, canSend: inputOpen, state });
const toolbar = createToolbar({ sendInput, canSend: inputOpen, state });
const viewControls = document.getElementById('view-controls');
const view = createView({ stage, video, container: viewControls, sendInput, canResize: inputOpen,
  screenshotUrl: () => serverUrl('/screenshot'), report });
const touch = createTouch({ video, container: viewControls, sendInput, canSend: inputOpen,
  consolePoint, state, view, toolbar });

// A passing message: what the user asked for did not work.
let reportTimer = null;
function report(text) {
  state.errors.push(text);
  showNotice(text);
  clearTimeout(reportTimer);
  reportTimer = setTimeout(() => showNotice(pictureNotice), 4000);
}
const audio = createAudio(video);
window.vmcast.audio = audio;
audio.muteButton(document.getElementById('bar'));
const microphone = createMicrophone({ state, sendInput,
  container: document.getElementById('toolbar-more'), report });

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

function setPhase(phase, detail) {
  state.phase = phase;
  statusText.textContent = detail || phase;
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function inputOpen() {
  return state.access === 'full' && channel !== null && channel.readyState === 'open';
}

function sendInput(message) {
  if (inputOpen()) channel.send(JSON.stringify(message));
}

// An address of vmcast's for this page's console.
function serverUrl(path) {
  const url = new URL(path, location.href);
  url.searchParams.set('token', token);
  if (vmName !== '') url.searchParams.set('vm', vmName);
  if (consoleIndex !== '') url.searchParams.set('console', consoleIndex);
  return url;
}

function socketUrl(path) {
  const url = serverUrl(path);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url;
}

async function connect() {
  reconnectTimer = null;
  setPhase('connecting', 'connecting…');
  // The WebSocket handshake hides why it was refused; a plain request says it.
  let check;
  try {
    const url = socketUrl('/ws');
    url.protocol = location.protocol;
    check = await fetch(url, { cache: 'no-store' });
  } catch (error) {
    scheduleReconnect('vmcast is not reachable');
    return;
  }
  if (check.status === 503) {
    // The VM is stopped: ask every second, keeping the last picture, until it is back.
    const reason = (await check.text()).trim();
    reconnectDelay = 1000;
    scheduleReconnect(reason);
    showNotice(`${reason}. This page shows it again when it is back.`);
    return;
  }
  if (check.status === 403 || check.status === 404) {
    const reason = (await check.text()).trim();
    setPhase('refused', reason);
    showNotice(`vmcast refused this page: ${reason}. Open the address vmcast printed.`);
    return;
  }
  socket = new WebSocket(socketUrl('/ws'));
  socket.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    handleMessage(message).catch((error) => console.warn('vmcast:', error));
  };
  socket.onclose = () => {
    socket = null;
    teardown();
    scheduleReconnect(state.ended || 'connection to vmcast lost');
  };
}

function scheduleReconnect(reason) {
  if (reconnectTimer) return;
  setPhase('reconnecting', `${reason}; trying again…`);
  if (state.ended) showNotice(`${state.ended}. This page reconnects when vmcast is back.`);
  reconnectTimer = setTimeout(connect, reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, 5000);
}

function teardown() {
  releaseEverything();
  toolbar.disconnected();
  audio.sessionEnded();
  microphone.sessionEnded();
  if (statsTimer) clearInterval(statsTimer);
  statsTimer = null;
  if (peer) peer.close();
  peer = null;
  channel = null;
}

async function handleMessage(message) {
  switch (message.type) {
  case 'hello':
    state.access = message.access;
    state.absolute = !!message.absolute;
    state.multitouch = !!message.multitouch;
    state.vm = message.vm;
    state.codec = message.codec;
    showPlace(message.vm, message.console,
      message.consoles.find((c) => c.index === message.console)?.label);
    pictureNotice = '';
    document.getElementById('clipboard-toggle').hidden = message.access !== 'full';
    toolbar.setAccess(message.access);
    view.setAccess(message.access);
    microphone.setOffered(message.microphone && message.access === 'full');
    fillPicker(message.consoles, message.console);
    startPeer();
    break;
  case 'offer':
    await peer.setRemoteDescription({ type: 'offer', sdp: message.sdp });
    microphone.beforeAnswer(peer);
    await peer.setLocalDescription(await peer.createAnswer());
    send({ type: 'answer', sdp: peer.localDescription.sdp });
    break;
  case 'ice':
    if (peer) await peer.addIceCandidate({ candidate: message.candidate,
      sdpMLineIndex: message.sdpMLineIndex });
    break;
  case 'mouse':
    state.absolute = !!message.absolute;
    if (state.absolute && document.pointerLockElement) document.exitPointerLock();
    break;
  case 'display-size':
    // QEMU took the window's size for the VM; the guest follows if its driver does.
    state.displaySize = `${message.width}x${message.height}`;
    break;
  case 'clipboard':
    if (typeof message.text === 'string') clipboard.fromVm(message.text);
    break;
  case 'error':
    state.errors.push(message.message);
    toolbar.refused(message.message);
    console.warn('vmcast refused:', message.message);
    break;
  case 'notice':
    // The last picture stays meanwhile.
    if (typeof message.text !== 'string') break;
    pictureNotice = message.text;
    showNotice(pictureNotice);
    break;
  case 'leds':
  case 'typing':
    toolbar.handle(message);
    break;
  case 'microphone':
    if (message.state === 'taken') microphone.taken();
    break;
  case 'bye':
    state.ended = message.reason;
    showNotice(message.reason);
    break;
  }
}

function startPeer() {
  teardown();
  state.ended = '';
  peer = new RTCPeerConnection({ iceServers: [] });
  // The picture and, when the VM has some, its sound: one stream, which the browser plays in
  // step.
  const remote = new MediaStream();
  peer.ontrack = (event) => {
    // Show frames as they come: a remote screen wants no playout buffer (sound keeps the
    // browser's, or it breaks up).
    if (event.track.kind === 'video' && 'jitterBufferTarget' in event.receiver)
      event.receiver.jitterBufferTarget = 0;
    remote.addTrack(event.track);
    audio.trackArrived(event.track);
    if (video.srcObject !== remote) video.srcObject = remote;
    video.play().catch(() => {});
  };
  peer.ondatachannel = (event) => {
    if (event.channel.label !== 'input') return;
    channel = event.channel;
    channel.addEventListener('open', view.channelOpened);
  };
  peer.onicecandidate = (event) => {
    if (event.candidate)
      send({ type: 'ice', candidate: event.candidate.candidate,
        sdpMLineIndex: event.candidate.sdpMLineIndex });
  };
  peer.onconnectionstatechange = () => {
    if (peer.connectionState === 'connected') {
      reconnectDelay = 500;
      showNotice(pictureNotice);
      setPhase('connected', 'connected');
    } else if (peer.connectionState === 'failed' && socket) {
      socket.close();
    }
  };
  statsTimer = setInterval(updateStats, 1000);
}

function fillPicker(consoles, current) {
  picker.replaceChildren(...consoles.map((c) => {
    const option = document.createElement('option');
    option.value = String(c.index);
    option.textContent = `${c.index}: ${c.label}`;
    option.selected = c.index === current;
    return option;
  }));
  pickerLabel.hidden = consoles.length < 2;
}

picker.addEventListener('change', () => {
  consoleIndex = picker.value;
  const url = new URL(location.href);
  url.searchParams.set('console', consoleIndex);
  history.replaceState(null, '', url);
  if (socket) socket.close();
});

let lastStats = null;
async function updateStats() {
  if (!peer) return;
  const report = await peer.getStats();
  let inbound = null;
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') inbound = s;
    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
  });
  if (!inbound) return;
  const now = { time: inbound.timestamp, bytes: inbound.bytesReceived,
    delay: inbound.jitterBufferDelay || 0, emitted: inbound.jitterBufferEmittedCount || 0 };
  state.framesDecoded = inbound.framesDecoded || 0;
  state.fps = inbound.framesPerSecond || 0;
  if (lastStats) {
    const seconds = (now.time - lastStats.time) / 1000;
    state.kbps = seconds > 0 ? Math.round((now.bytes - lastStats.bytes) * 8 / 1000 / seconds) : 0;
    const frames = now.emitted - lastStats.emitted;
    const buffered = frames > 0 ? (now.delay - lastStats.delay) / frames : 0;
    const network = pair && pair.currentRoundTripTime ? pair.currentRoundTripTime / 2 : 0;
    state.latencyMs = Math.round((buffered + network) * 1000);
  }
  lastStats = now;
  if (state.phase === 'connected') {
    const size = video.videoWidth ? `${video.videoWidth}×${video.videoHeight}` : '';
    const mode = state.access === 'full' ? '' : ' · view only';
    statusText.textContent = `${state.vm} · connected · ${size} ${state.codec} · ` +
      `${Math.round(state.fps)} fps · ${state.latencyMs} ms · ${state.kbps} kbit/s${mode}`;
  }
}

// The decoded picture as RGBA, for tests and screenshots.
function captureFrame() {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0);
  return canvas.toDataURL('image/png');
}

// Keyboard: physical keys; the same key held down repeats in the guest as it would locally.
function onKey(event, down) {
  if (state.access !== 'full' || !channel) return;
  if (!event.code) return; // composed input without a key (IME): nothing to press
  // Typing into the clipboard panel or the toolbar's controls; but a key the guest holds is let
  // go wherever its release lands (Shift held on the picture, then a toolbar button clicked).
  const held = !down && heldKeys.has(event.code);
  if (!held && (clipboard.inPanel(event.target) || toolbar.owns(event.target))) return;
  syncModifiers(event);
  if (down) heldKeys.add(event.code); else heldKeys.delete(event.code);
  const code = event.code;
  const press = (isDown) => sendInput({ type: 'key', code, down: isDown });
  if (down && !event.repeat && clipboard.holdPasteShortcut(event, press)) return;
  event.preventDefault();
  if (!down && clipboard.holdsRelease(code)) return;
  press(down);
}

// Some key events say Shift or Control is down without a key event for it (on-screen
// keyboards, automation, a modifier pressed while the page had no focus). The guest then gets
// the modifier pressed for it, and released once events say it is up. Modifiers the user
// really pressed are left alone, so AltGr and right-hand modifiers keep working.
const syncedModifiers = [['shiftKey', 'ShiftLeft', 'Shift'], ['ctrlKey', 'ControlLeft', 'Control']];
const syntheticKeys = new Set();
function syncModifiers(event) {
  for (const [flag, code, family] of syncedModifiers) {
    if (event.code.startsWith(family)) continue;
    const pressed = [...heldKeys].some((held) => held.startsWith(family));
    if (event[flag] && !pressed) {
      syntheticKeys.add(code);
      heldKeys.add(code);
      sendInput({ type: 'key', code, down: true });
    } else if (!event[flag] && syntheticKeys.delete(code)) {
      heldKeys.delete(code);
      sendInput({ type: 'key', code, down: false });
    }
  }
}
window.addEventListener('keydown', (event) => onKey(event, true));
window.addEventListener('keyup', (event) => onKey(event, false));

function releaseEverything() {
  clipboard.releaseShortcut();
  if (heldKeys.size || heldButtons.size || touch.active()) sendInput({ type: 'release' });
  touch.forget();
  heldKeys.clear();
  syntheticKeys.clear();
  heldButtons.clear();
}
window.addEventListener('blur', releaseEverything);
document.addEventListener('visibilitychange', () => { if (document.hidden) releaseEverything(); });

// Mouse and touch: console pixels from where the picture is drawn inside the video element
// (scaled, zoomed or scrolled), clamped into the console when clamp is set, else null outside.
function consolePoint(event, clamp = false) {
  const box = video.getBoundingClientRect();
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!width || !height) return null;
  const scale = Math.min(box.width / width, box.height / height);
  const left = box.left + (box.width - width * scale) / 2;
  const top = box.top + (box.height - height * scale) / 2;
  const x = Math.floor((event.clientX - left) / scale);
  const y = Math.floor((event.clientY - top) / scale);
  const within = (value, size) => Math.min(size - 1, Math.max(0, value));
  if (clamp) return { x: within(x, width), y: within(y, height) };
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  return { x, y };
}

// Browser buttons 0 1 2 3 4 are QEMU's left, middle, right, side and extra (5, 6).
const qemuButton = [0, 1, 2, 5, 6];

video.addEventListener('mousemove', (event) => {
  if (state.access !== 'full') return;
  if (state.absolute) {
    const point = consolePoint(event);
    if (point) sendInput({ type: 'move', x: point.x, y: point.y });
  } else if (document.pointerLockElement === video) {
    sendInput({ type: 'motion', dx: Math.round(event.movementX),
      dy: Math.round(event.movementY) });
  }
});
video.addEventListener('mousedown', (event) => {
  if (state.access !== 'full' || event.button >= qemuButton.length) return;
  event.preventDefault();
  stage.focus();
  if (!state.absolute && document.pointerLockElement !== video) {
    // A relative mouse needs the pointer captured; the first click only captures it.
    video.requestPointerLock();
    return;
  }
  if (state.absolute) {
    const point = consolePoint(event);
    if (point) sendInput({ type: 'move', x: point.x, y: point.y });
  }
  heldButtons.add(event.button);
  sendInput({ type: 'button', button: qemuButton[event.button], down: true });
});
window.addEventListener('mouseup', (event) => {
  if (!heldButtons.delete(event.button)) return;
  sendInput({ type: 'button', button: qemuButton[event.button], down: false });
});
video.addEventListener('contextmenu', (event) => event.preventDefault());

// Wheel: one guest step per notch (100 pixels or 3 lines of scrolling).
let wheelX = 0;
let wheelY = 0;
video.addEventListener('wheel', (event) => {
  if (state.access !== 'full') return;
  event.preventDefault();
  const unit = event.deltaMode === WheelEvent.DOM_DELTA_LINE ? 3 :
    event.deltaMode === WheelEvent.DOM_DELTA_PAGE ? 1 : 100;
  wheelX += event.deltaX / unit;
  wheelY += event.deltaY / unit;
  const dx = Math.trunc(wheelX);
  const dy = Math.trunc(wheelY);
  if (!dx && !dy) return;
  wheelX -= dx;
  wheelY -= dy;
  sendInput({ type: 'wheel', dx, dy });
}, { passive: false });

connect();
