// vmcast's config file (--config FILE, and again at each reload): its text through the reader
// run and reload call. What it accepts must print back (`vmcast config`) as a file that reads
// to the same settings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    vmcast::app::Options options;
    std::string error;
    if (!vmcast::app::read_config_text(text, "fuzz.conf", options, error))
        return 0;
    const std::string printed = vmcast::app::config_text(options);
    vmcast::app::Options reread;
    if (!vmcast::app::read_config_text(printed, "printed.conf", reread, error) ||
        vmcast::app::config_text(reread) != printed)
        __builtin_trap();
    return 0;
}
