// Touch screens. Where QEMU has multitouch (8.1 and later, with a multitouch device in the guest)
// each finger goes to the guest as a touch point. Otherwise touch drives the mouse: one finger
// moves the pointer and a tap clicks; two fingers scroll (the wheel), a two-finger tap is a right
// click, and a pinch zooms the view (not the VM). The keyboard button opens the device's keyboard.
'use strict';

// A tap moves less than this (CSS pixels) and lasts less than tapMs.
const tapSlop = 10;
const tapMs = 500;
// Two fingers moving this far (CSS pixels) make one wheel step.
const wheelStepPx = 30;
// A two-finger gesture is a pinch once the fingers' distance changes by this fraction.
const pinchThreshold = 0.15;
const touchSlots = 10; // QEMU's INPUT_EVENT_SLOTS_MAX
// consolePoint(clientPoint, clamp): console pixels {x, y} of a point of the page (clamped into
// the console when clamp is set), or null. canSend() says whether input is open; view.zoomBy
// zooms the view; toolbar types the device keyboard's text (paced, in the guest's layout).
function createTouch({ video, container, sendInput, canSend, consolePoint, state, view,
  toolbar }) {
  let gesture = null; // the mouse emulation's current gesture
  const slots = new Map(); // touch identifier -> the guest's touch slot

  const keyboardButton = document.createElement('button');
  keyboardButton.id = 'keyboard-button';
  keyboardButton.type = 'button';
  keyboardButton.textContent = 'keyboard';
  keyboardButton.title = "open the device's keyboard";
  const keyboardInput = document.createElement('input');
  keyboardInput.id = 'keyboard-input';
  keyboardInput.setAttribute('aria-label', 'keys for the VM');
  for (const [name, value] of [['autocapitalize', 'off'], ['autocomplete', 'off'],
    ['autocorrect', 'off'], ['spellcheck', 'false']]) keyboardInput.setAttribute(name, value);
  container.append(keyboardButton);
  // Outside the toolbar (hidden, so nothing in it takes focus) and the stage (whose key
  // handlers would send each key twice).
  document.body.append(keyboardInput);
  keyboardButton.addEventListener('click', () => keyboardInput.focus());

  // Device keyboards send characters, not keys (their key events say "Unidentified").
  keyboardInput.addEventListener('beforeinput', (event) => {
    if (!canSend()) return;
    if (event.inputType === 'insertText' && event.data) toolbar.typeFromDevice(event.data);
    else if (event.inputType === 'insertLineBreak' || event.inputType === 'insertParagraph')
      toolbar.tapFromDevice('Enter');
    else if (event.inputType === 'deleteContentBackward') toolbar.tapFromDevice('Backspace');
    else return;
    event.preventDefault();
  });
  // Composed text (predictive keyboards) cannot be held back: it is sent once it lands.
  keyboardInput.addEventListener('input', () => {
    if (canSend() && keyboardInput.value) toolbar.typeFromDevice(keyboardInput.value);
    keyboardInput.value = '';
  });

  const point = (touch, clamp = false) => consolePoint(touch, clamp);
  const middle = (a, b) => ({ clientX: (a.clientX + b.clientX) / 2,
    clientY: (a.clientY + b.clientY) / 2 });
  const distance = (a, b) => Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);

  function click(button, at) {
    if (state.absolute && at) sendInput({ type: 'move', x: at.x, y: at.y });
    sendInput({ type: 'button', button, down: true });
    sendInput({ type: 'button', button, down: false });
  }

  function sendTouches(event, kind) {
    for (const touch of event.changedTouches) {
      let slot = slots.get(touch.identifier);
      if (slot === undefined) {
        if (kind !== 'begin') continue;
        slot = [...Array(touchSlots).keys()].find((s) => ![...slots.values()].includes(s));
        if (slot === undefined) continue; // more fingers than the guest takes
        slots.set(touch.identifier, slot);
      }
      const at = point(touch, true);
      if (at) sendInput({ type: 'touch', kind, slot, x: at.x, y: at.y });
      if (kind === 'end' || kind === 'cancel') slots.delete(touch.identifier);
    }
  }

  function start(event) {
    const [first, second] = event.touches;
    const now = performance.now();
    if (event.touches.length === 1) {
      gesture = { fingers: 1, start: first, last: first, time: now, moved: false };
      const at = point(first);
      if (at && state.absolute) sendInput({ type: 'move', x: at.x, y: at.y });
    } else if (event.touches.length === 2) {
      const mid = middle(first, second);
      gesture = { fingers: 2, startDistance: distance(first, second), lastDistance:
        distance(first, second), start: mid, last: mid, time: now, moved: false, pinch: false,
        wheelX: 0, wheelY: 0 };
    } else {
      gesture = { fingers: event.touches.length, moved: true };
    }
  }

  function move(event) {
    if (!gesture) return;
    const [first, second] = event.touches;
    if (gesture.fingers === 1 && event.touches.length === 1) {
      const moved = distance(first, gesture.start) > tapSlop;
      gesture.moved = gesture.moved || moved;
      if (state.absolute) {
        const at = point(first);
        if (at) sendInput({ type: 'move', x: at.x, y: at.y });
      } else {
        // Console pixels per CSS pixel, as the picture is shown.
        const box = video.getBoundingClientRect();
        const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
        const dx = Math.round((first.clientX - gesture.last.clientX) / scale);
        const dy = Math.round((first.clientY - gesture.last.clientY) / scale);
        if (dx || dy) sendInput({ type: 'motion', dx, dy });
      }
      gesture.last = first;
    } else if (gesture.fingers === 2 && event.touches.length === 2) {
      const mid = middle(first, second);
      const spread = distance(first, second);
      gesture.moved = gesture.moved || distance(mid, gesture.start) > tapSlop;
      if (!gesture.pinch &&
          Math.abs(spread / gesture.startDistance - 1) > pinchThreshold) gesture.pinch = true;
      if (gesture.pinch) {
        view.zoomBy(spread / gesture.lastDistance, mid.clientX, mid.clientY,
          mid.clientX - gesture.last.clientX, mid.clientY - gesture.last.clientY);
      } else {
        // The content follows the fingers, as a touch screen scrolls: fingers up, wheel down.
        gesture.wheelX += (gesture.last.clientX - mid.clientX) / wheelStepPx;
        gesture.wheelY += (gesture.last.clientY - mid.clientY) / wheelStepPx;
        const dx = Math.trunc(gesture.wheelX);
        const dy = Math.trunc(gesture.wheelY);
        if (dx || dy) {
          gesture.wheelX -= dx;
          gesture.wheelY -= dy;
          sendInput({ type: 'wheel', dx, dy });
        }
      }
      gesture.last = mid;
      gesture.lastDistance = spread;
    }
  }

  function end(event) {
    if (!gesture || event.touches.length > 0) return;
    const quick = performance.now() - gesture.time < tapMs;
    if (quick && !gesture.moved && gesture.fingers === 1) click(0, point(gesture.start));
    if (quick && !gesture.moved && !gesture.pinch && gesture.fingers === 2)
      click(2, point(gesture.start));
    gesture = null;
  }

  const handlers = {
    touchstart: (event) => (state.multitouch ? sendTouches(event, 'begin') : start(event)),
    touchmove: (event) => (state.multitouch ? sendTouches(event, 'update') : move(event)),
    touchend: (event) => (state.multitouch ? sendTouches(event, 'end') : end(event)),
    touchcancel: (event) => (state.multitouch ? sendTouches(event, 'cancel') : (gesture = null)),
  };
  for (const [type, handle] of Object.entries(handlers)) {
    video.addEventListener(type, (event) => {
      // No emulated mouse events, page zoom or scrolling: the fingers are the VM's.
      event.preventDefault();
      if (canSend()) handle(event);
      // Touches dropped while input was closed must not keep their slots.
      if (event.touches.length === 0) slots.clear();
    }, { passive: false });
  }

  return {
    // Fingers on the VM's screen, which the page's "release" lifts in the guest.
    active: () => slots.size,
    // The page let go of everything (blur) or lost its connection: no finger is down any more.
    forget() {
      slots.clear();
      gesture = null;
    },
  };
}
