// How the console's picture fills the page: fit to the window (default), 1:1 (one console pixel
// per screen pixel, scrolling), or the VM's display resized to the window. Also the view's zoom
// (a touch screen's pinch) and the screenshot button.
//
// Resize-to-window asks for the window's size in device pixels (CSS pixels × devicePixelRatio),
// so the guest's picture lands 1:1 on the screen's pixels, with the window's physical size at
// 96 CSS pixels per inch, so a guest that reads its display's DPI scales its text for it.
'use strict';

// The VM is asked once the window stops changing size (dragging a window edge makes dozens).
const resizeSettleMs = 400;
// What vmcast takes (src/web/messages.h); a smaller or larger window asks for the nearest.
const displayLimits = { minWidth: 320, minHeight: 200, max: 8192 };
const scaleModes = [['fit', 'fit'], ['native', '1:1'], ['resize', 'resize VM']];

// container: where the controls go. sendInput(message) puts a message on the input channel;
// canResize() says whether this viewer may resize the VM (full access, channel open);
// screenshotUrl() is the address of this console's screenshot; report(text) tells the user.
function createView({ stage, video, container, sendInput, canResize, screenshotUrl, report }) {
  let mode = scaleModes.some(([name]) => name === localStorage.getItem('vmcast.scale')) ?
    localStorage.getItem('vmcast.scale') : 'fit';
  let zoom = { scale: 1, x: 0, y: 0 }; // the pinch's, on top of the mode's
  let resizeTimer = null;
  let sentSize = '';

  const picker = document.createElement('select');
  picker.id = 'scale-mode';
  picker.title = 'how the picture fills the window';
  picker.setAttribute('aria-label', 'scaling');
  picker.replaceChildren(...scaleModes.map(([name, label]) => new Option(label, name)));
  const shot = document.createElement('button');
  shot.id = 'screenshot';
  shot.type = 'button';
  shot.textContent = 'screenshot';
  shot.title = 'save the console as a PNG, at its own size';
  container.append(picker, shot);

  function applyMode() {
    picker.value = mode;
    stage.dataset.scale = mode;
    const native = mode === 'native' && video.videoWidth > 0;
    video.style.width = native ? `${video.videoWidth / devicePixelRatio}px` : '';
    video.style.height = native ? `${video.videoHeight / devicePixelRatio}px` : '';
    applyZoom();
  }

  function applyZoom() {
    video.style.transform = zoom.scale === 1 ? '' :
      `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})`;
  }

  // The stage's size as the VM's display, within what vmcast takes.
  function wantedSize() {
    const clamp = (value, min) => Math.min(displayLimits.max, Math.max(min, Math.round(value)));
    const mm = (css) => Math.min(10000, Math.round(css * 25.4 / 96));
    return { type: 'resize',
      width: clamp(stage.clientWidth * devicePixelRatio, displayLimits.minWidth),
      height: clamp(stage.clientHeight * devicePixelRatio, displayLimits.minHeight),
      widthMm: mm(stage.clientWidth), heightMm: mm(stage.clientHeight) };
  }

  function sendSize(always) {
    resizeTimer = null;
    if (mode !== 'resize' || !canResize()) return;
    const size = wantedSize();
    const key = `${size.width}x${size.height}`;
    if (!always && key === sentSize) return;
    sentSize = key;
    sendInput(size);
  }

  function scheduleResize() {
    if (mode !== 'resize') return;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => sendSize(false), resizeSettleMs);
  }

  picker.addEventListener('change', () => {
    mode = picker.value;
    localStorage.setItem('vmcast.scale', mode);
    zoom = { scale: 1, x: 0, y: 0 };
    applyMode();
    if (mode === 'resize') sendSize(true);
  });
  new ResizeObserver(scheduleResize).observe(stage);
  video.addEventListener('resize', applyMode); // the console's size changed

  shot.addEventListener('click', async () => {
    shot.disabled = true;
    try {
      const answer = await fetch(screenshotUrl(), { cache: 'no-store' });
      if (!answer.ok) throw new Error((await answer.text()).trim() || `HTTP ${answer.status}`);
      const name = /filename="([^"]+)"/.exec(answer.headers.get('Content-Disposition') || '');
      const link = document.createElement('a');
      link.href = URL.createObjectURL(await answer.blob());
      link.download = name ? name[1] : 'vm-console.png';
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    } catch (error) {
      report(`screenshot failed: ${error.message}`);
    } finally {
      shot.disabled = false;
    }
  });

  applyMode();
  return {
    // Only a full-access viewer may resize the VM; a view-only one keeps the other modes.
    setAccess(access) {
      const resize = picker.querySelector('option[value=resize]');
      resize.disabled = access !== 'full';
      resize.title = resize.disabled ? 'resizing the VM needs the full-access link' : '';
      if (resize.disabled && mode === 'resize') {
        mode = 'fit'; // for this page only: the stored choice stays for full access
        applyMode();
      }
    },
    // A new input channel: the VM hears the window's size again (vmcast or the VM restarted).
    channelOpened: () => sendSize(true),
    // Pinch: the view scaled by factor about client point (x, y), then moved by (dx, dy).
    zoomBy(factor, x, y, dx, dy) {
      const box = stage.getBoundingClientRect();
      const scale = Math.min(8, Math.max(1, zoom.scale * factor));
      const applied = scale / zoom.scale;
      const originX = x - box.left;
      const originY = y - box.top;
      zoom = { scale, x: originX - (originX - zoom.x) * applied + dx,
        y: originY - (originY - zoom.y) * applied + dy };
      if (scale === 1) zoom = { scale: 1, x: 0, y: 0 };
      applyZoom();
    },
  };
}
