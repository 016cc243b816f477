#include "app/options.h"

#include <cstdio>
#include <cstring>

#include <glib.h>

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
    "\n"
    "QEMU must run with -display dbus: on the session bus, on the bus given with\n"
    "--address, or with -display dbus,p2p=yes and a QMP socket given with --qmp\n"
    "(vmcast then connects to QEMU directly, and again when QEMU restarts). With\n"
    "--libvirt, run follows libvirt's domains that have <graphics type='dbus'/>.";

constexpr const char *kDefaultWebAddress = "127.0.0.1:8081";
constexpr const char *kDefaultLibvirtUri = "qemu:///system";

// --web takes an optional address, which GOption passes only to a callback.
gboolean on_web_option(const gchar *, const gchar *value, gpointer data, GError **) {
    *static_cast<std::string *>(data) = value && *value ? value : kDefaultWebAddress;
    return TRUE;
}

gboolean on_libvirt_option(const gchar *, const gchar *value, gpointer data, GError **) {
    *static_cast<std::string *>(data) = value && *value ? value : kDefaultLibvirtUri;
    return TRUE;
}

bool fail_usage(const char *message, int &exit_code) {
    fprintf(stderr, "vmcast: %s (see vmcast --help)\n", message);
    exit_code = 2;
    return false;
}

} // namespace

bool parse_options(int argc, char **argv, Options &options, int &exit_code) {
    gchar *address = nullptr;
    gchar *qmp_socket = nullptr;
    gchar **vm_names = nullptr;
    gint console = 0;
    gint max_fps = int(options.max_fps);
    gchar *cursor = nullptr;
    gchar *web_token_file = nullptr;
    gchar *web_codec = nullptr;
    gint web_bitrate = int(options.web_bitrate_kbps);
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
        {"max-fps", 0, 0, G_OPTION_ARG_INT, &max_fps, "most frames a second a stream sends (60)",
         "FPS"},
        {"cursor", 0, 0, G_OPTION_ARG_STRING, &cursor,
         "QEMU's pointer in the streams: auto (metadata for consumers that ask for it, drawn "
         "into the frames for the others), embedded, metadata or hidden",
         "MODE"},
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
         "(default: random at each start)",
         "FILE"},
        {"web-codec", 0, 0, G_OPTION_ARG_STRING, &web_codec,
         "h264 (x264enc; the default where installed) or vp8", "CODEC"},
        {"web-bitrate", 0, 0, G_OPTION_ARG_INT, &web_bitrate,
         "the most kbit/s a console's video may use (6000); less when viewers lose packets",
         "KBPS"},
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
                               const GOptionEntry *group_entries, std::string *value) {
        GOptionGroup *group =
            g_option_group_new(name, description, "Show these options", value, nullptr);
        g_option_group_add_entries(group, group_entries);
        g_option_context_add_group(context.get(), group);
    };
    add_group("web", "Web page options (vmcast run):", web_entries, &options.web_listen);
    const GOptionEntry libvirt_entries[] = {
        {"libvirt", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
         reinterpret_cast<gpointer>(on_libvirt_option),
         "run: follow libvirt's running domains with <graphics type='dbus'/> instead of one bus "
         "(URI: default qemu:///system)",
         "[=URI]"},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    add_group("libvirt", "libvirt options (vmcast run):", libvirt_entries, &options.libvirt_uri);
    g_option_context_set_summary(context.get(), kSummary);

    GError *raw_error = nullptr;
    const bool parsed = g_option_context_parse(context.get(), &argc, &argv, &raw_error);
    GErrorPtr error(raw_error);
    GCharPtr address_owner(address), qmp_owner(qmp_socket);
    struct StrvFree {
        void operator()(gchar **strv) const { g_strfreev(strv); }
    };
    std::unique_ptr<gchar *, StrvFree> vm_names_owner(vm_names);
    GCharPtr token_file_owner(web_token_file), codec_owner(web_codec);
    if (!parsed)
        return fail_usage(error->message, exit_code);
    if (version) {
        printf("vmcast %s\n", VMCAST_VERSION);
        exit_code = 0;
        return false;
    }
    if (argc < 2)
        return fail_usage("no command given: list, screenshot or run", exit_code);

    const char *command = argv[1];
    const int extra_arguments = argc - 2;
    if (strcmp(command, "list") == 0 && extra_arguments == 0) {
        options.command = Command::List;
    } else if (strcmp(command, "run") == 0 && extra_arguments == 0) {
        options.command = Command::Run;
    } else if (strcmp(command, "screenshot") == 0) {
        if (extra_arguments != 1)
            return fail_usage("screenshot takes one FILE.png", exit_code);
        options.command = Command::Screenshot;
        options.output_png = argv[2];
    } else if (strcmp(command, "list") == 0 || strcmp(command, "run") == 0) {
        return fail_usage("unexpected argument after the command", exit_code);
    } else {
        return fail_usage("unknown command (list, screenshot or run)", exit_code);
    }
    if (address && qmp_socket)
        return fail_usage("--address and --qmp exclude each other: a bus, or p2p through QMP",
                          exit_code);
    if (!options.libvirt_uri.empty() && (address || qmp_socket))
        return fail_usage("--libvirt finds each domain's display itself: no --address or --qmp",
                          exit_code);
    if (!options.libvirt_uri.empty() && options.command != Command::Run)
        return fail_usage("--libvirt goes with run", exit_code);
    if (qmp_socket && !*qmp_socket)
        return fail_usage("--qmp needs the path of QEMU's QMP socket", exit_code);
    if (console < 0)
        return fail_usage("--console must be 0 or more", exit_code);
    if (max_fps < 1 || max_fps > 1000)
        return fail_usage("--max-fps must be between 1 and 1000", exit_code);
    options.address = address ? address : "";
    options.qmp_socket = qmp_socket ? qmp_socket : "";
    for (gchar **name = vm_names; name && *name; name++) {
        if (!**name)
            return fail_usage("--vm needs a VM's name", exit_code);
        options.vm_names.emplace_back(*name);
    }
    if (options.vm_names.size() > 1 && options.command == Command::Screenshot)
        return fail_usage("screenshot takes one --vm", exit_code);
    if (options.vm_names.size() > 1 && qmp_socket)
        return fail_usage("--qmp reaches one VM: give at most one --vm", exit_code);
    options.console = uint32_t(console);
    options.max_fps = uint32_t(max_fps);
    const std::string cursor_mode = cursor ? cursor : "auto";
    if (cursor_mode == "auto")
        options.cursor_mode = pipewire::CursorMode::Auto;
    else if (cursor_mode == "embedded")
        options.cursor_mode = pipewire::CursorMode::Embedded;
    else if (cursor_mode == "metadata")
        options.cursor_mode = pipewire::CursorMode::Metadata;
    else if (cursor_mode == "hidden")
        options.cursor_mode = pipewire::CursorMode::Hidden;
    else
        return fail_usage("--cursor must be auto, embedded, metadata or hidden", exit_code);
    const bool web_asked =
        web_token_file || web_codec || web_bitrate != int(options.web_bitrate_kbps);
    if (web_asked && options.web_listen.empty())
        return fail_usage("--web-token-file, --web-codec and --web-bitrate need --web", exit_code);
    if (!options.web_listen.empty() && options.command != Command::Run)
        return fail_usage("--web goes with run", exit_code);
    options.web_token_file = web_token_file ? web_token_file : "";
    options.web_codec = web_codec ? web_codec : "";
    if (!options.web_codec.empty() && options.web_codec != "h264" && options.web_codec != "vp8")
        return fail_usage("--web-codec must be h264 or vp8", exit_code);
    if (web_bitrate < 100 || web_bitrate > 100000)
        return fail_usage("--web-bitrate must be between 100 and 100000 kbit/s", exit_code);
    options.web_bitrate_kbps = uint32_t(web_bitrate);
    options.verbose = verbose;
    return true;
}

} // namespace vmcast::app
