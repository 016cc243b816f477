// memcpy_baseline WIDTH HEIGHT X Y W H [--iterations N]: the physical limit for copying damaged
// pixels. vmcast copies a damaged rectangle row by row between two frames; this times that copy
// alone, with the buffers as warm as back-to-back copies leave them (a best case), so a benchmark
// can tell how far vmcast is from it. Standard library and POSIX only: builds without the project.
// Prints one JSON line; exit code 2 on bad arguments.
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint64_t kBytesPerPixel = 4;
constexpr uint64_t kMaxSize = 16384;
constexpr uint64_t kMinIterations = 20;
constexpr uint64_t kTargetRunNs = 200'000'000;
constexpr uint64_t kWarmUpNs = 20'000'000;

[[noreturn]] void usage_error(const std::string &message) {
    std::fprintf(stderr, "memcpy_baseline: %s\nusage: %s\n", message.c_str(),
                 "memcpy_baseline WIDTH HEIGHT X Y W H [--iterations N]");
    std::exit(2);
}

uint64_t parse_number(const char *text, const char *what) {
    const std::string_view view(text);
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), value);
    if (error != std::errc() || end != view.data() + view.size())
        usage_error(std::string(what) + " is not a non-negative integer: " + text);
    return value;
}

uint64_t now_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

struct Rect {
    uint64_t x, y, w, h;
};

// Row by row, as vmcast copies damage; a full-width rectangle is one contiguous block.
void copy_rect(const uint8_t *source, uint8_t *target, uint64_t stride, const Rect &rect) {
    const uint64_t row_bytes = rect.w * kBytesPerPixel;
    const uint64_t first = rect.y * stride + rect.x * kBytesPerPixel;
    if (row_bytes == stride) {
        std::memcpy(target + first, source + first, row_bytes * rect.h);
        return;
    }
    for (uint64_t row = 0; row < rect.h; ++row)
        std::memcpy(target + first + row * stride, source + first + row * stride, row_bytes);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 7 && !(argc == 9 && std::string_view(argv[7]) == "--iterations"))
        usage_error("wrong arguments");
    const uint64_t width = parse_number(argv[1], "WIDTH");
    const uint64_t height = parse_number(argv[2], "HEIGHT");
    const Rect rect{parse_number(argv[3], "X"), parse_number(argv[4], "Y"),
                    parse_number(argv[5], "W"), parse_number(argv[6], "H")};
    if (width < 1 || width > kMaxSize || height < 1 || height > kMaxSize)
        usage_error("WIDTH and HEIGHT must be 1..16384");
    if (rect.x >= width || rect.y >= height || rect.w < 1 || rect.h < 1 ||
        rect.w > width - rect.x || rect.h > height - rect.y)
        usage_error("the rectangle X Y W H must be non-empty and inside the frame");
    uint64_t iterations = 0; // 0: sized from the warm-up
    if (argc == 9) {
        iterations = parse_number(argv[8], "N");
        if (iterations < 1)
            usage_error("N must be at least 1");
    }

    const uint64_t stride = width * kBytesPerPixel;
    // Filling with non-zero bytes writes every page now, so no page fault lands in the timing.
    std::vector<uint8_t> source(stride * height, 0x5a);
    std::vector<uint8_t> target(stride * height, 0xa5);
    const uint64_t first = rect.y * stride + rect.x * kBytesPerPixel;
    unsigned checksum = 0;
    // Each copy sees a changed source byte and its result feeds the printed checksum, so the
    // compiler can neither hoist the copies out of the loop nor drop them.
    auto copy_once = [&] {
        source[first] ^= 0xff;
        copy_rect(source.data(), target.data(), stride, rect);
        checksum += target[first];
    };

    // Warm-up: the timed run starts in the steady state of back-to-back copies (caches, TLB,
    // CPU clock), and the warm-up's speed sizes the default run.
    const uint64_t warm_start = now_ns();
    uint64_t warm_copies = 0;
    do {
        copy_once();
        ++warm_copies;
    } while (now_ns() - warm_start < kWarmUpNs);
    if (iterations == 0) {
        const uint64_t warm_ns_per_copy =
            std::max<uint64_t>(1, (now_ns() - warm_start) / warm_copies);
        iterations = std::max(kMinIterations, kTargetRunNs / warm_ns_per_copy);
    }

    const uint64_t start = now_ns();
    for (uint64_t i = 0; i < iterations; ++i)
        copy_once();
    // At least 1 ns, so a coarse clock cannot make the rates infinite (not valid JSON).
    const double ns_per_copy = double(std::max<uint64_t>(1, now_ns() - start)) / double(iterations);

    const uint64_t bytes = rect.w * rect.h * kBytesPerPixel;
    std::printf("{\"width\":%" PRIu64 ",\"height\":%" PRIu64 ",\"rect\":[%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 "],\"bytes\":%" PRIu64 ",\"iterations\":%" PRIu64
                ",\"us_per_copy\":%.3f,\"gbytes_per_s\":%.3f,\"checksum\":%u}\n",
                width, height, rect.x, rect.y, rect.w, rect.h, bytes, iterations,
                ns_per_copy / 1000.0, double(bytes) / ns_per_copy, checksum & 0xff);
    return 0;
}
