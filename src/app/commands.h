// The three things vmcast does. Each returns the process exit status.
#pragma once

#include "app/options.h"

namespace vmcast::app {

int run_list(const Options &options);
int run_screenshot(const Options &options);
int run_daemon(const Options &options);

// Prints "vmcast: <message>" on stderr and returns 1.
int fail(const std::string &message);

} // namespace vmcast::app
