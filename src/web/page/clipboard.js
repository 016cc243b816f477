// The VM's text clipboard on vmcast's page. What the guest copies shows in the clipboard panel
// and goes to the system clipboard where the browser allows it (a focused page in a secure
// context: https, or http on localhost). What the user pastes into the page (Ctrl+V, Cmd+V,
// Shift+Insert) or sends from the panel becomes the VM's clipboard.
'use strict';

// Pieces that fit one data channel message (64 KiB) even when JSON escapes every character.
const clipboardPieceChars = 8192;
// How long a paste shortcut waits for the browser's paste event before it goes to the guest
// without new text (the host clipboard is empty or holds no text).
const pasteWaitMs = 300;

// sendInput(message) puts a message on the input channel; canSend() says whether input is open.
function createClipboard({ sendInput, canSend, state }) {
  const panel = document.getElementById('clipboard-panel');
  const text = document.getElementById('clipboard-text');
  const toggle = document.getElementById('clipboard-toggle');
  let heldShortcut = null; // { code, press, timer, released }

  function sendToVm(value) {
    if (!canSend()) return false;
    for (let start = 0; start === 0 || start < value.length; start += clipboardPieceChars) {
      const end = start + clipboardPieceChars;
      sendInput({ type: 'clipboard', text: value.slice(start, end), last: end >= value.length });
    }
    state.clipboardSent += 1;
    return true;
  }

  // The guest copied: show it, and hand it to the system clipboard if the browser lets us.
  function fromVm(value) {
    state.vmClipboard = value;
    text.value = value;
    if (navigator.clipboard && document.hasFocus())
      navigator.clipboard.writeText(value).catch(() => {});
  }

  // Sends the held paste shortcut's key now, with its release if that came already.
  function releaseShortcut() {
    if (!heldShortcut) return;
    const { press, timer, released } = heldShortcut;
    heldShortcut = null;
    clearTimeout(timer);
    press(true);
    if (released) press(false);
  }

  // A paste shortcut's key press: left to the browser, whose paste event brings the host's
  // clipboard; the key reaches the guest after that text, so the guest pastes what the user
  // meant. Returns true when the event is taken care of this way.
  function holdPasteShortcut(event, press) {
    const paste = ((event.ctrlKey || event.metaKey) && event.code === 'KeyV') ||
      (event.shiftKey && event.code === 'Insert');
    if (!paste || !canSend()) return false;
    releaseShortcut();
    heldShortcut = { code: event.code, press, released: false,
      timer: setTimeout(releaseShortcut, pasteWaitMs) };
    return true;
  }

  // A key release: true when it belongs to a held shortcut and is sent after its press.
  function holdsRelease(code) {
    if (!heldShortcut || heldShortcut.code !== code) return false;
    heldShortcut.released = true;
    return true;
  }

  document.addEventListener('paste', (event) => {
    if (panel.contains(event.target)) return; // pasting into the panel's own text box
    const value = event.clipboardData ? event.clipboardData.getData('text/plain') : '';
    event.preventDefault();
    if (value) sendToVm(value);
    releaseShortcut();
  });
  toggle.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    if (!panel.hidden) text.focus();
  });
  document.getElementById('clipboard-send').addEventListener('click', () => {
    if (sendToVm(text.value)) panel.hidden = true;
  });

  return { fromVm, sendToVm, holdPasteShortcut, holdsRelease, releaseShortcut,
    inPanel: (node) => panel.contains(node) };
}
