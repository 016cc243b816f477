// vmcast's list of VMs: every VM vmcast has streamed since it started, running or stopped, and
// each console as a link to its stable address (the console's page, with this page's token).
// It asks vmcast again every second. Names and labels come from QEMU: they go into the page as
// text only, never as markup.
'use strict';

const token = new URLSearchParams(location.search).get('token') || '';
const list = document.getElementById('vms');
const listStatus = document.getElementById('list-status');
let shown = null; // the answer the list shows, to leave the DOM alone while nothing changes

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function consoleUrl(vm, index) {
  const url = new URL('/', location.href);
  url.search = new URLSearchParams({ vm, console: String(index), token }).toString();
  return url.href;
}

// Only running and stopped are shown: anything else from the network becomes stopped.
function stateBadge(running) {
  const state = running ? 'running' : 'stopped';
  return element('span', `state ${state}`, state);
}

function vmItem(vm) {
  const running = vm.state === 'running';
  const consoles = element('ul', 'consoles');
  for (const shownConsole of Array.isArray(vm.consoles) ? vm.consoles : []) {
    if (!Number.isInteger(shownConsole.index) || shownConsole.index < 0) continue;
    const label = typeof shownConsole.label === 'string' && shownConsole.label ?
      ` (${shownConsole.label})` : '';
    const link = element('a', 'console-link', `console ${shownConsole.index}${label}`);
    link.href = consoleUrl(vm.name, shownConsole.index);
    const item = element('li', 'console');
    item.append(link, ' ', stateBadge(running));
    consoles.append(item);
  }
  const item = element('li', 'vm');
  item.append(element('span', 'vm-name', vm.name), ' ', stateBadge(running), consoles);
  return item;
}

function render(vms) {
  const valid = vms.filter((vm) => vm && typeof vm.name === 'string' && vm.name !== '');
  list.replaceChildren(...valid.map(vmItem));
  const running = valid.filter((vm) => vm.state === 'running').length;
  listStatus.textContent = valid.length ?
    `${valid.length} VM${valid.length === 1 ? '' : 's'}, ${running} running` :
    'No VM yet: each VM shows here as vmcast finds it.';
}

async function refresh() {
  let answer;
  try {
    answer = await fetch(`/vms?token=${encodeURIComponent(token)}`, { cache: 'no-store' });
  } catch {
    listStatus.textContent = 'vmcast is not reachable; trying again…';
    setTimeout(refresh, 1000);
    return;
  }
  if (answer.status === 403) {
    // A token vmcast does not know: no retry helps, and nothing about the VMs stays shown.
    const reason = (await answer.text()).trim();
    list.replaceChildren();
    shown = null;
    listStatus.textContent = `vmcast refused this page: ${reason}. Open the address vmcast printed.`;
    return;
  }
  if (answer.ok) {
    const text = await answer.text();
    if (text !== shown) {
      let vms = null;
      try { vms = JSON.parse(text).vms; } catch { vms = null; }
      if (Array.isArray(vms)) {
        render(vms);
        shown = text;
      }
    }
  } else {
    listStatus.textContent = `vmcast answered ${answer.status}; trying again…`;
    shown = null;
  }
  setTimeout(refresh, 1000);
}

refresh();
