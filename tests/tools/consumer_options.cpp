#include "consumer_options.hpp"

#include <getopt.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "consumer_params.hpp"
#include "json_line.hpp"

namespace vmcast_tools {

namespace {

void print_usage(FILE *out) {
    std::fputs("usage: vmcast-frame-consumer --target NODE [--format BGRx|BGRA|RGBx|RGBA|any]\n"
               "         [--dump-latest PATH] [--frames N] [--timeout SECONDS]\n"
               "         [--no-cursor-meta] [--hold-buffers] [--slow MS]\n"
               "         [--stop-reading-after N] [--dmabuf-first]\n"
               "         [--modifiers HEX[,HEX...]] [--max-framerate N]\n"
               "         [--stamp-at X,Y] [--quiet-frames]\n",
               out);
}

[[noreturn]] void fail_usage(const std::string &message) {
    emit_line(json_event("error").add("message", message));
    print_usage(stderr);
    std::exit(kExitError);
}

// Parses "X,Y": two unsigned decimal numbers, no signs or spaces.
std::optional<StampPosition> parse_stamp_position(std::string_view text) {
    StampPosition position;
    const char *end = text.data() + text.size();
    const auto [after_x, x_error] = std::from_chars(text.data(), end, position.x);
    if (x_error != std::errc() || after_x == end || *after_x != ',')
        return std::nullopt;
    const auto [after_y, y_error] = std::from_chars(after_x + 1, end, position.y);
    if (y_error != std::errc() || after_y != end)
        return std::nullopt;
    return position;
}

} // namespace

Options parse_options(int argc, char **argv) {
    enum {
        kTarget = 1,
        kFormat,
        kDump,
        kFrames,
        kTimeout,
        kNoCursor,
        kHold,
        kSlow,
        kStopReading,
        kDmabuf,
        kModifiers,
        kMaxFramerate,
        kStampAt,
        kQuietFrames,
        kHelp
    };
    static const option long_options[] = {
        {"target", required_argument, nullptr, kTarget},
        {"format", required_argument, nullptr, kFormat},
        {"dump-latest", required_argument, nullptr, kDump},
        {"frames", required_argument, nullptr, kFrames},
        {"timeout", required_argument, nullptr, kTimeout},
        {"no-cursor-meta", no_argument, nullptr, kNoCursor},
        {"hold-buffers", no_argument, nullptr, kHold},
        {"slow", required_argument, nullptr, kSlow},
        {"stop-reading-after", required_argument, nullptr, kStopReading},
        {"dmabuf-first", no_argument, nullptr, kDmabuf},
        {"modifiers", required_argument, nullptr, kModifiers},
        {"max-framerate", required_argument, nullptr, kMaxFramerate},
        {"stamp-at", required_argument, nullptr, kStampAt},
        {"quiet-frames", no_argument, nullptr, kQuietFrames},
        {"help", no_argument, nullptr, kHelp},
        {nullptr, 0, nullptr, 0},
    };
    Options options;
    int option_code;
    while ((option_code = getopt_long(argc, argv, "", long_options, nullptr)) != -1) {
        char *end = nullptr;
        switch (option_code) {
        case kTarget:
            options.target = optarg;
            break;
        case kFormat:
            options.format_text = optarg;
            break;
        case kDump:
            options.dump_path = optarg;
            break;
        case kFrames:
            errno = 0;
            options.wanted_pictures = std::strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-')
                fail_usage(std::string("invalid --frames value: ") + optarg);
            break;
        case kTimeout:
            options.timeout_seconds = std::strtod(optarg, &end);
            if (*end || !std::isfinite(options.timeout_seconds) || options.timeout_seconds < 0)
                fail_usage(std::string("invalid --timeout value: ") + optarg);
            break;
        case kNoCursor:
            options.cursor_meta = false;
            break;
        case kHold:
            options.hold_buffers = true;
            break;
        case kSlow:
            errno = 0;
            options.slow_ms = uint32_t(std::strtoul(optarg, &end, 10));
            if (errno || *end || optarg[0] == '-' || options.slow_ms > 60000)
                fail_usage(std::string("invalid --slow value: ") + optarg);
            break;
        case kStopReading:
            errno = 0;
            options.stop_reading_after = std::strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-')
                fail_usage(std::string("invalid --stop-reading-after value: ") + optarg);
            break;
        case kDmabuf:
            options.dmabuf_first = true;
            break;
        case kModifiers: {
            // Comma-separated hexadecimal DRM modifiers; implies --dmabuf-first.
            options.modifiers.clear();
            options.dmabuf_first = true;
            std::string list = optarg;
            for (size_t start = 0; start <= list.size();) {
                size_t comma = list.find(',', start);
                if (comma == std::string::npos)
                    comma = list.size();
                const std::string item = list.substr(start, comma - start);
                errno = 0;
                const uint64_t modifier = std::strtoull(item.c_str(), &end, 16);
                if (item.empty() || errno || *end)
                    fail_usage(std::string("invalid --modifiers value: ") + optarg);
                options.modifiers.push_back(modifier);
                start = comma + 1;
            }
            break;
        }
        case kMaxFramerate:
            // Offered as maxFramerate from 1/1 to N/1, as WebRTC's screen capture asks.
            errno = 0;
            options.max_framerate = uint32_t(std::strtoul(optarg, &end, 10));
            if (errno || *end || optarg[0] == '-' || options.max_framerate < 1 ||
                options.max_framerate > 1000)
                fail_usage(std::string("invalid --max-framerate value: ") + optarg);
            break;
        case kStampAt:
            options.stamp_at = parse_stamp_position(optarg);
            if (!options.stamp_at)
                fail_usage(std::string("invalid --stamp-at value (want X,Y): ") + optarg);
            break;
        case kQuietFrames:
            options.quiet_frames = true;
            break;
        case kHelp:
            print_usage(stdout);
            std::exit(kExitOk);
        default:
            fail_usage("invalid command line");
        }
    }
    if (optind < argc)
        fail_usage(std::string("unexpected argument: ") + argv[optind]);
    if (options.target.empty())
        fail_usage("--target is required");
    auto formats = parse_format_choice(options.format_text);
    if (!formats)
        fail_usage("invalid --format: " + options.format_text);
    options.formats = *formats;
    return options;
}

} // namespace vmcast_tools
