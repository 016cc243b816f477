// Drives Debian's Chromium (headless) for vmcast's page tests: reads one JSON command per line
// on stdin, answers one JSON line on stdout ({"ok":true,...} or {"ok":false,"error":...}).
//   {"cmd":"open","page":NAME,"url":URL}        a new page (own browser context) at URL;
//                                                "lossy":true routes its media through a
//                                                LossyRelay (lossy-relay.mjs), loss 0 at first
//   {"cmd":"loss","page":NAME,"fraction":F}      drop that fraction of vmcast's RTP packets to
//                                                the page; answers the relay's counts so far
//   {"cmd":"state","page":NAME}                  window.vmcast.state
//   {"cmd":"frame","page":NAME}                  the decoded picture as a PNG data URL
//   {"cmd":"type","page":NAME,"text":TEXT}       typed key by key as on a US keyboard, with
//                                                Shift pressed and released around shifted keys
//   {"cmd":"press","page":NAME,"keys":KEYS}      one Playwright key chord, e.g. "Control+V", to
//                                                vmcast's page, or to the element "focus" names
//   {"cmd":"click","page":NAME,"x":X,"y":Y}      a left click at console pixel (x, y)
//   {"cmd":"touch","page":NAME,"type":T,"points":[{"x","y"}...]}
//                                                CDP Input.dispatchTouchEvent (T: touchStart,
//                                                touchMove, touchEnd, touchCancel) with touch
//                                                emulation on; points in console pixels
//   {"cmd":"insert","page":NAME,"text":TEXT}     TEXT inserted into the focused element as a
//                                                device keyboard does (no key events)
//   {"cmd":"viewport","page":NAME,"width":W,"height":H}   the page's window size
//   {"cmd":"download","page":NAME,"selector":S}  clicks S and answers the file it downloads:
//                                                {"name", "data" (base64)}
//   {"cmd":"activate","page":NAME,"selector":S} a left click on the page's element S, as a
//                                                person's (scrolled into view, user activation)
//   {"cmd":"pointer","page":NAME,"x":X,"y":Y}    the mouse to window pixel (x, y), no button
//   {"cmd":"eval","page":NAME,"script":JS}       the value of an expression in the page
//   {"cmd":"close","page":NAME}
// Arguments on the command line are added to Chromium's (e.g. the camera tests' flags).
import { chromium } from 'playwright-core';
import readline from 'node:readline';

import { LossyRelay, routeThroughRelay } from './lossy-relay.mjs';

const browser = await chromium.launch({
  executablePath: process.env.VMCAST_CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // WebRTC between two processes of this machine: loopback candidates, no mDNS names.
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    ...process.argv.slice(2),
  ],
});
const pages = new Map();
const relays = new Map();

// Playwright types '$' as one key event with neither Shift nor a Shift key event; a person
// presses Shift first. These are the keys US-layout characters need Shift on.
const shiftedKeys = {
  '!': 'Digit1', '@': 'Digit2', '#': 'Digit3', '$': 'Digit4', '%': 'Digit5', '^': 'Digit6',
  '&': 'Digit7', '*': 'Digit8', '(': 'Digit9', ')': 'Digit0', '_': 'Minus', '+': 'Equal',
  '{': 'BracketLeft', '}': 'BracketRight', '|': 'Backslash', ':': 'Semicolon', '"': 'Quote',
  '<': 'Comma', '>': 'Period', '?': 'Slash', '~': 'Backquote',
};

// Where console pixel (x, y) is on the page, as the picture is shown.
function clientPoint(target, x, y) {
  return target.evaluate(({ x, y }) => {
    const video = document.getElementById('screen');
    const box = video.getBoundingClientRect();
    const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
    return {
      x: box.left + (box.width - video.videoWidth * scale) / 2 + (x + 0.5) * scale,
      y: box.top + (box.height - video.videoHeight * scale) / 2 + (y + 0.5) * scale,
    };
  }, { x, y });
}

const touchSessions = new Map();
async function touchSession(name) {
  if (!touchSessions.has(name)) {
    const target = page(name);
    const session = await target.context().newCDPSession(target);
    await session.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
    touchSessions.set(name, session);
  }
  return touchSessions.get(name);
}

async function typeLikeAPerson(target, text) {
  for (const character of text) {
    const shifted = shiftedKeys[character] ||
      (character >= 'A' && character <= 'Z' ? `Key${character}` : null);
    if (shifted) {
      await target.keyboard.down('Shift');
      await target.keyboard.press(shifted);
      await target.keyboard.up('Shift');
    } else {
      await target.keyboard.press(character === '\n' ? 'Enter' : character);
    }
    await target.waitForTimeout(20);
  }
}

function page(name) {
  const found = pages.get(name);
  if (!found) throw new Error(`no page ${name}`);
  return found;
}

async function run(command) {
  switch (command.cmd) {
  case 'open': {
    // Clipboard permissions: tests put text on the system clipboard and read it back.
    const context = await browser.newContext({ viewport: { width: 1100, height: 860 },
      permissions: ['clipboard-read', 'clipboard-write'] });
    const opened = await context.newPage();
    opened.on('console', (m) => process.stderr.write(`[${command.page}] ${m.text()}\n`));
    if (command.lossy) {
      const relay = new LossyRelay();
      await relay.start();
      await routeThroughRelay(opened, relay);
      relays.set(command.page, relay);
    }
    await opened.goto(command.url);
    pages.set(command.page, opened);
    return {};
  }
  case 'state':
    return { state: await page(command.page).evaluate(() => window.vmcast.state) };
  case 'frame':
    return { png: await page(command.page).evaluate(() => window.vmcast.captureFrame()) };
  case 'type': {
    const target = page(command.page);
    await target.focus('#stage');
    await typeLikeAPerson(target, command.text);
    return {};
  }
  case 'press': {
    const target = page(command.page);
    await target.focus(command.focus || '#stage');
    await target.keyboard.press(command.keys);
    return {};
  }
  case 'hold': { // a key pressed with focus on one element and released on another
    const target = page(command.page);
    await target.focus(command.downFocus);
    await target.keyboard.down(command.key);
    await target.focus(command.upFocus);
    await target.keyboard.up(command.key);
    return {};
  }
  case 'click': {
    const target = page(command.page);
    const point = await clientPoint(target, command.x, command.y);
    await target.mouse.move(point.x, point.y);
    await target.mouse.down();
    await target.waitForTimeout(50);
    await target.mouse.up();
    return {};
  }
  case 'touch': {
    const session = await touchSession(command.page);
    const touchPoints = [];
    for (const [id, p] of command.points.entries())
      touchPoints.push({ ...(await clientPoint(page(command.page), p.x, p.y)), id });
    await session.send('Input.dispatchTouchEvent', { type: command.type, touchPoints });
    return {};
  }
  case 'insert':
    await page(command.page).keyboard.insertText(command.text);
    return {};
  case 'activate':
    await page(command.page).click(command.selector);
    return {};
  case 'pointer':
    await page(command.page).mouse.move(command.x, command.y);
    return {};
  case 'viewport':
    await page(command.page).setViewportSize({ width: command.width, height: command.height });
    return {};
  case 'download': {
    const target = page(command.page);
    const [download] = await Promise.all([target.waitForEvent('download'),
      target.click(command.selector)]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    return { name: download.suggestedFilename(), data: (await readFile(path)).toString('base64') };
  }
  case 'eval':
    return { value: await page(command.page).evaluate(command.script) };
  case 'loss': {
    const relay = relays.get(command.page);
    if (!relay) throw new Error(`page ${command.page} was not opened lossy`);
    relay.loss = command.fraction;
    return { counts: relay.counts };
  }
  case 'close': {
    const target = page(command.page);
    pages.delete(command.page);
    touchSessions.delete(command.page);
    relays.get(command.page)?.close();
    relays.delete(command.page);
    await target.context().close();
    return {};
  }
  default:
    throw new Error(`unknown command ${command.cmd}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    answer = { ok: true, ...(await run(JSON.parse(line))) };
  } catch (error) {
    answer = { ok: false, error: String(error && error.message || error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
await browser.close();
