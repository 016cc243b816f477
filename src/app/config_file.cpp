#include "app/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <glib.h>

#include "app/setting_values.h"
#include "common/glib_ptr.h"
#include "common/read_all.h"
#include "common/unique_fd.h"

namespace vmcast::app {
namespace {

constexpr off_t kMaxFileSize = 1 << 20; // a config file is a few lines

struct KeyFileFree {
    void operator()(GKeyFile *file) const { g_key_file_free(file); }
};
using KeyFilePtr = std::unique_ptr<GKeyFile, KeyFileFree>;

// Sets an option from a key's text; false with what was expected.
using ApplyKey = bool (*)(const std::string &text, Options &options, std::string &expected);

bool apply_vm_names(const std::string &raw, Options &options, std::string &expected) {
    // GKeyFile's list form (a;b;, a ; in a name written \;, as config_text writes it), read by
    // GKeyFile itself; an empty list is every VM, as without the key.
    KeyFilePtr list(g_key_file_new());
    const std::string text = "[list]\nnames=" + raw + "\n";
    GStrvPtr names;
    if (g_key_file_load_from_data(list.get(), text.data(), text.size(), G_KEY_FILE_NONE, nullptr))
        names.reset(g_key_file_get_string_list(list.get(), "list", "names", nullptr, nullptr));
    options.vm_names.clear();
    if (!names) {
        expected = "expected VM names separated by ;, none empty";
        return false;
    }
    for (gchar **name = names.get(); *name; name++) {
        std::string parsed;
        if (!parse_vm_name(*name, parsed, expected)) {
            expected = "expected VM names separated by ;, none empty";
            return false;
        }
        options.vm_names.push_back(std::move(parsed));
    }
    return true;
}

bool apply_absolute_path(const std::string &text, std::string &path, std::string &expected) {
    // A service's working directory is /: a relative path would depend on how vmcast started.
    if (!g_path_is_absolute(text.c_str())) {
        expected = "expected an absolute path";
        return false;
    }
    path = text;
    return true;
}

struct Key {
    const char *name;
    ApplyKey apply;
    bool list = false; // given its raw text, escapes and all, to read as a GKeyFile list
};

struct Group {
    const char *name;
    std::vector<Key> keys;
};

const std::vector<Group> &groups() {
    static const std::vector<Group> table = {
        {"bus",
         {{"address",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_bus_address(text, options.address, expected);
           }}}},
        {"vms", {{"names", apply_vm_names, true}}},
        {"libvirt",
         {{"uri",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_libvirt_uri(text, options.libvirt_uri, expected);
           }}}},
        {"stream",
         {{"max-fps",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_max_fps(text, options.max_fps, expected);
           }},
          {"cursor",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_cursor_mode(text, options.cursor_mode, expected);
           }},
          {"camera",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_switch(text, options.camera, expected);
           }},
          {"camera-fps",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_camera_fps(text, options.camera_fps, expected);
           }},
          {"camera-size",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_camera_size(text, options.camera_size, expected);
           }}}},
        {"web",
         {{"listen",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_web_listen(text, options.web_listen, expected);
           }},
          {"token-file",
           [](const std::string &text, Options &options, std::string &expected) {
               return apply_absolute_path(text, options.web_token_file, expected);
           }},
          {"codec",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_web_codec(text, options.web_codec, expected);
           }},
          {"bitrate",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_web_bitrate(text, options.web_bitrate_kbps, expected);
           }},
          {"microphone",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_switch(text, options.web_microphone, expected);
           }}}},
        {"wayland",
         {{"socket",
           [](const std::string &text, Options &options, std::string &expected) {
               return parse_wayland_socket(text, options.wayland_socket, expected);
           }}}},
    };
    return table;
}

// "a, b or c", for the errors about unknown names.
template <typename T> std::string names_of(const std::vector<T> &items) {
    std::string list;
    for (size_t i = 0; i < items.size(); i++) {
        if (i > 0)
            list += i + 1 == items.size() ? " or " : ", ";
        list += items[i].name;
    }
    return list;
}

const Group *find_group(const char *name) {
    for (const Group &group : groups())
        if (g_str_equal(group.name, name))
            return &group;
    return nullptr;
}

const Key *find_key(const Group &group, const char *name) {
    for (const Key &key : group.keys)
        if (g_str_equal(key.name, name))
            return &key;
    return nullptr;
}

bool apply_file(GKeyFile *file, const std::string &name, Options &options, std::string &error) {
    GStrvPtr group_names(g_key_file_get_groups(file, nullptr));
    for (gchar **group_name = group_names.get(); *group_name; group_name++) {
        const Group *group = find_group(*group_name);
        if (!group) {
            error = name + ": [" + *group_name + "]: unknown group (expected " +
                    names_of(groups()) + ")";
            return false;
        }
        GStrvPtr key_names(g_key_file_get_keys(file, *group_name, nullptr, nullptr));
        for (gchar **key_name = key_names.get(); key_name && *key_name; key_name++) {
            const std::string where = name + ": [" + *group_name + "] " + *key_name;
            const Key *key = find_key(*group, *key_name);
            if (!key) {
                error = where + ": unknown key (expected " + names_of(group->keys) + ")";
                return false;
            }
            GError *raw_error = nullptr;
            GCharPtr value(key->list
                               ? g_key_file_get_value(file, *group_name, *key_name, &raw_error)
                               : g_key_file_get_string(file, *group_name, *key_name, &raw_error));
            GErrorPtr read_error(raw_error);
            if (!value) {
                error = where + ": " + read_error->message;
                return false;
            }
            std::string expected;
            if (!key->apply(value.get(), options, expected)) {
                error = bad_value(where, expected, value.get());
                return false;
            }
        }
    }
    return true;
}

} // namespace

bool read_config_text(const std::string &text, const std::string &name, Options &options,
                      std::string &error) {
    KeyFilePtr file(g_key_file_new());
    GError *raw_error = nullptr;
    // Translations kept: a key[LOCALE] is then seen, and refused, instead of dropped unseen.
    if (!g_key_file_load_from_data(file.get(), text.data(), text.size(),
                                   G_KEY_FILE_KEEP_TRANSLATIONS, &raw_error)) {
        GErrorPtr parse_error(raw_error);
        error = name + ": not a config file: " + parse_error->message;
        return false;
    }
    const bool bus_given = g_key_file_has_key(file.get(), "bus", "address", nullptr);
    const bool libvirt_given = g_key_file_has_key(file.get(), "libvirt", "uri", nullptr);
    if (bus_given && libvirt_given) {
        error = name + ": both [bus] address and [libvirt] uri: they exclude each other";
        return false;
    }
    return apply_file(file.get(), name, options, error);
}

bool read_config_file(const std::string &path, Options &options, std::string &error) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat info = {};
    if (!fd.valid() || fstat(fd.get(), &info) != 0) {
        error = path + ": cannot read it: " + strerror(errno);
        return false;
    }
    if (!S_ISREG(info.st_mode) || info.st_size > kMaxFileSize) {
        error = path + ": not a config file: not a file of at most 1 MiB";
        return false;
    }
    std::string text;
    if (!read_all(fd.get(), size_t(info.st_size), text)) { // fewer bytes: it shrank meanwhile
        error = path + ": cannot read it: " + strerror(errno);
        return false;
    }
    return read_config_text(text, path, options, error);
}

std::string config_text(const Options &options) {
    KeyFilePtr file(g_key_file_new());
    if (!options.address.empty())
        g_key_file_set_string(file.get(), "bus", "address", options.address.c_str());
    if (!options.vm_names.empty()) {
        std::vector<const gchar *> names;
        for (const std::string &name : options.vm_names)
            names.push_back(name.c_str());
        g_key_file_set_string_list(file.get(), "vms", "names", names.data(), names.size());
    }
    if (!options.libvirt_uri.empty())
        g_key_file_set_string(file.get(), "libvirt", "uri", options.libvirt_uri.c_str());
    g_key_file_set_uint64(file.get(), "stream", "max-fps", options.max_fps);
    g_key_file_set_string(file.get(), "stream", "cursor", cursor_mode_name(options.cursor_mode));
    g_key_file_set_boolean(file.get(), "stream", "camera", options.camera);
    g_key_file_set_uint64(file.get(), "stream", "camera-fps", options.camera_fps);
    if (options.camera_size) {
        const std::string size = std::to_string(options.camera_size->width) + "x" +
                                 std::to_string(options.camera_size->height);
        g_key_file_set_string(file.get(), "stream", "camera-size", size.c_str());
    }
    if (!options.web_listen.empty())
        g_key_file_set_string(file.get(), "web", "listen", options.web_listen.c_str());
    if (!options.web_token_file.empty())
        g_key_file_set_string(file.get(), "web", "token-file", options.web_token_file.c_str());
    if (!options.web_codec.empty())
        g_key_file_set_string(file.get(), "web", "codec", options.web_codec.c_str());
    g_key_file_set_uint64(file.get(), "web", "bitrate", options.web_bitrate_kbps);
    g_key_file_set_boolean(file.get(), "web", "microphone", options.web_microphone);
    if (!options.wayland_socket.empty())
        g_key_file_set_string(file.get(), "wayland", "socket", options.wayland_socket.c_str());
    GCharPtr text(g_key_file_to_data(file.get(), nullptr, nullptr));
    std::string printed = text.get();
    if (!printed.ends_with('\n'))
        printed += '\n';
    return printed;
}

} // namespace vmcast::app
