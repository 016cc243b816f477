// vmcast: QEMU VM screens (-display dbus) as PipeWire video streams.
#include <malloc.h>

#include <clocale>
#include <cstdio>

#include "app/commands.h"
#include "app/config_file.h"
#include "app/logging.h"
#include "app/options.h"
#include "compositor/compositor.h"

int main(int argc, char **argv) {
    setlocale(LC_ALL, "");
    // glibc gives each thread that allocates its own arena, and keeps what was freed there:
    // every encoder the page starts (x264's and GStreamer's threads) added arenas, and vmcast's
    // RSS climbed from 57 to 129 MiB over 20 restarts of a watched VM before it levelled off.
    // Two arenas keep it flat (tests/integration/test_web_restarts.py); vmcast's own work is
    // on one thread anyway.
    mallopt(M_ARENA_MAX, 2);
    vmcast::app::Options options;
    int exit_code = 0;
    if (!vmcast::app::parse_options(argc, argv, options, exit_code))
        return exit_code;
    vmcast::app::setup_logging(options.verbose);
    vmcast::compositor::route_wlroots_log(options.verbose);
    switch (options.command) {
    case vmcast::app::Command::List:
        return vmcast::app::run_list(options);
    case vmcast::app::Command::Screenshot:
        return vmcast::app::run_screenshot(options);
    case vmcast::app::Command::Run:
        return vmcast::app::run_daemon(options);
    case vmcast::app::Command::Config:
        fputs(vmcast::app::config_text(options).c_str(), stdout);
        return 0;
    }
    return 1;
}
