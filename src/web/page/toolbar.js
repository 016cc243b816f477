// The page's toolbar: fullscreen (with the Keyboard Lock API where the browser has it), key
// combinations a browser cannot send, "type text" in the guest's keyboard layout, and the
// guest's Caps/Num/Scroll Lock lights. It hides itself at the top of the picture and shows when
// the pointer comes near the top edge, when it has focus, or when its handle is tapped.
// Combinations and typed text are one message each; vmcast presses and releases the keys,
// paced for QEMU's keyboard queue, and lets go of them if the page goes away meanwhile.
'use strict';

// Shown while the pointer is this close to the top edge of the picture.
const toolbarEdgePx = 24;
const toolbarHideDelayMs = 1500;
// A typed text is answered within a round trip; this long without an answer, it was dropped.
const typingAnswerMs = 5000;
// Keys a browser without Keyboard Lock keeps for itself, even in fullscreen.
const browserKeptKeys = 'Esc (leaves fullscreen), Ctrl+W, Ctrl+T, Ctrl+N, Ctrl+Tab, Alt+Tab, ' +
  'Alt+F4 and the Windows key';

// sendInput(message) puts a message on the input channel; canSend() says whether input is open.
function createToolbar({ sendInput, canSend, state }) {
  const bar = document.getElementById('toolbar');
  const handle = document.getElementById('toolbar-handle');
  const stage = document.getElementById('stage');
  const fullscreenButton = document.getElementById('fullscreen-button');
  const lockNote = document.getElementById('keyboard-lock-note');
  const keysButton = document.getElementById('keys-button');
  const keysMenu = document.getElementById('keys-menu');
  const typeButton = document.getElementById('type-button');
  const typePanel = document.getElementById('type-panel');
  const typeText = document.getElementById('type-text');
  const typeLayout = document.getElementById('type-layout');
  const typeStart = document.getElementById('type-start');
  const typeCancel = document.getElementById('type-cancel');
  const typeMessage = document.getElementById('type-message');
  const fullAccessOnly = [keysButton, typeButton];
  const popups = [[keysButton, keysMenu], [typeButton, typePanel]];
  let hideTimer = null;

  Object.assign(state, { leds: { caps: false, num: false, scroll: false }, fullscreen: false,
    keyboardLock: 'off', typing: 'idle' });

  // Showing and hiding.
  function show() {
    clearTimeout(hideTimer);
    bar.classList.add('shown');
  }
  function openPopup() {
    return popups.some(([, popup]) => !popup.hidden);
  }
  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => {
      if (!openPopup() && !bar.contains(document.activeElement) && !bar.matches(':hover'))
        bar.classList.remove('shown');
    }, toolbarHideDelayMs);
  }
  stage.addEventListener('mousemove', (event) => {
    if (event.clientY - stage.getBoundingClientRect().top <= toolbarEdgePx) show();
    else if (!bar.contains(event.target)) hideSoon();
  });
  bar.addEventListener('mouseleave', hideSoon);
  bar.addEventListener('focusin', show);
  bar.addEventListener('focusout', hideSoon);
  // For touch screens and keyboards (the pointer near the edge shows the toolbar already).
  handle.addEventListener('click', () => {
    show();
    fullscreenButton.focus();
  });

  // Menus and panels: one open at a time; Esc closes it and gives focus back to its button.
  function setPopup(button, popup, open) {
    popup.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  }
  function closePopups() {
    for (const [button, popup] of popups) setPopup(button, popup, false);
  }
  for (const [button, popup] of popups) {
    button.addEventListener('click', () => {
      const open = popup.hidden;
      closePopups();
      setPopup(button, popup, open);
      if (open) (popup.querySelector('textarea, [role=menuitem]') || popup).focus();
      show();
    });
  }
  bar.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const open = popups.find(([, popup]) => !popup.hidden);
    if (!open) return;
    event.preventDefault();
    setPopup(open[0], open[1], false);
    open[0].focus();
  });
  // Arrow keys move through the combinations menu.
  keysMenu.addEventListener('keydown', (event) => {
    const items = [...keysMenu.querySelectorAll('[role=menuitem]')];
    const at = items.indexOf(document.activeElement);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step || at < 0) return;
    event.preventDefault();
    items[(at + step + items.length) % items.length].focus();
  });

  // Key combinations.
  for (let number = 1; number <= 12; number++) {
    const item = document.createElement('button');
    Object.assign(item, { type: 'button', textContent: `Ctrl+Alt+F${number}` });
    item.setAttribute('role', 'menuitem');
    item.dataset.combo = `ctrl-alt-f${number}`;
    keysMenu.append(item);
  }
  keysMenu.addEventListener('click', (event) => {
    const item = event.target.closest('[data-combo]');
    if (!item || !canSend()) return;
    sendInput({ type: 'combo', name: item.dataset.combo });
    setPopup(keysButton, keysMenu, false);
    stage.focus();
  });

  // Type text.
  // The layout picked last time, if this page still offers it.
  typeLayout.value = localStorage.getItem('vmcast.layout') || 'us';
  if (!typeLayout.value) typeLayout.value = 'us';
  typeLayout.addEventListener('change', () => localStorage.setItem('vmcast.layout',
    typeLayout.value));
  let sentTimer = null;
  function setTyping(typing, message) {
    state.typing = typing;
    typeCancel.hidden = typing !== 'typing';
    typeStart.disabled = typing === 'typing' || typing === 'sent';
    typeMessage.textContent = message;
    // vmcast answers every text it takes; one it dropped (input flood) or whose refusal it held
    // back (too many errors) gets no answer, and must not keep the panel waiting.
    clearTimeout(sentTimer);
    if (typing === 'sent') sentTimer = setTimeout(() => {
      setTyping('refused', 'no answer from vmcast (input sent too fast?): try again');
      sendQueued();
    }, typingAnswerMs);
  }
  const typingBusy = () => state.typing === 'sent' || state.typing === 'typing';
  function sendText(text) {
    sendInput({ type: 'type', text, layout: typeLayout.value || 'us' });
    setTyping('sent', 'typing…');
  }
  typeStart.addEventListener('click', () => {
    if (!typeText.value || !canSend()) return;
    sendText(typeText.value);
  });
  typeCancel.addEventListener('click', () => sendInput({ type: 'cancel-typing' }));

  // The device keyboard's text and keys, in order: vmcast types one text at a time.
  const deviceQueue = [];
  function sendQueued() {
    while (deviceQueue.length && !typingBusy()) {
      if (!canSend()) {
        deviceQueue.length = 0;
        return;
      }
      const { text, code } = deviceQueue.shift();
      if (text) {
        sendText(text);
      } else {
        sendInput({ type: 'key', code, down: true });
        sendInput({ type: 'key', code, down: false });
      }
    }
  }

  // Fullscreen, with the keyboard locked to the page where the browser can.
  fullscreenButton.addEventListener('click', async () => {
    if (document.fullscreenElement) {
      await document.exitFullscreen().catch(() => {});
      return;
    }
    try {
      await document.documentElement.requestFullscreen({ navigationUI: 'hide' });
    } catch (error) {
      lockNote.textContent = `fullscreen refused: ${error.message}`;
      lockNote.hidden = false;
    }
  });
  document.addEventListener('fullscreenchange', async () => {
    state.fullscreen = !!document.fullscreenElement;
    fullscreenButton.setAttribute('aria-pressed', String(state.fullscreen));
    fullscreenButton.textContent = state.fullscreen ? 'exit fullscreen' : 'fullscreen';
    if (!state.fullscreen) {
      if (navigator.keyboard && navigator.keyboard.unlock) navigator.keyboard.unlock();
      state.keyboardLock = 'off';
      lockNote.hidden = true;
      return;
    }
    if (navigator.keyboard && navigator.keyboard.lock) {
      try {
        await navigator.keyboard.lock();
        state.keyboardLock = 'active';
        lockNote.textContent = 'All keys go to the VM; hold Esc to leave fullscreen.';
      } catch (error) {
        state.keyboardLock = 'failed';
        lockNote.textContent = `The browser keeps ${browserKeptKeys} (keyboard lock: ` +
          `${error.message}); the Keys menu sends them.`;
      }
    } else {
      state.keyboardLock = 'unsupported';
      lockNote.textContent = `This browser keeps ${browserKeptKeys}; the Keys menu sends them.`;
    }
    lockNote.hidden = false;
    stage.focus();
  });

  function showLeds(bits) {
    state.leds = { scroll: !!(bits & 1), num: !!(bits & 2), caps: !!(bits & 4) };
    for (const name of ['caps', 'num', 'scroll'])
      document.getElementById(`led-${name}`).classList.toggle('on', state.leds[name]);
    document.getElementById('leds').title = ['caps', 'num', 'scroll']
      .map((name) => `${name} lock ${state.leds[name] ? 'on' : 'off'}`).join(', ');
  }

  return {
    // Whether a key event's target is one of the toolbar's controls or its handle (not for
    // the VM).
    owns: (target) => target instanceof Node && (bar.contains(target) || handle === target),
    setAccess(access) {
      for (const control of fullAccessOnly) control.hidden = access !== 'full';
      if (access !== 'full') closePopups();
    },
    // vmcast's "leds" and "typing" messages.
    handle(message) {
      if (message.type === 'leds' && Number.isInteger(message.leds)) {
        showLeds(message.leds);
      } else if (message.type === 'typing') {
        const words = { started: 'typing…', done: 'typed', cancelled: 'cancelled' };
        if (message.state in words)
          setTyping(message.state === 'started' ? 'typing' : message.state, words[message.state]);
        sendQueued();
      }
    },
    // vmcast refused something: shown in the type panel while it waits for an answer.
    refused(text) {
      if (state.typing !== 'sent') return;
      setTyping('refused', text);
      sendQueued();
    },
    // The connection is gone: whatever was being typed stopped with it.
    disconnected() {
      deviceQueue.length = 0;
      if (typingBusy()) setTyping('idle', '');
    },
    // The device keyboard's characters, typed in the type panel's layout, and its keys (Enter,
    // Backspace), each after what came before it.
    typeFromDevice(text) {
      deviceQueue.push({ text });
      sendQueued();
    },
    tapFromDevice(code) {
      deviceQueue.push({ code });
      sendQueued();
    },
  };
}
