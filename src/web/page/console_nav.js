// The console page's place among the VMs: a link back to the list of VMs, and which VM and
// console the page shows (from its address at once, so also while the VM is stopped; the label
// once vmcast says hello).
'use strict';

function showPlace(vm, index, label) {
  const place = document.getElementById('place');
  const which = index === '' || index === undefined ? '' : ` · console ${index}`;
  place.textContent = `${vm}${which}${label ? ` (${label})` : ''}`;
  document.title = `${vm} · vmcast`;
}

(() => {
  const params = new URLSearchParams(location.search);
  const back = new URL('/', location.href);
  back.search = new URLSearchParams({ token: params.get('token') || '' }).toString();
  document.getElementById('list-link').href = back.href;
  if (params.get('vm')) showPlace(params.get('vm'), params.get('console') || '');
})();
