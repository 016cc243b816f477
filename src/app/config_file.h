// vmcast's config file (--config FILE): a GKeyFile whose keys set the options below the command
// line's. data/vmcast.conf.example documents every group and key.
#pragma once

#include <string>

#include "app/options.h"

namespace vmcast::app {

// Sets the options the file names. false and one line naming the file, the group and the key
// (an unknown group or key, a bad value) or why the file cannot be read; options may then be
// partly set.
bool read_config_file(const std::string &path, Options &options, std::string &error);
// The same for a file's text; name stands for the file in errors.
bool read_config_text(const std::string &text, const std::string &name, Options &options,
                      std::string &error);

// The settings run would use, as a config file (`vmcast config`): every key that has a value,
// the defaults included.
std::string config_text(const Options &options);

} // namespace vmcast::app
