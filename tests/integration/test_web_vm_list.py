"""The page's list of VMs in headless Chromium, with real QEMU 7.2 (SeaBIOS's text screen, no
guest) on one bus. QMP screendump is the picture's oracle.

  vmcast run --web ... prints "vmcast: VMs at http://ADDR/?token=FULL" and
      "vmcast: VMs, view only: http://ADDR/?token=VIEW" once at start. /?token=T lists every VM
      vmcast has streamed since it started, running or stopped, and each console as a link to
      its stable address /?vm=NAME&console=N&token=T (the list's token); the list follows the
      VMs by itself (its data: /vms?token=T). Without a valid token the list and /vms answer
      403 and say nothing about the VMs.

Meson runs this file inside a network namespace that has only loopback (unshare --net).
"""
from __future__ import annotations

import re
import urllib.parse

from vmcast_testlib import Qemu, wait_for
from web_page import (FULL_TOKEN, VIEW_TOKEN, browser, http_status,  # noqa: F401
                      wait_page_shows, wait_running, web)

WRONG_TOKEN = "wrong-token-0000000000"
SECOND_CONSOLE = ["-device", "VGA,id=vga1"]  # SeaBIOS draws on it (Console_1)

# The list as its user reads it: each VM's name and state, and each console's line.
READ_LIST = """[...document.querySelectorAll('#vms > li.vm')].map(vm => ({
    name: vm.querySelector('.vm-name').textContent,
    state: vm.querySelector(':scope > .state').textContent,
    consoles: [...vm.querySelectorAll('li.console')].map(c => c.innerText.trim()),
    links: [...vm.querySelectorAll('a')].map(a => a.href)}))"""


def list_shows(browser, page: str, expected: dict[str, tuple[str, list[int]]]):
    """The list when it shows exactly the expected {name: (state, console indexes)}."""
    shown = browser.eval(page, READ_LIST)
    if shown is None or [vm["name"] for vm in shown] != sorted(expected):
        return None
    for vm in shown:
        state, consoles = expected[vm["name"]]
        if vm["state"] != state or len(vm["consoles"]) != len(consoles):
            return None
        for index, line in zip(consoles, vm["consoles"]):
            if not re.fullmatch(rf"console {index}( \(.+\))? {state}", line):
                return None
    return shown


def wait_list(browser, page: str, expected: dict[str, tuple[str, list[int]]], what: str):
    try:
        return wait_for(lambda: list_shows(browser, page, expected), 30, 0.5, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the list shows {browser.eval(page, READ_LIST)}") from None


def click_console(browser, page: str, vm: str, index: int) -> None:
    """Clicks the console's link in the list (after this call returns: the page navigates)."""
    browser.eval(page, f"""(() => {{
        const vm = [...document.querySelectorAll('#vms > li.vm')]
            .find(v => v.querySelector('.vm-name').textContent === {vm!r});
        const link = [...vm.querySelectorAll('a')]
            .find(a => a.textContent.startsWith('console {index}'));
        setTimeout(() => link.click(), 0); }})()""")


def text_of(browser, page: str, element_id: str) -> str:
    return browser.eval(page, f"document.getElementById('{element_id}')?.textContent ?? ''")


def start_vmcast(session, vmcast_bin, args):
    vmcast = session.spawn([str(vmcast_bin), "run", "--verbose", *args], name="vmcast")
    return vmcast


def wait_serving(vmcast, port: int) -> None:
    wait_for(lambda: vmcast.poll() is None and
             http_status(f"http://127.0.0.1:{port}/vms?token={FULL_TOKEN}")[0] == 200, 30, 0.3,
             what="vmcast serving the list")


def show_console_1(browser, qemu: Qemu, artifacts, label: str) -> None:
    """Waits until the page "list" shows the VM's second console as QEMU's screendump."""
    wait_for(lambda: qemu.screendump("vga1").size == (720, 400), 60, 0.5,
             what=f"{qemu.name}: SeaBIOS text mode on its second console")
    qemu.stop()
    wait_page_shows(browser, qemu.screendump("vga1"), artifacts, label, page="list")
    qemu.cont()


def test_the_list_follows_the_vms_and_opens_their_consoles(session, vmcast_bin, artifacts, web,
                                                           browser):
    port, args = web
    base = f"http://127.0.0.1:{port}"
    vmcast = start_vmcast(session, vmcast_bin, args)  # before any VM: it waits for them
    wait_serving(vmcast, port)
    printed = session.log_path(vmcast.log_name, "stdout").read_text()
    assert f"vmcast: VMs at {base}/?token={FULL_TOKEN}\n" in printed, printed
    assert f"vmcast: VMs, view only: {base}/?token={VIEW_TOKEN}\n" in printed, printed

    browser.open("list", f"{base}/?token={FULL_TOKEN}")
    wait_for(lambda: text_of(browser, "list", "list-status").startswith("No VM yet"), 15, 0.5,
             what="the list saying there is no VM yet")
    alpha = Qemu(session, "alpha", extra_args=SECOND_CONSOLE).start()
    Qemu(session, "beta").start()
    both_running = {"alpha": ("running", [0, 1]), "beta": ("running", [0])}
    wait_list(browser, "list", both_running, "both VMs listed as running")

    # The view-only list: the same VMs, and its links keep the view-only token.
    browser.open("view", f"{base}/?token={VIEW_TOKEN}")
    shown = wait_list(browser, "view", both_running, "the view-only list")
    for vm in shown:
        for index, link in enumerate(vm["links"]):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
            assert query == {"vm": [vm["name"]], "console": [str(index)],
                             "token": [VIEW_TOKEN]}, link

    # A console's link opens its page, which shows that console and where it is.
    click_console(browser, "list", "alpha", 1)
    browser.wait_decoding("list", timeout=60)
    query = urllib.parse.parse_qs(browser.eval("list", "location.search.slice(1)"))
    assert query == {"vm": ["alpha"], "console": ["1"], "token": [FULL_TOKEN]}, query
    show_console_1(browser, alpha, artifacts, "alpha-console-1")
    assert text_of(browser, "list", "place").startswith("alpha · console 1")
    browser.eval("list", "window.notReloaded = true")

    # alpha stops: the list says so, and its open console page waits for it.
    alpha.quit()
    wait_list(browser, "view", {"alpha": ("stopped", [0, 1]), "beta": ("running", [0])},
              "alpha listed as stopped")
    wait_for(lambda: "is not running; waiting for it" in text_of(browser, "list", "notice"), 15,
             0.5, what="the console page waiting for alpha")

    # A new QEMU named alpha: the list says it runs, and the open console page shows it again.
    alpha = Qemu(session, "alpha", extra_args=SECOND_CONSOLE).start()
    wait_list(browser, "view", both_running, "alpha listed as running again")
    wait_for(lambda: (lambda s: s["phase"] == "connected" and not s["ended"])(
        browser.state("list")), 30, 0.5, what="the console page connected to alpha again")
    show_console_1(browser, alpha, artifacts, "alpha-console-1-again")
    assert browser.eval("list", "window.notReloaded === true")
    assert browser.eval("list", "document.getElementById('notice').hidden") is True

    # The console page's link goes back to the list.
    browser.eval("list", "setTimeout(() => document.getElementById('list-link').click(), 0)")
    wait_list(browser, "list", both_running, "the list again, from the console page's link")
    assert vmcast.poll() is None


def test_no_token_no_list_and_names_are_text(session, vmcast_bin, artifacts, web, browser):
    # QEMU takes almost any -name (not ',' or '='); vmcast takes any name QEMU gives. Were it
    # read as markup, the list would have <b> and <i> elements and say A&B.
    name = '<b>A&amp;B "it\'s" <i>'
    port, args = web
    base = f"http://127.0.0.1:{port}"
    vmcast = start_vmcast(session, vmcast_bin, args)
    Qemu(session, name).start()
    wait_running(port, name)

    vm_query = urllib.parse.urlencode({"vm": name})
    for url in (f"{base}/", f"{base}/?token={WRONG_TOKEN}", f"{base}/vms",
                f"{base}/vms?token={WRONG_TOKEN}", f"{base}/?{vm_query}&token={WRONG_TOKEN}"):
        status, text = http_status(url)
        assert status == 403, (url, status, text)
        assert "A&amp;B" not in text and "A%26amp" not in text, (url, text)
    browser.open("wrong", f"{base}/?token={WRONG_TOKEN}")
    wait_for(lambda: "vmcast refused this page: wrong or missing token" in
             text_of(browser, "wrong", "list-status"), 15, 0.5,
             what="the list saying the token is wrong")
    assert "A&amp;B" not in browser.eval("wrong", "document.body.innerText")

    browser.open("list", f"{base}/?token={FULL_TOKEN}")
    wait_list(browser, "list", {name: ("running", [0])}, "the VM listed under its name")
    assert browser.eval("list", "document.querySelectorAll('b, i').length") == 0

    click_console(browser, "list", name, 0)
    browser.wait_decoding("list", timeout=60)
    assert browser.eval("list", "new URLSearchParams(location.search).get('vm')") == name
    assert text_of(browser, "list", "place").startswith(f"{name} · console 0")
    assert browser.eval("list", "document.title") == f"{name} · vmcast"
    assert browser.eval("list", "document.querySelectorAll('b, i').length") == 0

    printed = session.log_path(vmcast.log_name, "stdout").read_text()
    escaped = urllib.parse.quote(name, safe="")
    assert f"vmcast: watch VM '{name}' at {base}/?vm={escaped}&token={FULL_TOKEN}\n" in printed, \
        printed
    assert vmcast.poll() is None
