#include "app/options.h"

#include <cstdio>
#include <cstring>
#include <optional>

#include <glib.h>

#include "app/config_file.h"
#include "app/logging.h"
#include "app/setting_values.h"
#include "common/glib_ptr.h"
#include "vmcast-config.h"

namespace vmcast::app {
namespace {

constexpr const char *kSummary =
    "Commands:\n"
    "  list                    the VMs on the bus, their consoles and sizes\n"
    "  screenshot FILE.png     one console's picture as a PNG (--console N)\n"
    "  run                     stream every graphic console of every VM as a PipeWire\n"
    "                          video node (vmcast.<vm>.<console>), following VMs as\n"
    "                          they start and stop, until SIGINT or SIGTERM\n"
    "  config                  check the config file and print the settings run would\n"
    "                          use (the file's, under the command line's)\n"
    "\n"
    "QEMU must run with -display dbus: on the session bus, on the bus given with\n"
    "--address, or with -display dbus,p2p=yes and a QMP socket given with --qmp\n"
    "(vmcast then connects to QEMU directly, and again when QEMU restarts). With\n"
    "--libvirt, run follows libvirt's domains that have <graphics type='dbus'/>.";

constexpr const char *kDefaultWebAddress = "127.0.0.1:8081";
constexpr const char *kDefaultLibvirtUri = "qemu:///system";
constexpr const char *kSeeHelp = " (see vmcast --help)";

enum class Parsed { Command, Version, Error };

// --web takes an optional address, which GOption passes only to a callback.
gboolean on_web_option(const gchar *, const gchar *value, gpointer data, GError **) {
    *static_cast<std::string *>(data) = value && *value ? value : kDefaultWebAddress;
    return TRUE;
}

// --wayland with no value: its default depends on --vm, known only after parsing.
struct WaylandOption {
    bool given = false;
    std::string socket;
};

gboolean on_wayland_option(const gchar *, const gchar *value, gpointer data, GError **) {
    auto *option = static_cast<WaylandOption *>(data);
    option->given = true;
    option->socket = value ? value : "";
    return TRUE;
}

gboolean on_libvirt_option(const gchar *, const gchar *value, gpointer data, GError **) {
    *static_cast<std::string *>(data) = value && *value ? value : kDefaultLibvirtUri;
    return TRUE;
}

bool is_command(const std::string &word) {
    return word == "list" || word == "screenshot" || word == "run" || word == "config";
}

Parsed fail_usage(const std::string &message, std::string &error) {
    error = message + kSeeHelp;
    return Parsed::Error;
}

// A value given on the command line, checked by the same parser as the config file's.
template <typename T, typename Parse>
bool parse_given(const char *option, const gchar *text, T &value, Parse parse, std::string &error) {
    if (!text)
        return true;
    std::string expected;
    if (parse(text, value, expected))
        return true;
    error = bad_value(option, expected, text) + kSeeHelp;
    return false;
}

Parsed parse(std::vector<std::string> arguments, Options &options, std::string &error) {
    options.command_line = arguments;
    gchar *address = nullptr;
    gchar *qmp_socket = nullptr;
    gchar **vm_names = nullptr;
    gint console = 0;
    gchar *max_fps = nullptr;
    gchar *cursor = nullptr;
    gboolean camera = FALSE;
    gchar *camera_fps = nullptr;
    gchar *camera_size = nullptr;
    gchar *config_file = nullptr;
    std::string web_listen;
    std::string libvirt_uri;
    WaylandOption wayland;
    gchar *web_token_file = nullptr;
    gchar *web_codec = nullptr;
    gchar *web_bitrate = nullptr;
    gboolean web_microphone = FALSE;
    gboolean verbose = FALSE;
    gboolean version = FALSE;
    const GOptionEntry entries[] = {
        {"address", 'a', 0, G_OPTION_ARG_STRING, &address,
         "D-Bus address of the VM's bus (default: the session bus)", "ADDRESS"},
        {"qmp", 0, 0, G_OPTION_ARG_FILENAME, &qmp_socket,
         "QMP socket of a QEMU with -display dbus,p2p=yes: connect to it without a bus", "SOCKET"},
        {"vm", 0, 0, G_OPTION_ARG_STRING_ARRAY, &vm_names,
         "the VM to use (run: repeat it for several; without it, run streams every VM on the "
         "bus as VMs come and go)",
         "NAME"},
        {"console", 'c', 0, G_OPTION_ARG_INT, &console, "console index for screenshot", "N"},
        {"max-fps", 0, 0, G_OPTION_ARG_STRING, &max_fps, "most frames a second a stream sends (60)",
         "FPS"},
        {"cursor", 0, 0, G_OPTION_ARG_STRING, &cursor,
         "QEMU's pointer in the streams: auto (metadata for consumers that ask for it, drawn "
         "into the frames for the others), embedded, metadata or hidden",
         "MODE"},
        {"camera", 0, 0, G_OPTION_ARG_NONE, &camera,
         "run: also publish each console as a camera node (vmcast.<vm>.<console>.camera) that "
         "browsers and OBS find through the Camera portal",
         nullptr},
        {"camera-fps", 0, 0, G_OPTION_ARG_STRING, &camera_fps,
         "the camera nodes' fixed frame rate (30)", "FPS"},
        {"camera-size", 0, 0, G_OPTION_ARG_STRING, &camera_size,
         "the camera nodes' size, always, each console letterboxed into it (default: the "
         "console's, kept while a consumer is linked)",
         "WxH"},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &config_file,
         "read settings from FILE (a key file, see vmcast(1)); the command line's options win",
         "FILE"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log what vmcast does in detail", nullptr},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version and exit", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    const GOptionEntry web_entries[] = {
        {"web", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
         reinterpret_cast<gpointer>(on_web_option),
         "run: serve a page that shows the VM over WebRTC and sends it keyboard and mouse, on "
         "ADDR (HOST:PORT, default 127.0.0.1:8081)",
         "[ADDR]"},
        {"web-token-file", 0, 0, G_OPTION_ARG_FILENAME, &web_token_file,
         "the page's access tokens: full access on the first line, view only on the second "
         "(default: kept in vmcast's state directory)",
         "FILE"},
        {"web-codec", 0, 0, G_OPTION_ARG_STRING, &web_codec,
         "h264 (x264enc; the default where installed) or vp8", "CODEC"},
        {"web-bitrate", 0, 0, G_OPTION_ARG_STRING, &web_bitrate,
         "the most kbit/s a console's video may use (6000); less when viewers lose packets",
         "KBPS"},
        {"web-microphone", 0, 0, G_OPTION_ARG_NONE, &web_microphone,
         "let full-access viewers send their microphone to the VM (a VM with -audiodev dbus)",
         nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    struct ContextFree {
        void operator()(GOptionContext *context) const { g_option_context_free(context); }
    };
    std::unique_ptr<GOptionContext, ContextFree> context(
        g_option_context_new("COMMAND [FILE.png] - watch and share QEMU VM screens"));
    g_option_context_add_main_entries(context.get(), entries, nullptr);
    // A callback's user data is its group's, so options with an optional value (a callback)
    // live in groups of their own.
    const auto add_group = [&](const char *name, const char *description,
                               const GOptionEntry *group_entries, void *value) {
        GOptionGroup *group =
            g_option_group_new(name, description, "Show these options", value, nullptr);
        g_option_group_add_entries(group, group_entries);
        g_option_context_add_group(context.get(), group);
    };
    add_group("web", "Web page options (vmcast run):", web_entries, &web_listen);
    const GOptionEntry libvirt_entries[] = {
        {"libvirt", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
         reinterpret_cast<gpointer>(on_libvirt_option),
         "run: follow libvirt's running domains with <graphics type='dbus'/> instead of one bus "
         "(URI: default qemu:///system)",
         "[=URI]"},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    add_group("libvirt", "libvirt options (vmcast run):", libvirt_entries, &libvirt_uri);
    const GOptionEntry wayland_entries[] = {
        {"wayland", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
         reinterpret_cast<gpointer>(on_wayland_option),
         "run: serve Wayland clients (grim, wf-recorder, wlr-randr) the consoles as outputs, on "
         "a socket NAME in $XDG_RUNTIME_DIR or at PATH (default vmcast-VM with one --vm, else "
         "vmcast-0); whoever can open it sees the VMs",
         "[=NAME|PATH]"},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    add_group("wayland", "Wayland options (vmcast run):", wayland_entries, &wayland);
    g_option_context_set_summary(context.get(), kSummary);

    // GOption takes arguments out of the array it parses: a copy, so command_line stays whole.
    // It also takes the word after an option with an optional value as that value: in
    // `vmcast --web run` the command is no address, so such an option gets its default.
    for (size_t i = 0; i + 1 < arguments.size(); i++)
        if ((arguments[i] == "--web" || arguments[i] == "--libvirt" ||
             arguments[i] == "--wayland") &&
            is_command(arguments[i + 1]))
            arguments[i] += "=";
    std::vector<char *> argv;
    for (std::string &argument : arguments)
        argv.push_back(argument.data());
    int argc = int(argv.size());
    argv.push_back(nullptr);
    char **argv_data = argv.data();
    GError *raw_error = nullptr;
    const bool parsed = g_option_context_parse(context.get(), &argc, &argv_data, &raw_error);
    GErrorPtr parse_error(raw_error);
    GCharPtr address_owner(address), qmp_owner(qmp_socket), max_fps_owner(max_fps),
        cursor_owner(cursor), config_owner(config_file), camera_fps_owner(camera_fps),
        camera_size_owner(camera_size);
    GStrvPtr vm_names_owner(vm_names);
    GCharPtr token_file_owner(web_token_file), codec_owner(web_codec), bitrate_owner(web_bitrate);
    if (!parsed)
        return fail_usage(parse_error->message, error);
    if (version)
        return Parsed::Version;
    if (argc < 2)
        return fail_usage("no command given: list, screenshot, run or config", error);

    const std::string command = argv_data[1];
    const int extra_arguments = argc - 2;
    if (command == "screenshot") {
        if (extra_arguments != 1)
            return fail_usage("screenshot takes one FILE.png", error);
        options.command = Command::Screenshot;
        options.output_png = argv_data[2];
    } else if (command == "list" || command == "run" || command == "config") {
        if (extra_arguments != 0)
            return fail_usage("unexpected argument after the command", error);
        options.command = command == "list"  ? Command::List
                          : command == "run" ? Command::Run
                                             : Command::Config;
    } else {
        return fail_usage("unknown command (list, screenshot, run or config)", error);
    }

    // The config file first, then what the command line gives over it.
    if (config_file) {
        options.config_file = config_file;
        if (!read_config_file(options.config_file, options, error))
            return Parsed::Error;
    }
    if (address && qmp_socket)
        return fail_usage("--address and --qmp exclude each other: a bus, or p2p through QMP",
                          error);
    if (!libvirt_uri.empty()) {
        if (address || qmp_socket)
            return fail_usage("--libvirt finds each domain's display itself: no --address or --qmp",
                              error);
        if (options.command != Command::Run && options.command != Command::Config)
            return fail_usage("--libvirt goes with run", error);
        if (!parse_given("--libvirt", libvirt_uri.c_str(), options.libvirt_uri, parse_libvirt_uri,
                         error))
            return Parsed::Error;
        options.address.clear(); // libvirt's buses instead of the config file's
    }
    if (qmp_socket && !*qmp_socket)
        return fail_usage("--qmp needs the path of QEMU's QMP socket", error);
    if (console < 0)
        return fail_usage("--console must be 0 or more", error);
    if (!parse_given("--address", address, options.address, parse_bus_address, error))
        return Parsed::Error;
    if (qmp_socket) {
        options.qmp_socket = qmp_socket;
        options.address.clear(); // p2p instead of the config file's bus
        options.libvirt_uri.clear();
    }
    if (address)
        options.libvirt_uri.clear(); // one bus instead of the config file's libvirt
    if (vm_names) {
        options.vm_names.clear();
        for (gchar **name = vm_names; *name; name++) {
            std::string parsed_name;
            if (!parse_given("--vm", *name, parsed_name, parse_vm_name, error))
                return Parsed::Error;
            options.vm_names.push_back(std::move(parsed_name));
        }
    }
    if (options.vm_names.size() > 1 && options.command == Command::Screenshot)
        return fail_usage("screenshot takes one --vm", error);
    if (options.vm_names.size() > 1 && !options.qmp_socket.empty())
        return fail_usage("--qmp reaches one VM: give at most one --vm", error);
    options.console = uint32_t(console);
    if (!parse_given("--max-fps", max_fps, options.max_fps, parse_max_fps, error) ||
        !parse_given("--cursor", cursor, options.cursor_mode, parse_cursor_mode, error) ||
        !parse_given("--camera-fps", camera_fps, options.camera_fps, parse_camera_fps, error) ||
        !parse_given("--camera-size", camera_size, options.camera_size, parse_camera_size, error))
        return Parsed::Error;
    if (camera) {
        if (options.command != Command::Run && options.command != Command::Config)
            return fail_usage("--camera goes with run", error);
        options.camera = true;
    }
    if (camera_fps && !options.camera)
        return fail_usage(
            "--camera-fps needs --camera (or [stream] camera=true in the config file)", error);
    if (camera_size && !options.camera)
        return fail_usage(
            "--camera-size needs --camera (or [stream] camera=true in the config file)", error);
    if (!web_listen.empty()) {
        if (options.command != Command::Run && options.command != Command::Config)
            return fail_usage("--web goes with run", error);
        if (!parse_given("--web", web_listen.c_str(), options.web_listen, parse_web_listen, error))
            return Parsed::Error;
    }
    if (wayland.given) {
        if (options.command != Command::Run && options.command != Command::Config)
            return fail_usage("--wayland goes with run", error);
        // No name: the config file's socket, else the default.
        if (wayland.socket.empty() && options.wayland_socket.empty())
            options.wayland_socket = default_wayland_socket(options.vm_names);
        else if (!wayland.socket.empty() &&
                 !parse_given("--wayland", wayland.socket.c_str(), options.wayland_socket,
                              parse_wayland_socket, error))
            return Parsed::Error;
    }
    if ((web_token_file || web_codec || web_bitrate || web_microphone) &&
        options.web_listen.empty())
        return fail_usage("--web-token-file, --web-codec, --web-bitrate and --web-microphone "
                          "need --web (or [web] listen in the config file)",
                          error);
    if (web_microphone)
        options.web_microphone = true;
    if (web_token_file)
        options.web_token_file = web_token_file;
    if (!parse_given("--web-codec", web_codec, options.web_codec, parse_web_codec, error) ||
        !parse_given("--web-bitrate", web_bitrate, options.web_bitrate_kbps, parse_web_bitrate,
                     error))
        return Parsed::Error;
    options.verbose = verbose;
    return Parsed::Command;
}

} // namespace

bool parse_options(int argc, char **argv, Options &options, int &exit_code) {
    std::string error;
    switch (parse(std::vector<std::string>(argv, argv + argc), options, error)) {
    case Parsed::Command:
        return true;
    case Parsed::Version:
        printf("vmcast %s\n", VMCAST_VERSION);
        exit_code = 0;
        return false;
    case Parsed::Error:
        break;
    }
    print_error(error);
    exit_code = 2;
    return false;
}

bool reread_options(const Options &running, Options &fresh, std::string &error) {
    fresh = Options();
    return parse(running.command_line, fresh, error) == Parsed::Command;
}

} // namespace vmcast::app
